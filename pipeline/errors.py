"""Errors for bad input, raised before any container work starts."""


class PipelineInputError(ValueError):
    """Bad input to the pipeline: a file, key or value that cannot work, named in the message."""


class CheckFailed(RuntimeError):
    """A check found a problem in the checkout: what is wrong, where, and what to do about it."""
