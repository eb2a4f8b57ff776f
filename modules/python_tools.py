"""Python build tools from PyPI, installed with uv into their own virtualenv.

Dynamo-agnostic: give it the image that carries uv and the versions to install.
"""

from __future__ import annotations

from dataclasses import dataclass

import dagger
from dagger import dag

from .cache import cache_volume

TOOLS_PREFIX = "/opt/buildtools"
UV_CACHE_DIR = "/root/.cache/uv"
UV_SETTINGS = ("UV_CACHE_DIR", "UV_NATIVE_TLS", "UV_LINK_MODE", "UV_PYTHON_DOWNLOADS", "UV_HTTP_TIMEOUT")


@dataclass(frozen=True)
class PythonTools:
    """uv plus a virtualenv of pinned command-line tools (maturin, auditwheel, sccache, ...)."""

    uv_image: str
    uv_version: str
    python: str

    def with_uv(self, ctr: dagger.Container, cache_dir: str = UV_CACHE_DIR, owner: str = "") -> dagger.Container:
        """Add uv, its cache (one volume per uv version: uv cache formats differ) and its settings.

        `owner` ("1000:0") gives a non-root user its own cache volume at `cache_dir`.
        """
        volume = f"uv-{self.uv_version}" + (f"-{owner.replace(':', '-')}" if owner else "")
        return (
            ctr.with_file("/usr/local/bin/uv", dag.container().from_(self.uv_image).file("/uv"))
            .with_mounted_cache(cache_dir, cache_volume(volume), owner=owner or None)
            .with_env_variable("UV_CACHE_DIR", cache_dir)
            # The system CA store: TLS may be re-signed by a site CA that the engine injects.
            .with_env_variable("UV_NATIVE_TLS", "1")
            .with_env_variable("UV_LINK_MODE", "copy")
            .with_env_variable("UV_PYTHON_DOWNLOADS", "never")
            .with_env_variable("UV_HTTP_TIMEOUT", "300")
        )

    @staticmethod
    def without_uv_settings(ctr: dagger.Container, cache_dir: str = UV_CACHE_DIR) -> dagger.Container:
        """Drop uv's cache mount and build settings (keep the binary): for images that ship."""
        ctr = ctr.without_mount(cache_dir)
        for name in UV_SETTINGS:
            ctr = ctr.without_env_variable(name)
        return ctr

    def with_tools(self, ctr: dagger.Container, requirements: list[str]) -> dagger.Container:
        """Install `requirements` (pinned "name==version" strings) and put them on PATH."""
        return (
            ctr.with_(self.with_uv)
            .with_exec(["uv", "venv", "--python", self.python, TOOLS_PREFIX])
            .with_exec(["uv", "pip", "install", "--python", f"{TOOLS_PREFIX}/bin/python", *requirements])
            .with_env_variable("PATH", f"{TOOLS_PREFIX}/bin:${{PATH}}", expand=True)
        )
