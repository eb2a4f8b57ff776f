"""Build the engine, its client and helper binaries from the Go module proxy.

The pinned versions live in tools/engine/go.mod and go.sum. The engine's source is taken from
the module cache, edited where the proxy lacks a dependency (see patches.py), and built in a
copy of the tools module under the cache, so a fresh clone reuses Go's build cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .layout import REPO_ROOT, TOOLS_MODULE, EngineLayout
from .patches import ENGINE_SOURCE_EDITS
from .phases import phase

DAGGER_MODULE = "github.com/dagger/dagger"


@dataclass(frozen=True)
class GoBinary:
    """One binary of the engine image."""

    name: str
    package: str
    tags: tuple[str, ...] = ()
    cgo: bool = False
    stamp_engine_version: bool = False
    own_module: str = ""


BINARIES: tuple[GoBinary, ...] = (
    GoBinary(
        "dagger-engine",
        f"{DAGGER_MODULE}/cmd/engine",
        tags=("dfexcludepatterns", "dfparents"),
        stamp_engine_version=True,
    ),
    GoBinary("dagger", "./cmd/dagger", stamp_engine_version=True),
    GoBinary("dial-stdio", f"{DAGGER_MODULE}/cmd/dialstdio"),
    GoBinary("dnsname", f"{DAGGER_MODULE}/cmd/dnsname"),
    GoBinary("dagger-init", f"{DAGGER_MODULE}/cmd/init"),
    GoBinary("bridge", "github.com/containernetworking/plugins/plugins/main/bridge"),
    GoBinary("loopback", "github.com/containernetworking/plugins/plugins/main/loopback"),
    GoBinary("firewall", "github.com/containernetworking/plugins/plugins/meta/firewall"),
    GoBinary("host-local", "github.com/containernetworking/plugins/plugins/ipam/host-local"),
    # runc does not compile against the engine's newer cilium/ebpf: it builds in its own module.
    GoBinary("runc", ".", tags=("seccomp", "netgo", "osusergo"), cgo=True, own_module="github.com/opencontainers/runc"),
)


def _go_env() -> dict[str, str]:
    # The machine's own Go builds everything: no toolchain downloads, and go.sum is the pin.
    return {**os.environ, "GOTOOLCHAIN": "local", "GOFLAGS": "-mod=readonly"}


def _run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(args, cwd=cwd, env=env or _go_env(), capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed in {cwd}:\n{result.stderr.strip()}")
    return result.stdout


def _inputs_digest(layout: EngineLayout) -> str:
    """Everything that decides the binaries: the tools module and the source edits."""
    digest = hashlib.sha256(layout.version.encode())
    for path in sorted(TOOLS_MODULE.rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(TOOLS_MODULE)).encode())
            digest.update(path.read_bytes())
    digest.update(repr(ENGINE_SOURCE_EDITS).encode())
    return digest.hexdigest()


def _module_source(module: str, version: str, destination: Path) -> Path:
    """A writable copy of `module@version` from the Go module proxy (via the module cache)."""
    with tempfile.TemporaryDirectory() as outside_any_module:
        env = {**_go_env(), "GOFLAGS": "-mod=mod"}
        info = json.loads(
            _run(["go", "mod", "download", "-json", f"{module}@{version}"], Path(outside_any_module), env)
        )
    if destination.exists():
        shutil.rmtree(destination)
    shutil.copytree(info["Dir"], destination)
    for path in destination.rglob("*"):
        path.chmod(path.stat().st_mode | 0o200)
    return destination


def _patched_source(layout: EngineLayout) -> Path:
    """The engine module's source at the pinned version, with the edits applied."""
    source = layout.work / "dagger-src"
    marker = source / ".dynamo-pipeline-edits"
    edits_digest = hashlib.sha256(repr(ENGINE_SOURCE_EDITS).encode()).hexdigest()
    if marker.exists() and marker.read_text() == edits_digest:
        return source
    _module_source(DAGGER_MODULE, layout.version, source)
    for edit in ENGINE_SOURCE_EDITS:
        edit.apply(source)
    marker.write_text(edits_digest)
    return source


def _build_module(layout: EngineLayout, source: Path) -> Path:
    """A copy of tools/engine whose dagger requirement points at the edited source."""
    module = layout.work / "module"
    if module.exists():
        shutil.rmtree(module)
    shutil.copytree(TOOLS_MODULE, module)
    _run(["go", "mod", "edit", f"-replace={DAGGER_MODULE}={source}"], module)
    return module


