"""Settings shared by components, read from the environment."""

import os

DEFAULT_NAMESPACE = "dynamo"


def namespace() -> str:
    """Dynamo namespace from DYN_NAMESPACE, or the default."""
    return os.environ.get("DYN_NAMESPACE", "").strip() or DEFAULT_NAMESPACE
