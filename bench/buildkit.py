"""The Dockerfile path: buildkitd + buildctl built from the Go module proxy at tools/buildkit's pin.

buildkitd runs as a root daemon on the host with its own state directory (a fresh one is a cold
start), the engine's runc, host networking, plain HTTP to the local registry that serves the
stand-in base images, and its build containers in one memory cgroup that the bench samples.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

BUILDKIT_MODULE = "github.com/moby/buildkit"
TOOLS_MODULE = Path(__file__).resolve().parent.parent / "tools" / "buildkit"
# The machine's own Go; go.sum is the pin.
GO_ENV = {**os.environ, "GOTOOLCHAIN": "local", "GOFLAGS": "-mod=readonly", "CGO_ENABLED": "0"}
CGROUP_NAME = "dynamo-pipeline-bench-buildkit"
MEMORY_CGROUP = Path("/sys/fs/cgroup/memory") / CGROUP_NAME
# "#12 [wheel_builder 9/12] RUN ...", "#12 DONE 45.3s", "#12 CACHED"
_STEP = re.compile(r"^#(\d+) \[(?:([\w.-]+) )?[^\]]*\] (.*)$")
_DONE = re.compile(r"^#(\d+) DONE (\d+(?:\.\d+)?)s$")


def _go(args: list[str]) -> str:
    result = subprocess.run(["go", *args], cwd=TOOLS_MODULE, env=GO_ENV, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"go {' '.join(args)} failed in {TOOLS_MODULE}:\n{result.stderr.strip()}")
    return result.stdout


def pinned_version() -> str:
    """The BuildKit version tools/buildkit/go.mod requires."""
    return _go(["list", "-m", "-f", "{{.Version}}", BUILDKIT_MODULE]).strip()


def build_binaries(cache: Path) -> Path:
    """buildkitd and buildctl, built once per pin under `cache`/tools/buildkit; returns their directory."""
    version = pinned_version()
    out = cache / "tools" / "buildkit" / version / "bin"
    for name in ("buildctl", "buildkitd"):
        if not (out / name).exists():
            out.mkdir(parents=True, exist_ok=True)
            ldflags = f"-s -w -X {BUILDKIT_MODULE}/version.Version={version}"
            _go(["build", "-trimpath", "-ldflags", ldflags, "-o", str(out / name), f"{BUILDKIT_MODULE}/cmd/{name}"])
    return out


@dataclass
class StepTimes:
    """What buildctl's plain progress says about one build: seconds per Dockerfile stage, cached steps."""

    by_stage: dict[str, float] = field(default_factory=dict)
    cached: int = 0
    ran: int = 0
    slowest: list[tuple[float, str]] = field(default_factory=list)

    @classmethod
    def parse(cls, progress: str) -> StepTimes:
        """Sum each step's DONE time into its stage ("internal" for loads, exports and the like)."""
        names: dict[str, tuple[str, str]] = {}
        done: dict[str, float] = {}  # a vertex may report DONE more than once: its longest counts
        times = cls()
        for line in progress.splitlines():
            if step := _STEP.match(line):
                names.setdefault(step[1], (step[2] or "internal", step[3]))
            elif line.endswith(" CACHED") and line.startswith("#"):
                times.cached += 1
            elif finished := _DONE.match(line):
                done[finished[1]] = max(done.get(finished[1], 0.0), float(finished[2]))
        for vertex, seconds in done.items():
            stage, text = names.get(vertex, ("internal", "?"))
            times.by_stage[stage] = round(times.by_stage.get(stage, 0.0) + seconds, 1)
            if stage != "internal":
                times.ran += 1
                times.slowest.append((seconds, f"[{stage}] {text[:90]}"))
        times.slowest = sorted(times.slowest, reverse=True)[:5]
        return times


class BuildKitDaemon:
    """One buildkitd with its own state directory and socket, stopped by `stop()`."""

    def __init__(self, bin_dir: Path, runc: Path, state: Path, registry: str, log: Path):
        self.bin_dir, self.runc, self.state, self.registry, self.log = bin_dir, runc, state, registry, log
        self.socket = state / "buildkitd.sock"
        self.process: subprocess.Popen | None = None

    @property
    def address(self) -> str:
        """What buildctl dials."""
        return f"unix://{self.socket}"

    def start(self) -> None:
        """Start the daemon in the bench's memory cgroup and wait for it to answer."""
        self.state.mkdir(parents=True, exist_ok=True)
        config = self.state / "buildkitd.toml"
        config.write_text(
            f'root = "{self.state / "root"}"\n'
            "[worker.oci]\n  enabled = true\n  gc = false\n"
            f'  binary = "{self.runc}"\n  networkMode = "host"\n  defaultCgroupParent = "/{CGROUP_NAME}"\n'
            "[worker.containerd]\n  enabled = false\n"
            f'[registry."{self.registry}"]\n  http = true\n'
        )
        MEMORY_CGROUP.mkdir(exist_ok=True)
        handle = self.log.open("ab")

        def join_cgroup() -> None:
            (MEMORY_CGROUP / "cgroup.procs").write_text(str(os.getpid()))

        self.process = subprocess.Popen(
            [str(self.bin_dir / "buildkitd"), "--config", str(config), "--addr", self.address],
            stdout=handle, stderr=subprocess.STDOUT, preexec_fn=join_cgroup,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"buildkitd exited with {self.process.returncode}; see {self.log}")
            probe = subprocess.run([str(self.bin_dir / "buildctl"), "--addr", self.address, "debug", "workers"],
                                   capture_output=True, text=True)
            if probe.returncode == 0:
                return
            time.sleep(0.5)
        raise RuntimeError(f"buildkitd did not answer within 60 s; see {self.log}")

    def stop(self) -> None:
        """Stop this daemon (only the one this object started)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def disk_use(self) -> int:
        """Bytes under the state directory."""
        return sum(path.stat().st_size for path in self.state.rglob("*") if path.is_file() and not path.is_symlink())

    def remove_state(self) -> None:
        """Delete the state directory (after stop)."""
        shutil.rmtree(self.state, ignore_errors=True)

    def build(self, context: Path, dockerfile: Path, target: str, build_args: dict[str, str], oci_tar: Path | None,
              progress_log: Path) -> tuple[float, StepTimes]:
        """Build `target` of `dockerfile` with `context`; (seconds, step times).

        Without `oci_tar` nothing is exported (like the pipeline's sync); with it, the image is
        written there as an OCI tarball (layers compressed).
        """
        args = [str(self.bin_dir / "buildctl"), "--addr", self.address, "build", "--progress", "plain",
                "--frontend", "dockerfile.v0", "--local", f"context={context}",
                "--local", f"dockerfile={dockerfile.parent}", "--opt", f"filename={dockerfile.name}",
                "--opt", f"target={target}"]
        if oci_tar is not None:
            args += ["--output", f"type=oci,dest={oci_tar}"]
        for key, value in build_args.items():
            args += ["--opt", f"build-arg:{key}={value}"]
        started = time.monotonic()
        with progress_log.open("w") as progress:
            returncode = subprocess.run(args, stdout=progress, stderr=subprocess.STDOUT).returncode
        seconds = time.monotonic() - started
        text = progress_log.read_text()
        if returncode != 0:
            tail = "\n".join(text.strip().splitlines()[-25:])
            raise RuntimeError(f"buildctl build failed (full log {progress_log}):\n{tail}")
        return seconds, StepTimes.parse(text)