def _build_one(binary: GoBinary, module: Path, layout: EngineLayout) -> None:
    ldflags = ["-s", "-w"]
    if binary.stamp_engine_version:
        ldflags += [
            f"-X {DAGGER_MODULE}/engine.Version={layout.version}",
            f"-X {DAGGER_MODULE}/engine.Tag={layout.version}",
        ]
    env = {**_go_env(), "CGO_ENABLED": "1" if binary.cgo else "0"}
    if binary.own_module:
        version = _run(["go", "list", "-m", "-f", "{{.Version}}", binary.own_module], module).strip()
        ldflags.append(f"-X main.version={version}")
        module = _module_source(binary.own_module, version, layout.work / f"{binary.name}-src")
        # Its own go.sum pins its dependencies; -mod=mod lets go fill what the zip's go.sum lacks.
        env["GOFLAGS"] = "-mod=mod"
    args = ["go", "build", "-trimpath", "-ldflags", " ".join(ldflags), "-o", str(layout.bin / binary.name)]
    if binary.tags:
        args += ["-tags", ",".join(binary.tags)]
    _run([*args, binary.package], module, env)


def build_binaries(layout: EngineLayout) -> Path:
    """Build every binary once per input change; returns the directory holding them."""
    stamp = layout.bin / ".inputs"
    digest = _inputs_digest(layout)
    if stamp.exists() and stamp.read_text() == digest:
        print(f"[engine] binaries for {layout.version} are up to date in {layout.bin}", flush=True)
        return layout.bin
    with phase("fetch and edit the engine source"):
        source = _patched_source(layout)
    module = _build_module(layout, source)
    layout.bin.mkdir(parents=True, exist_ok=True)
    # One at a time: a cold engine link takes several GB, and the machine has 2 cores.
    for binary in BINARIES:
        with phase(f"go build {binary.name}"):
            _build_one(binary, module, layout)
    stamp.write_text(digest)
    return layout.bin


@dataclass(frozen=True)
class PinnedGoTool:
    """A command built from its own tools module (go.mod + go.sum under tools/<name>/)."""

    name: str
    module: str
    package: str
    version_variable: str
    env: tuple[tuple[str, str], ...] = ()

    @property
    def module_dir(self) -> Path:
        """The tools module that pins it."""
        return REPO_ROOT / "tools" / self.name

    def pinned_version(self) -> str:
        """The version tools/<name>/go.mod requires, e.g. v0.69.3."""
        return _run(["go", "list", "-m", "-f", "{{.Version}}", self.module], self.module_dir).strip()


# Trivy's own release build sets GOEXPERIMENT=jsonv2 (it imports encoding/json/v2).
TRIVY = PinnedGoTool(
    "trivy",
    "github.com/aquasecurity/trivy",
    "github.com/aquasecurity/trivy/cmd/trivy",
    "github.com/aquasecurity/trivy/pkg/version/app.ver",
    env=(("GOEXPERIMENT", "jsonv2"),),
)


def build_pinned_tool(tool: PinnedGoTool, layout: EngineLayout, expected_version: str) -> Path:
    """Build `tool` once per pin; returns the directory holding only its binary."""
    version = tool.pinned_version()
    if version.removeprefix("v") != expected_version.removeprefix("v"):
        raise RuntimeError(
            f"{tool.module_dir}/go.mod pins {tool.module} {version}, container/context.toml says {expected_version}"
        )
    out_dir = layout.cache / "tools" / tool.name / version / "bin"
    stamp = out_dir.parent / ".inputs"
    digest = hashlib.sha256(
        (tool.module_dir / "go.mod").read_bytes() + (tool.module_dir / "go.sum").read_bytes() + repr(tool).encode()
    ).hexdigest()
    if stamp.exists() and stamp.read_text() == digest:
        return out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    ldflags = f"-s -w -X {tool.version_variable}={version.removeprefix('v')}"
    with phase(f"go build {tool.name} {version}"):
        _run(
            ["go", "build", "-trimpath", "-ldflags", ldflags, "-o", str(out_dir / tool.name), tool.package],
            tool.module_dir,
            {**_go_env(), "CGO_ENABLED": "0", **dict(tool.env)},
        )
    stamp.write_text(digest)
    return out_dir
