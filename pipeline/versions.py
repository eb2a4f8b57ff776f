"""Every version pin in a Dynamo-shaped workspace, and the check that they all agree.

Dynamo keeps one project version (1.1.0 at the reference commit) in many files: the Cargo workspace, each
pyproject, the root's `ai-dynamo-runtime==` pin, and the Helm charts. A release with one of them skewed ships
wheels and charts that do not fit together, so the pipeline reads them all before building anything.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import tomli

from pipeline.errors import PipelineInputError

RUNTIME_DISTRIBUTION = "ai-dynamo-runtime"
# The files that carry pins (read_versions looks at nothing else).
VERSION_FILE_NAMES = ("Cargo.toml", "pyproject.toml", "Chart.yaml")
WORKSPACE_VERSION_KEY = "workspace.package.version"
CARGO_WORKSPACE_FILE = "Cargo.toml"
ROOT_PYPROJECT_FILE = "pyproject.toml"
# Same-line `key: value` with optional quotes and trailing comment; enough for Chart.yaml's top-level keys.
_CHART_LINE = re.compile(r"""^(version|appVersion):\s*(["']?)([^"'#\s]+)\2\s*(?:#.*)?$""")
# Build outputs and environments, never sources of a pin.
_SKIPPED_DIRECTORIES = {"target", ".git", "node_modules", ".venv", "venv", "dist", "build", "__pycache__"}
# `name==X` in a PEP 508 requirement, with optional extras and spaces.
_EXACT_PIN = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*==\s*([^\s;,]+)\s*(?:;.*)?$")


@dataclass(frozen=True)
class VersionPin:
    """One place a version is written: which file, which key, what value."""

    file: str  # path relative to the workspace root, e.g. "lib/bindings/python/pyproject.toml"
    key: str  # e.g. "workspace.package.version", "project.dependencies[ai-dynamo-runtime]", "appVersion"
    version: str

    def __str__(self) -> str:
        return f"{self.file}:{self.key} = {self.version}"


def read_versions(root: Path) -> list[VersionPin]:
    """Every version pin under `root`: Cargo workspace and members, pyprojects, Chart.yaml files."""
    root = Path(root)
    if not root.is_dir():
        raise PipelineInputError(f"workspace root {root} is not a directory")
    for required in (CARGO_WORKSPACE_FILE, ROOT_PYPROJECT_FILE):
        if not (root / required).is_file():
            raise PipelineInputError(f"workspace root {root} has no {required} (expected {root / required})")

    pins = _cargo_pins(root)
    for pyproject in _find(root, "pyproject.toml"):
        pins += _pyproject_pins(root, pyproject)
    for chart in _find(root, "Chart.yaml"):
        pins += _chart_pins(root, chart)
    return pins


def skew(pins: list[VersionPin]) -> list[VersionPin]:
    """Pins that disagree with the Cargo workspace version; empty when all agree."""
    reference = _workspace_pin(pins)
    return [pin for pin in pins if pin.version != reference.version]


def workspace_version(root: Path, *, label: str | None = None) -> str:
    """The one project version; PipelineInputError listing every skewed pin if they disagree.

    `label` names the workspace in the message when `root` is only a local copy of it.
    """
    pins = read_versions(root)
    reference = _workspace_pin(pins)
    skewed = skew(pins)
    if skewed:
        listing = "\n".join(f"  {pin}" for pin in skewed)
        raise PipelineInputError(
            f"version skew in {label or root}: {reference} but {len(skewed)} pin(s) differ:\n{listing}"
        )
    return reference.version


def _workspace_pin(pins: list[VersionPin]) -> VersionPin:
    for pin in pins:
        if pin.file == CARGO_WORKSPACE_FILE and pin.key == WORKSPACE_VERSION_KEY:
            return pin
    raise PipelineInputError(f"{CARGO_WORKSPACE_FILE} has no [workspace.package] version")


def _cargo_pins(root: Path) -> list[VersionPin]:
    """The workspace version, path dependencies' versions in [workspace.dependencies], and each Cargo
    package (members and standalone workspaces such as lib/bindings/python)."""
    workspace_manifest = _load_toml(root, root / CARGO_WORKSPACE_FILE)
    workspace = workspace_manifest.get("workspace", {})
    workspace_version_value = workspace.get("package", {}).get("version")
    if not isinstance(workspace_version_value, str):
        raise PipelineInputError(f"{root / CARGO_WORKSPACE_FILE} has no [workspace.package] version")

    pins = [VersionPin(CARGO_WORKSPACE_FILE, WORKSPACE_VERSION_KEY, workspace_version_value)]
    for name, spec in workspace.get("dependencies", {}).items():
        # Only in-tree crates carry the project version; crates.io pins are third-party.
        if isinstance(spec, dict) and "path" in spec and isinstance(spec.get("version"), str):
            pins.append(VersionPin(CARGO_WORKSPACE_FILE, f"workspace.dependencies.{name}.version", spec["version"]))

    for manifest_path in _find(root, "Cargo.toml"):
        manifest = _load_toml(root, manifest_path)
        package = manifest.get("package")
        if not isinstance(package, dict) or "version" not in package:
            continue
        version = package["version"]
        if isinstance(version, dict) and version.get("workspace") is True:
            owner = _owning_workspace(root, manifest_path)
            if owner is None:
                raise PipelineInputError(
                    f"{_relative(root, manifest_path)} sets version.workspace = true but no enclosing Cargo.toml "
                    "has [workspace.package] version"
                )
            version = owner
        if isinstance(version, str):
            pins.append(VersionPin(_relative(root, manifest_path), "package.version", version))
    return pins


def _owning_workspace(root: Path, manifest_path: Path) -> str | None:
    """[workspace.package] version of the nearest enclosing workspace manifest, as Cargo resolves it."""
    # A package can be its own workspace root, so its own manifest is the first candidate.
    candidates = [manifest_path] + [directory / "Cargo.toml" for directory in manifest_path.parent.parents]
    for candidate in candidates:
        if candidate.is_file():
            workspace = _load_toml(root, candidate).get("workspace")
            if isinstance(workspace, dict):
                version = workspace.get("package", {}).get("version")
                return version if isinstance(version, str) else None
        if candidate.parent == root:
            break
    return None


def _pyproject_pins(root: Path, pyproject_path: Path) -> list[VersionPin]:
    project = _load_toml(root, pyproject_path).get("project", {})
    file = _relative(root, pyproject_path)
    pins = []
    if isinstance(project.get("version"), str):
        pins.append(VersionPin(file, "project.version", project["version"]))
    for requirement in project.get("dependencies", []):
        match = _EXACT_PIN.match(requirement)
        # Only the runtime wheel is released in lock-step; framework pins (vllm, sglang, …) have their own versions.
        if match and _normalise(match.group(1)) == RUNTIME_DISTRIBUTION:
            pins.append(VersionPin(file, f"project.dependencies[{RUNTIME_DISTRIBUTION}]", match.group(2)))
    return pins


def _chart_pins(root: Path, chart_path: Path) -> list[VersionPin]:
    file = _relative(root, chart_path)
    pins = []
    for line in chart_path.read_text(encoding="utf-8").splitlines():
        match = _CHART_LINE.match(line)  # anchored at column 0, so nested keys (dependencies[].version) are skipped
        if match:
            pins.append(VersionPin(file, match.group(1), match.group(3)))
    return pins


def _find(root: Path, name: str) -> list[Path]:
    """Files called `name` under `root`, not descending into build outputs or VCS/virtualenv directories."""
    found = []
    for directory, subdirectories, files in os.walk(root):
        # Pruning in place keeps the walk out of multi-gigabyte cargo target/ trees.
        subdirectories[:] = [d for d in subdirectories if d not in _SKIPPED_DIRECTORIES]
        if name in files:
            found.append(Path(directory) / name)
    return sorted(found)


def _load_toml(root: Path, path: Path) -> dict:
    try:
        return tomli.loads(path.read_text(encoding="utf-8"))
    except tomli.TOMLDecodeError as error:
        raise PipelineInputError(f"{_relative(root, path)} is not valid TOML: {error}") from error


def _relative(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def _normalise(distribution: str) -> str:
    """PEP 503 name normalisation, so ai_dynamo_runtime and AI.Dynamo-Runtime match."""
    return re.sub(r"[-_.]+", "-", distribution).lower()
