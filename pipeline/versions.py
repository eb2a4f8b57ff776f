"""Every version pin in a Dynamo-shaped workspace, and the check that they agree.

Dynamo keeps one project version (1.1.0 at the reference commit) in many files: the Cargo workspace, each
pyproject, the root's `ai-dynamo-runtime==` pin, the Helm charts and the Cargo.lock files. A release with one
of them skewed ships wheels and charts that do not fit together, so the pipeline reads them all before
building anything. Some packages are versioned on their own (upstream's code generator, benchmarks, the GPU
memory service, the inference-gateway chart); the context's `[versions]` globs say which files those are.

A pin either states a package's own version (`package.version`, `project.version`, a chart's `version`) or
refers to another package's version (`workspace.dependencies.X.version`, a Cargo.lock entry, a chart's
`dependencies[X].version`, `ai-dynamo-runtime==X`). Own pins of following files must equal the workspace
version; a reference must equal the version of the package it names (the workspace version unless that
package is independent).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import tomli

from pipeline.errors import PipelineInputError

ROOT_DISTRIBUTION = "ai-dynamo"
# The files that carry pins (read_versions looks at nothing else).
VERSION_FILE_NAMES = ("Cargo.toml", "Cargo.lock", "pyproject.toml", "Chart.yaml")
WORKSPACE_VERSION_KEY = "workspace.package.version"
CARGO_WORKSPACE_FILE = "Cargo.toml"
ROOT_PYPROJECT_FILE = "pyproject.toml"
# Keys whose value is the version of the file's own package.
_OWN_VERSION_KEYS = {"Cargo.toml": "package.version", "pyproject.toml": "project.version", "Chart.yaml": "version"}
# Same-line `key: value` with optional quotes and trailing comment; enough for Chart.yaml's top-level keys.
_CHART_LINE = re.compile(r"""^(version|appVersion):\s*(["']?)([^"'#\s]+)\2\s*(?:#.*)?$""")
# `- key: value` or `key: value` inside a block sequence; group 1 is the indentation up to the key.
_CHART_ITEM_LINE = re.compile(r"""^(\s*(?:-\s+)?)([A-Za-z][\w-]*):\s*(["']?)([^"'#]*?)\3\s*(?:#.*)?$""")
# Build outputs and environments, never sources of a pin.
_SKIPPED_DIRECTORIES = {"target", ".git", "node_modules", ".venv", "venv", "dist", "build", "__pycache__"}
# `name==X` in a PEP 508 requirement, with optional extras and spaces.
_EXACT_PIN = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*==\s*([^\s;,]+)\s*(?:;.*)?$")


@dataclass(frozen=True)
class VersionPin:
    """One place a version is written: which file, which key, what value.

    `package` names the package whose version the value is ("crate:dynamo-llm", "python:ai-dynamo-runtime",
    "chart:deploy/helm/charts/platform/Chart.yaml"); `reference` is true when the file refers to that package
    rather than being it. Neither takes part in equality, so tests compare (file, key, version).
    """

    file: str  # path relative to the workspace root, e.g. "lib/bindings/python/pyproject.toml"
    key: str  # e.g. "workspace.package.version", "project.dependencies[ai-dynamo-runtime]", "appVersion"
    version: str
    package: str = field(default="", compare=False)
    reference: bool = field(default=False, compare=False)

    def __str__(self) -> str:
        return f"{self.file}:{self.key} = {self.version}"


@dataclass(frozen=True)
class VersionPolicy:
    """Which pin files follow the workspace version and which are versioned on their own (path globs).

    Globs are relative to the checkout root: `*` stays inside one directory, `**/` spans any number of
    them. A file matching an `independent` glob is independent even if it also matches a `follow` glob.
    """

    follow: tuple[str, ...]
    independent: tuple[str, ...]

    def __post_init__(self) -> None:
        for glob in self.follow + self.independent:
            if glob.startswith("/") or "\\" in glob:
                raise ValueError(f"glob {glob!r} must be relative to the checkout root, with '/' separators")

    def is_independent(self, file: str) -> bool:
        """True when `file` is declared as versioned on its own."""
        return any(glob_match(glob, file) for glob in self.independent)

    def follows(self, file: str) -> bool:
        """True when `file` must carry the workspace version."""
        return not self.is_independent(file) and any(glob_match(glob, file) for glob in self.follow)


@dataclass(frozen=True)
class Skew:
    """A pin whose version is not the one expected."""

    pin: VersionPin
    expected: str

    def __str__(self) -> str:
        return f"{self.pin} (expected {self.expected})"


def glob_match(glob: str, path: str) -> bool:
    """Match a relative POSIX path against a glob with `*`, `?` and `**/` (any number of directories)."""
    return re.fullmatch(_glob_regex(glob), path) is not None


def _glob_regex(glob: str) -> str:
    parts = []
    index = 0
    while index < len(glob):
        if glob.startswith("**/", index):
            parts.append("(?:[^/]+/)*")
            index += 3
        elif glob.startswith("**", index):
            parts.append(".*")
            index += 2
        elif glob[index] == "*":
            parts.append("[^/]*")
            index += 1
        elif glob[index] == "?":
            parts.append("[^/]")
            index += 1
        else:
            parts.append(re.escape(glob[index]))
            index += 1
    return "".join(parts)


def read_versions(root: Path) -> list[VersionPin]:
    """Every version pin under `root`: Cargo manifests and lock files, pyprojects, Chart.yaml files."""
    root = Path(root)
    if not root.is_dir():
        raise PipelineInputError(f"workspace root {root} is not a directory")
    for required in (CARGO_WORKSPACE_FILE, ROOT_PYPROJECT_FILE):
        if not (root / required).is_file():
            raise PipelineInputError(
                f"{root} is not a Dynamo checkout: it has no {required} (expected {root / required})"
            )
    _check_is_dynamo(root)

    pins = _cargo_pins(root)
    for lock in _find(root, "Cargo.lock"):
        pins += _cargo_lock_pins(root, lock)
    pyprojects = {path: _load_toml(root, path) for path in _find(root, "pyproject.toml")}
    in_tree = {_normalise(name) for data in pyprojects.values() if (name := _project_name(data))}
    for path, data in pyprojects.items():
        pins += _pyproject_pins(root, path, data, in_tree)
    for chart in _find(root, "Chart.yaml"):
        pins += _chart_pins(root, chart)
    return pins


def skew(pins: list[VersionPin], policy: VersionPolicy) -> list[Skew]:
    """Pins that disagree with the version expected of them; empty when all agree.

    PipelineInputError names the first pin file that `policy` neither follows nor declares independent.
    """
    reference = _workspace_pin(pins)
    for pin in pins:
        if not policy.follows(pin.file) and not policy.is_independent(pin.file):
            raise PipelineInputError(
                f"{pin.file}: version pin {pin.key} = {pin.version} matches no [versions] follow or independent glob"
            )
    independent = {
        pin.package: pin.version
        for pin in pins
        if not pin.reference and pin.package and policy.is_independent(pin.file)
        and pin.key == _OWN_VERSION_KEYS.get(Path(pin.file).name)
    }  # fmt: skip
    skewed = []
    for pin in pins:
        if policy.is_independent(pin.file):
            continue  # versioned on its own; references from it are its own business too
        expected = independent.get(pin.package, reference.version) if pin.reference else reference.version
        if pin.version != expected:
            skewed.append(Skew(pin, expected))
    return skewed


def workspace_version(root: Path, policy: VersionPolicy, *, label: str | None = None) -> str:
    """The one project version; PipelineInputError listing every skewed pin if they disagree.

    `label` names the workspace in the message when `root` is only a local copy of it.
    """
    pins = read_versions(root)
    reference = _workspace_pin(pins)
    skewed = skew(pins, policy)
    if skewed:
        listing = "\n".join(f"  {item}" for item in skewed)
        raise PipelineInputError(
            f"version skew in {label or root}: {reference} but {len(skewed)} pin(s) differ:\n{listing}"
        )
    return reference.version


def _check_is_dynamo(root: Path) -> None:
    name = _project_name(_load_toml(root, root / ROOT_PYPROJECT_FILE))
    if name is None or _normalise(name) != ROOT_DISTRIBUTION:
        raise PipelineInputError(
            f"{root} is not a Dynamo checkout: {ROOT_PYPROJECT_FILE} [project] name is {name!r}, "
            f"expected {ROOT_DISTRIBUTION!r}"
        )


def _project_name(pyproject: dict) -> str | None:
    project = pyproject.get("project")
    name = project.get("name") if isinstance(project, dict) else None
    return name if isinstance(name, str) else None


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
        raise PipelineInputError(
            f"{root} is not a Dynamo checkout: {CARGO_WORKSPACE_FILE} has no [workspace.package] version"
        )

    pins = [VersionPin(CARGO_WORKSPACE_FILE, WORKSPACE_VERSION_KEY, workspace_version_value)]
    for name, spec in workspace.get("dependencies", {}).items():
        # Only in-tree crates carry the project version; crates.io pins are third-party.
        if isinstance(spec, dict) and "path" in spec and isinstance(spec.get("version"), str):
            key = f"workspace.dependencies.{name}.version"
            pins.append(VersionPin(CARGO_WORKSPACE_FILE, key, spec["version"], f"crate:{name}", reference=True))

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
            crate = f"crate:{package.get('name', '')}"
            pins.append(VersionPin(_relative(root, manifest_path), "package.version", version, crate))
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


def _cargo_lock_pins(root: Path, lock_path: Path) -> list[VersionPin]:
    """Versions a Cargo.lock records for in-tree crates (entries without a `source` are path crates)."""
    file = _relative(root, lock_path)
    pins = []
    for entry in _load_toml(root, lock_path).get("package", []):
        if isinstance(entry, dict) and "source" not in entry and isinstance(entry.get("version"), str):
            name = entry.get("name", "")
            pins.append(VersionPin(file, f"package[{name}].version", entry["version"], f"crate:{name}", reference=True))
    return pins


def _pyproject_pins(root: Path, pyproject_path: Path, data: dict, in_tree: set[str]) -> list[VersionPin]:
    """The project's version and its exact pins on distributions built from this checkout."""
    project = data.get("project", {})
    file = _relative(root, pyproject_path)
    pins = []
    name = _project_name(data)
    if isinstance(project.get("version"), str):
        pins.append(VersionPin(file, "project.version", project["version"], f"python:{_normalise(name or '')}"))
    requirement_lists = [("project.dependencies", project.get("dependencies", []))]
    requirement_lists += [
        (f"project.optional-dependencies.{extra}", requirements)
        for extra, requirements in project.get("optional-dependencies", {}).items()
    ]
    for key, requirements in requirement_lists:
        for requirement in requirements:
            match = _EXACT_PIN.match(requirement)
            # Framework pins (vllm, sglang, …) have their own versions; only in-tree distributions are ours.
            if match and _normalise(match.group(1)) in in_tree:
                distribution = _normalise(match.group(1))
                pins.append(
                    VersionPin(file, f"{key}[{distribution}]", match.group(2), f"python:{distribution}", reference=True)
                )
    return pins


def _chart_pins(root: Path, chart_path: Path) -> list[VersionPin]:
    """A chart's version and appVersion, and the versions it requires of in-tree (file://) subcharts."""
    file = _relative(root, chart_path)
    lines = chart_path.read_text(encoding="utf-8").splitlines()
    pins = []
    for line in lines:
        match = _CHART_LINE.match(line)  # anchored at column 0, so nested keys (dependencies[].version) are skipped
        if match:
            pins.append(VersionPin(file, match.group(1), match.group(3), f"chart:{file}"))
    for dependency in _chart_dependencies(lines):
        repository = dependency.get("repository", "")
        if not repository.startswith("file://") or "version" not in dependency:
            continue  # third-party charts (nats, etcd, …) have their own versions
        subchart = (chart_path.parent / repository.removeprefix("file://") / "Chart.yaml").resolve()
        try:
            target = subchart.relative_to(root.resolve()).as_posix()
        except ValueError:
            raise PipelineInputError(f"{file}: dependency {dependency.get('name')!r} points outside the checkout") from None
        key = f"dependencies[{dependency.get('name', '')}].version"
        pins.append(VersionPin(file, key, dependency["version"], f"chart:{target}", reference=True))
    return pins


def _chart_dependencies(lines: list[str]) -> list[dict[str, str]]:
    """The `dependencies:` block sequence of a Chart.yaml: one dict of scalar keys per item.

    A line reader for Helm's conventional layout (block sequence of mappings), so the module needs no
    YAML library; nested keys deeper than an item's own keys (import-values, tags) are skipped.
    """
    items: list[dict[str, str]] = []
    in_dependencies = False
    key_column = None
    for line in lines:
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line[0].isspace() and not line.startswith("-"):
            in_dependencies = line.split(":", 1)[0].strip() == "dependencies"
            continue
        if not in_dependencies:
            continue
        match = _CHART_ITEM_LINE.match(line)
        if match is None:
            continue
        prefix, key, _, value = match.groups()
        if prefix.strip().startswith("-"):
            if key_column is not None and len(prefix) > key_column:
                continue  # a sequence nested inside an item
            items.append({})
            key_column = len(prefix)
        elif key_column is None or len(prefix) != key_column:
            continue
        items[-1].setdefault(key, value.strip())
    return items


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
