"""Benchmark of the pipeline against the rendered Dockerfile (issue #12); `python -m bench.run --help`."""
