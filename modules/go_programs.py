"""Go programs built from the Go module proxy at pinned versions: static, -trimpath, on the Go caches.

Dynamo-agnostic. The programs are built inside a throwaway main module that requires the pinned
modules: `go install pkg@version` refuses a module whose go.mod has replace directives (etcd's
server points at ../api), while as a requirement those directives are ignored and the versions
its go.mod names are the ones the build takes. Only the binaries leave the build container; the
module and build caches stay on their volumes.
"""

from __future__ import annotations

import dagger

from .cache import salted
from .go_toolchain import GoToolchain

BUILD_DIR = "/build"
OUT = "/out"

# `go get` writes the throwaway go.mod, so it runs without the toolchain's -mod=readonly.
_REQUIRE = 'set -eu; mkdir -p "$0" && cd "$0" && go mod init programs >/dev/null 2>&1; GOFLAGS= exec go get "$@"'


def build_go_programs(
    toolchain: GoToolchain,
    requires: list[str],
    programs: dict[str, str],
    ldflags: str = "-s -w",
) -> dagger.Directory:
    """The `programs` (file name -> main package path) built with cgo off from `requires` ("module@vX.Y.Z")."""
    if not requires or not programs:
        raise ValueError("build_go_programs needs at least one module@version and one program")
    ctr = (
        toolchain.container()
        .with_(salted)
        .with_env_variable("CGO_ENABLED", "0")
        .with_exec(["sh", "-c", _REQUIRE, BUILD_DIR, *requires])
        .with_workdir(BUILD_DIR)
    )
    for name, package in programs.items():
        ctr = ctr.with_exec(["go", "build", "-trimpath", "-ldflags", ldflags, "-o", f"{OUT}/{name}", package])
    return ctr.directory(OUT)
