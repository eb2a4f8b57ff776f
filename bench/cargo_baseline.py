"""The physical floor: bare `cargo build` on the host, same cores, no containers, no caches but the registry."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path


def host_toolchain_env() -> dict[str, str]:
    """The host's default toolchain called directly, so a rust-toolchain.toml in the copy downloads nothing.

    The pipeline's stand-in builder carries this same toolchain.
    """
    sysroot = subprocess.run(["rustc", "--print", "sysroot"], capture_output=True, text=True, check=True).stdout.strip()
    return {**os.environ, "RUSTC": f"{sysroot}/bin/rustc", "PATH": f"{sysroot}/bin:{os.environ['PATH']}",
            "CARGO_TERM_COLOR": "never"}


def cargo_build(workspace: Path, target_dir: Path, profile: str, log: Path) -> float:
    """Seconds of `cargo build --locked --workspace --profile <profile>` in `workspace`."""
    env = host_toolchain_env() | {"CARGO_TARGET_DIR": str(target_dir)}
    cargo = Path(env["RUSTC"]).parent / "cargo"
    started = time.monotonic()
    with log.open("a") as handle:
        handle.write(f"\n=== cargo build --profile {profile} in {workspace}\n")
        handle.flush()
        result = subprocess.run([str(cargo), "build", "--locked", "--workspace", "--profile", profile],
                                cwd=workspace, env=env, stdout=handle, stderr=subprocess.STDOUT)
    seconds = time.monotonic() - started
    if result.returncode != 0:
        raise RuntimeError(f"bare cargo build --profile {profile} failed in {workspace}; see {log}")
    return round(seconds, 1)
