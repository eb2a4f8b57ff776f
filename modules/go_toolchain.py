"""A Go toolchain in a build container: the pinned Go, no toolchain downloads, module and build caches.

Dynamo-agnostic. The module cache is shared by every Go version (its contents are version-free);
the build cache is keyed by the Go version so one toolchain's entries never crowd out another's.
"""

from __future__ import annotations

from dataclasses import dataclass

import dagger
from dagger import dag

from .cache import cache_volume
from .gomod import go_version_matches

GOMODCACHE = "/go/pkg/mod"
GOCACHE = "/root/.cache/go-build"
SOURCE_DIR = "/src"

@dataclass(frozen=True)
class GoToolchain:
    """The Go build image and its pinned version ("1.25" accepts any 1.25.x)."""

    image: str
    version: str

    def container(self) -> dagger.Container:
        """The build image with GOTOOLCHAIN=local, read-only go.mod, and the cache volumes."""
        return (
            dag.container()
            .from_(self.image)
            # Never fetch another toolchain: the pinned one builds, or the build fails.
            .with_env_variable("GOTOOLCHAIN", "local")
            # go.mod and go.sum are inputs, never rewritten by a build.
            .with_env_variable("GOFLAGS", "-mod=readonly")
            .with_mounted_cache(GOMODCACHE, cache_volume("go-mod"))
            .with_env_variable("GOMODCACHE", GOMODCACHE)
            .with_mounted_cache(GOCACHE, cache_volume(f"go-build-{self.version}"))
            .with_env_variable("GOCACHE", GOCACHE)
        )

    async def check_version(self, ctr: dagger.Container) -> str | None:
        """None when the image's Go is the pinned version, else what it has."""
        have = (await ctr.with_exec(["go", "env", "GOVERSION"]).stdout()).strip()
        return None if go_version_matches(self.version, have) else have

    def with_module(self, ctr: dagger.Container, tree: dagger.Directory, module_dir: str) -> dagger.Container:
        """Mount `tree` at /src, work in its `module_dir`, and download the module's dependencies."""
        return (
            ctr.with_directory(SOURCE_DIR, tree)
            .with_workdir(f"{SOURCE_DIR}/{module_dir}")
            .with_exec(["go", "mod", "download"])
        )


def ldflags(variables: dict[str, str], strip: bool = True) -> str:
    """`-s -w -X pkg.Var=value ...` for `go build -ldflags`; values must not contain spaces."""
    flags = ["-s", "-w"] if strip else []
    for name, value in variables.items():
        if not value or any(ch.isspace() for ch in value):
            raise ValueError(f"ldflags value for {name} must be non-empty without spaces, got {value!r}")
        flags += ["-X", f"{name}={value}"]
    return " ".join(flags)
