"""Errors for bad input, raised before any container work starts."""


class PipelineInputError(ValueError):
    """Bad input to the pipeline: a file, key or value that cannot work, named in the message."""
