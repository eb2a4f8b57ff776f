"""The local Dagger engine: built from the Go module proxy, run in Docker, with a local registry.

Air-gapped sites and this project's tests use it; users with network keep the stock engine.
It is host tooling beside the Dagger module, not part of it: dagger.json leaves it out of the
module's source, and `python -m pipeline engine ...` is its command line.
"""
