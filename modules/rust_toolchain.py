"""A Rust toolchain in a build container: pinned rustc, cargo caches, sccache on a shared backend,
test binaries and Cargo examples linked without debug info.

Dynamo-agnostic. Cache volumes are mounted at the real CARGO_HOME (Dynamo's Dockerfiles mount
~/.cargo while CARGO_HOME is /usr/local/cargo, so their cargo caches never hit).
"""

from __future__ import annotations

from dataclasses import dataclass

import dagger

from .cache import cache_volume

CARGO_HOME = "/usr/local/cargo"
RUSTUP_HOME = "/usr/local/rustup"
SCCACHE_STATS = "/tmp/sccache-stats.json"
# When the wrapped exec ran (seconds since the epoch): a result served from the cache keeps its old time.
RAN_AT = "/tmp/ran-at"

# Uses the image's rustc when it is the pinned version (offline stand-ins carry one); otherwise
# installs the pinned toolchain with rustup, as Dynamo's dynamo_base stage does.
_ENSURE_RUST = """#!/bin/sh
set -eu
want="$1"; rustup_version="$2"
have=$(rustc --version 2>/dev/null | cut -d' ' -f2 || true)
if [ "$have" != "$want" ]; then
    if ! command -v rustup >/dev/null 2>&1; then
        arch=$(uname -m)
        curl -sSfL -o /tmp/rustup-init \
            "https://static.rust-lang.org/rustup/archive/$rustup_version/$arch-unknown-linux-gnu/rustup-init"
        chmod +x /tmp/rustup-init
        /tmp/rustup-init -y --no-modify-path --profile minimal --default-toolchain "$want"
        rm /tmp/rustup-init
    fi
    rustup toolchain install "$want" --profile minimal --component rustfmt,clippy
    rustup default "$want"
fi
have=$(rustc --version | cut -d' ' -f2)
if [ "$have" != "$want" ]; then
    echo "rustc is $have, the context pins $want" >&2
    exit 1
fi
"""

# The linker for the builder's own triple: `cc` as rustc would call it, and `--strip-debug` as well
# for what only `cargo test` links: a binary that links libtest (a test or doctest harness) and a
# Cargo example (compiled to prove it builds, never run). They stay in the exec and are never
# exported; each one carries the DWARF of everything it links (upstream's 37 integration tests: 770
# to 824 MB each, 5 to 17 MB without it; its examples up to 306 MB, 7 to 12 MB without). Symbols
# stay (backtraces name functions) and a panic's file:line is compiled in. A profile setting would
# give the tests' dependencies other fingerprints than the build's, and compile them all twice.
# rustc passes the arguments in an @file when they are too long, one per line: the script reads
# them as it reads its own, one rule for both.
TEST_LINKER_SCRIPT = """#!/bin/sh
for arg; do
    case "$arg" in
        @*) cat "${arg#@}" ;;
        *) printf '%s\\n' "$arg" ;;
    esac
done | awk 'previous == "-o" && /\\/examples\\// || /\\/libtest-[^\\/]*\\.rlib/ { found = 1 } { previous = $0 }
            END { exit !found }' && exec cc "$@" -Wl,--strip-debug
exec cc "$@"
"""
TEST_LINKER = "/usr/local/bin/link-tests-stripped"  # a name rustc infers no linker flavor from: the target's own (cc + lld)

# One sccache server per exec, so its statistics describe exactly this command; without sccache
# (no RUSTC_WRAPPER) the statistics file is left empty.
_WITH_SCCACHE_STATS = """#!/bin/sh
set -eu
date +%s.%N > {ran_at}
: > {stats}
if [ -z "${{RUSTC_WRAPPER:-}}" ]; then exec "$@"; fi
sccache --stop-server >/dev/null 2>&1 || true
SCCACHE_IDLE_TIMEOUT=0 sccache --start-server >/dev/null
status=0
"$@" || status=$?
sccache --show-stats --stats-format json > {stats}
sccache --stop-server >/dev/null 2>&1 || true
exit $status
""".format(stats=SCCACHE_STATS, ran_at=RAN_AT)


@dataclass(frozen=True)
class SccacheRedis:
    """A remote sccache backend: a Redis service and, when it needs one, its password."""

    service: dagger.Service
    password: dagger.Secret | None = None
    alias: str = "sccache-redis"


