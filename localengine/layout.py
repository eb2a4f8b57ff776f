"""Where the local engine's pieces live: the pinned tools module, the cache, names and sockets."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import PipelineInputError

REPO_ROOT = Path(__file__).resolve().parents[1]
TOOLS_MODULE = REPO_ROOT / "tools" / "engine"
DEFAULT_CACHE = Path("/var/cache/dynamo-pipeline")
# In a require block or on a one-line `require`, possibly marked // indirect.
_DAGGER_REQUIRE = re.compile(
    r"^\s*(?:require\s+)?github\.com/dagger/dagger\s+(v\d+\.\d+\.\d+\S*)\s*(?://.*)?$", re.MULTILINE
)


def pinned_engine_version(go_mod: Path = TOOLS_MODULE / "go.mod") -> str:
    """The engine version the tools module pins (the one place it is written)."""
    try:
        text = go_mod.read_text()
    except FileNotFoundError:
        raise PipelineInputError(f"{go_mod}: missing; it pins the local engine version") from None
    match = _DAGGER_REQUIRE.search(text)
    if not match:
        raise PipelineInputError(f"{go_mod}: no `github.com/dagger/dagger vX.Y.Z` requirement")
    return match.group(1)


@dataclass(frozen=True)
class EngineLayout:
    """Paths and names for one engine version; the cache survives fresh clones of the repo."""

    version: str
    cache: Path

    @classmethod
    def from_environment(cls) -> EngineLayout:
        """The layout for the pinned version, cache under $DYNAMO_PIPELINE_CACHE if set."""
        cache = Path(os.environ.get("DYNAMO_PIPELINE_CACHE", DEFAULT_CACHE))
        return cls(version=pinned_engine_version(), cache=cache)

    @property
    def work(self) -> Path:
        """Build area for this engine version (patched source, module copy, binaries)."""
        return self.cache / "engine" / self.version

    @property
    def bin(self) -> Path:
        """The built binaries."""
        return self.work / "bin"

    @property
    def cli(self) -> Path:
        """The client binary dagger-io runs for a session."""
        return self.bin / "dagger"

    @property
    def rootfs_cache(self) -> Path:
        """Debian rootfs tarballs, shared by every engine version."""
        return self.cache / "rootfs"

    @property
    def registry_data(self) -> Path:
        """Storage of the local registry (stand-in images), kept across engine restarts."""
        return self.cache / "registry"

    @property
    def socket_dir(self) -> Path:
        """Host directory that receives the engine's unix socket."""
        return Path("/run/dagger")

    @property
    def runner_host(self) -> str:
        """What the client dials."""
        return f"unix://{self.socket_dir}/engine.sock"

    @property
    def image(self) -> str:
        """The locally assembled engine image."""
        return f"dynamo-pipeline/dagger-engine:{self.version}"

    @property
    def container(self) -> str:
        """Named like the stock CLI's engine container, so an unconfigured CLI would reuse it."""
        return f"dagger-engine-{self.version}"

    @property
    def state_volume(self) -> str:
        """Docker volume for /var/lib/dagger (must not be overlayfs)."""
        return f"dagger-engine-state-{self.version}"

    registry_port: int = 5000

    @property
    def overlay(self) -> Path:
        """The overlay `engine up` writes: image references to the stand-ins, their tool versions."""
        return self.cache / "offline-overlay.toml"

    def client_env(self) -> dict[str, str]:
        """The environment a Dagger client needs to use this engine (and the overlay, once written)."""
        env = {
            "_EXPERIMENTAL_DAGGER_CLI_BIN": str(self.cli),
            "_EXPERIMENTAL_DAGGER_RUNNER_HOST": self.runner_host,
            "DAGGER_NO_UPDATE_CHECK": "1",
            "DAGGER_NO_NAG": "1",
            "DO_NOT_TRACK": "1",
        }
        if self.overlay.exists():
            env["DYNAMO_PIPELINE_OVERLAY"] = str(self.overlay)
        return env

    def client_env_if_up(self) -> dict[str, str] | None:
        """client_env() when this engine's client and socket are there, else None."""
        socket = Path(self.runner_host.removeprefix("unix://"))
        return self.client_env() if self.cli.exists() and socket.exists() else None
