"""The local Dagger engine: built from the Go module proxy, run in Docker, with a local registry.

Air-gapped sites and this project's tests use it; users with network keep the stock engine.
"""
