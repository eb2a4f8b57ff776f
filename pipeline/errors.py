"""Errors for bad input, raised before any container work starts."""


class PipelineInputError(ValueError):
    """Bad input to the pipeline: a file, key or value that cannot work, named in the message."""


class CheckFailed(RuntimeError):
    """A check found a problem in the checkout: what is wrong, where, and what to do about it."""


class BuildFailed(RuntimeError):
    """A stage of build-all failed: names it (and why), the stages skipped for it and those that passed."""


class DatabaseUnavailable(RuntimeError):
    """The configured vulnerability database could not be downloaded: where from, and what to do instead."""
