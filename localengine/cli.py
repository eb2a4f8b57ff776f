"""`python -m pipeline engine up|down|status|env`: the local engine's one entry point."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import time
import urllib.request

import typer

from .layout import EngineLayout
from .phases import phase

app = typer.Typer(help="Build, start and inspect the local Dagger engine.", no_args_is_help=True)

REQUIRED_HOST_TOOLS = ("docker", "debootstrap", "go", "rustc", "tar")


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=2)


def _check_host() -> None:
    missing = [tool for tool in REQUIRED_HOST_TOOLS if shutil.which(tool) is None]
    if missing:
        raise _fail(f"missing on this machine: {', '.join(missing)} (tools/setup-machine.sh installs them)")
    if subprocess.run(["docker", "info"], capture_output=True).returncode != 0:
        raise _fail("the Docker daemon does not answer; start it with `dockerd &` (tools/setup-machine.sh does)")


def _env_lines(layout: EngineLayout) -> list[str]:
    return [f"export {name}={shlex.quote(value)}" for name, value in layout.client_env().items()]


@app.command()
def up() -> None:
    """Build what is missing (binaries, image, stand-ins), start the engine, print its environment."""
    from .build import build_binaries
    from .image import build_engine_image
    from .runner import start_engine
    from .standins import publish_stand_ins

    _check_host()
    layout = EngineLayout.from_environment()
    started = time.monotonic()
    try:
        with phase(f"engine {layout.version} up"):
            binaries = build_binaries(layout)
            image = build_engine_image(layout, binaries)
            start_engine(layout, image)
            publish_stand_ins(layout)
    except RuntimeError as error:  # a failed build or start step: its message names the command
        raise _fail(str(error)) from None
    print(f"[engine] ready after {time.monotonic() - started:.1f}s; client environment:", flush=True)
    print("\n".join(_env_lines(layout)))


@app.command()
def down() -> None:
    """Stop and remove the engine container; its state volume and the registry data stay."""
    from .runner import stop_engine

    layout = EngineLayout.from_environment()
    print(f"removed {layout.container}" if stop_engine(layout) else f"{layout.container} was not there")


@app.command()
def status() -> None:
    """Say whether the engine runs and answers, and what the local registry holds."""
    from .runner import container_status, engine_answers

    layout = EngineLayout.from_environment()
    state = container_status(layout)
    print(f"container {layout.container}: {'running' if state.running else 'stopped' if state.exists else 'absent'}")
    if not state.running:
        raise typer.Exit(1)
    print(f"engine: {engine_answers(layout) or 'not answering'}")
    catalog_url = f"http://127.0.0.1:{layout.registry_port}/v2/_catalog"
    with urllib.request.urlopen(catalog_url, timeout=10) as response:
        repositories = json.load(response)["repositories"]
    print(f"registry: {len(repositories)} repositories at localhost:{layout.registry_port}")


@app.command()
def env() -> None:
    """Print the environment a Dagger client needs (`eval "$(python -m pipeline engine env)"`)."""
    print("\n".join(_env_lines(EngineLayout.from_environment())))