@dataclass(frozen=True)
class RustToolchain:
    """Pinned Rust, and sccache (found on PATH) when a shared backend is given, in a build container."""

    rust_version: str
    rustup_version: str
    host_triple: str  # the build container's own target triple, whose linker strips test binaries and examples

    def install(self, ctr: dagger.Container) -> dagger.Container:
        """Set CARGO_HOME/RUSTUP_HOME, make sure rustc is the pinned version, mount cargo caches (their
        lock shared by every container that mounts them), link test binaries and examples without
        debug info (for every cargo command in the container, so the target directory's fingerprints,
        which hold the linker, agree)."""
        return (
            ctr.with_env_variable("CARGO_HOME", CARGO_HOME)
            .with_env_variable("RUSTUP_HOME", RUSTUP_HOME)
            .with_env_variable("PATH", f"{CARGO_HOME}/bin:${{PATH}}", expand=True)
            .with_new_file("/usr/local/bin/ensure-rust", _ENSURE_RUST, permissions=0o755)
            .with_exec(["ensure-rust", self.rust_version, self.rustup_version])
            .with_(with_shared_package_cache_lock)
            .with_mounted_cache(f"{CARGO_HOME}/registry", cache_volume("cargo-registry"))
            .with_mounted_cache(f"{CARGO_HOME}/git", cache_volume("cargo-git"))
            .with_env_variable("CARGO_TERM_COLOR", "never")
            .with_new_file(TEST_LINKER, TEST_LINKER_SCRIPT, permissions=0o755)
            .with_env_variable(linker_variable(self.host_triple), TEST_LINKER)
        )

    def with_sccache(self, ctr: dagger.Container, remote: SccacheRedis | None = None) -> dagger.Container:
        """The statistics wrapper; with a remote backend, sccache as RUSTC_WRAPPER on it (a Secret password).

        Without one, rustc runs unwrapped: the build's target directory on a cache volume is the
        local cache, and cargo's own freshness check serves an unchanged crate at no cost. sccache on
        a local volume cost a cold upstream build 14 to 20 % (hashing and storing every compile) and
        only paid back when the target directory was lost but its own volume was not, which the
        engine's garbage collector does not arrange; a shared backend serves other machines.
        """
        ctr = ctr.with_new_file("/usr/local/bin/with-sccache-stats", _WITH_SCCACHE_STATS, permissions=0o755)
        if remote is None:
            return ctr
        # sccache skips what rustc compiles incrementally (workspace crates in a dev build): it
        # caches registry crates and all of a release build.
        ctr = (
            ctr.with_env_variable("RUSTC_WRAPPER", "sccache")
            .with_service_binding(remote.alias, remote.service)
            .with_env_variable("SCCACHE_REDIS_ENDPOINT", f"tcp://{remote.alias}:6379")
        )
        if remote.password is not None:
            ctr = ctr.with_secret_variable("SCCACHE_REDIS_PASSWORD", remote.password)
        return ctr


def with_sccache_stats(command: list[str]) -> list[str]:
    """Wrap `command` so that the exec leaves its start time at RAN_AT and sccache's JSON statistics
    at SCCACHE_STATS (empty when the build runs without sccache)."""
    return ["/usr/local/bin/with-sccache-stats", *command]


# cargo's locks on the registry and git caches (downloading and unpacking take them).
PACKAGE_CACHE_LOCKS = (".package-cache", ".package-cache-mutate")


def with_shared_package_cache_lock(ctr: dagger.Container) -> dagger.Container:
    """cargo's package-cache locks as links into the shared registry volume.

    cargo keeps them in CARGO_HOME itself, which each container has its own copy of, while the
    registry volume is shared: cargo processes in two containers (the root workspace's build and
    the bindings' maturin, in build-all) then unpacked the same crates at once on a cold volume
    (upstream: `failed to unpack package h2 v0.4.13 ... .cargo-ok: File exists`). On the volume, one
    flock covers every container, as it covers every cargo on one machine.
    """
    for lock in PACKAGE_CACHE_LOCKS:
        ctr = ctr.with_symlink(f"{CARGO_HOME}/registry/{lock}", f"{CARGO_HOME}/{lock}")
    return ctr


def linker_variable(triple: str) -> str:
    """Cargo's environment variable for `triple`'s linker (`target.<triple>.linker`)."""
    return "CARGO_TARGET_" + triple.upper().replace("-", "_").replace(".", "_") + "_LINKER"
