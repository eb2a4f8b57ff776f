"""Python face of the Dynamo runtime, backed by the Rust extension `dynamo._core`."""

from dynamo._core import __version__, count_tokens, endpoint_path, render_chat_prompt

__all__ = ["Endpoint", "__version__", "count_tokens", "endpoint_path", "render_chat_prompt"]


class Endpoint:
    """An endpoint served by a component in a namespace."""

    def __init__(self, namespace: str, component: str, name: str) -> None:
        # Validates the names in Rust, so a bad name fails here rather than at serve time.
        self.path = endpoint_path(namespace, component, name)

    def __repr__(self) -> str:
        return f"Endpoint({self.path!r})"
