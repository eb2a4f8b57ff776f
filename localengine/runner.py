"""Run the engine container: privileged where the host allows it, a capability set otherwise."""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass

from .image import run
from .layout import EngineLayout
from .phases import phase

# Hosts whose bounding set lacks CAP_SYS_RESOURCE refuse --privileged; nested runc works with
# every other capability and no seccomp/AppArmor confinement (measured on the dev machines).
CAPABILITY_FALLBACK: tuple[str, ...] = (
    "--cap-add", "ALL", "--cap-drop", "SYS_RESOURCE",
    "--security-opt", "seccomp=unconfined",
    "--security-opt", "apparmor=unconfined",
    "--security-opt", "systempaths=unconfined",
    "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw",
)
READY_TIMEOUT_SECONDS = 180


@dataclass(frozen=True)
class EngineStatus:
    """What `docker inspect` says of the engine container."""

    exists: bool
    running: bool = False
    image_id: str = ""
    started_at: str = ""


def container_status(layout: EngineLayout) -> EngineStatus:
    """Inspect the engine container, if there is one."""
    result = subprocess.run(["docker", "inspect", layout.container], capture_output=True, text=True)
    if result.returncode != 0:
        return EngineStatus(exists=False)
    info = json.loads(result.stdout)[0]
    return EngineStatus(
        exists=True,
        running=info["State"]["Running"],
        image_id=info["Image"],
        started_at=info["State"]["StartedAt"],
    )


def security_flags(image: str) -> tuple[str, ...]:
    """--privileged when this host allows it, else the measured capability set."""
    probe = subprocess.run(
        ["docker", "run", "--rm", "--privileged", "--entrypoint", "true", image], capture_output=True, text=True
    )
    if probe.returncode == 0:
        return ("--privileged",)
    print(f"[engine] --privileged refused here ({probe.stderr.strip().splitlines()[-1:]}); "
          "using the capability set without CAP_SYS_RESOURCE", flush=True)
    return CAPABILITY_FALLBACK


def engine_answers(layout: EngineLayout) -> str | None:
    """The client's `dagger version` line when the engine answers, else None."""
    try:
        result = subprocess.run(
            [str(layout.cli), "version"], env={**os.environ, **layout.client_env()},
            capture_output=True, text=True, timeout=60,
        )
    except subprocess.TimeoutExpired:
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def start_engine(layout: EngineLayout, image: str) -> None:
    """Start (or keep) the engine container for `image` and wait until it answers."""
    image_id = run(["docker", "image", "inspect", "-f", "{{.Id}}", image]).strip()
    status = container_status(layout)
    if status.running and status.image_id == image_id:
        print(f"[engine] {layout.container} already runs {image}", flush=True)
    else:
        if status.exists:
            run(["docker", "rm", "-f", layout.container])
        layout.registry_data.mkdir(parents=True, exist_ok=True)
        layout.socket_dir.mkdir(parents=True, exist_ok=True)
        with phase(f"start {layout.container}"):
            run([
                "docker", "run", "-d", "--name", layout.container, "--restart", "always",
                *security_flags(image),
                "-v", f"{layout.state_volume}:/var/lib/dagger",
                "-v", f"{layout.registry_data}:/var/lib/registry",
                "-v", f"{layout.socket_dir}:{layout.socket_dir}",
                "-p", f"127.0.0.1:{layout.registry_port}:5000",
                image, "--debug",
            ])
    with phase("wait for the engine to answer"):
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while (answer := engine_answers(layout)) is None:
            if time.monotonic() > deadline:
                logs = subprocess.run(["docker", "logs", "--tail", "60", layout.container],
                                      capture_output=True, text=True)
                raise RuntimeError(
                    f"engine {layout.container} did not answer within {READY_TIMEOUT_SECONDS}s; "
                    f"last log lines:\n{logs.stdout}{logs.stderr}"
                )
            time.sleep(2)
        print(f"[engine] {answer}", flush=True)


def stop_engine(layout: EngineLayout) -> bool:
    """Remove the engine container; its state volume and the registry data stay."""
    if not container_status(layout).exists:
        return False
    run(["docker", "rm", "-f", layout.container])
    return True
