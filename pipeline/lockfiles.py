"""Lock-file hygiene: which lock files a checkout must carry, and the checks that need no tool.

Plain Python. `find_projects` maps a checkout's manifests to the lock file each needs (Cargo
workspaces -> Cargo.lock, Go modules -> go.sum, the root Python project -> uv.lock);
`static_findings` reports what is visible from the files alone (a missing lock file, a workspace
member or a go.mod requirement the lock does not carry). The compliance stage adds what only the
tools know (`cargo metadata --locked`, `go mod tidy -diff`, `uv lock --check`).
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

import tomli

from .errors import PipelineInputError

# A lock file that is missing or stale fails the check; a missing uv.lock is only reported unless
# asked for: neither upstream nor the example can lock the framework extras (tensorrt-llm's
# dependencies resolve by downloading from pypi.nvidia.com).
ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Project:
    """One manifest that pins its dependencies in a lock file next to it."""

    kind: str  # "cargo", "go" or "python"
    directory: str  # relative to the checkout, "." for the root
    manifest: str
    lock: str

    @property
    def manifest_path(self) -> str:
        return posixpath.normpath(posixpath.join(self.directory, self.manifest))

    @property
    def lock_path(self) -> str:
        return posixpath.normpath(posixpath.join(self.directory, self.lock))


@dataclass(frozen=True)
class Finding:
    """One lock-file problem: the file, what is wrong, and how to fix it."""

    severity: str
    path: str
    message: str

    def line(self) -> str:
        return f"{self.path}: {self.message}"


def _toml(text: str, path: str) -> dict:
    try:
        return tomli.loads(text)
    except tomli.TOMLDecodeError as error:
        raise PipelineInputError(f"{path}: not valid TOML: {error}") from None


def find_projects(manifests: dict[str, str]) -> list[Project]:
    """The projects among a checkout's manifests (path -> text of every Cargo.toml, go.mod and
    pyproject.toml). A Cargo.toml is a workspace root when it has a [workspace] table or is a
    package outside every other workspace; the root pyproject.toml is the Python project."""
    cargo_roots = []
    for path, text in manifests.items():
        if posixpath.basename(path) == "Cargo.toml" and "workspace" in _toml(text, path):
            cargo_roots.append(posixpath.dirname(path) or ".")
    projects = [Project("cargo", root, "Cargo.toml", "Cargo.lock") for root in cargo_roots]
    for path in manifests:
        name, directory = posixpath.basename(path), posixpath.dirname(path) or "."
        if name == "go.mod":
            projects.append(Project("go", directory, "go.mod", "go.sum"))
        elif name == "pyproject.toml" and directory == "." and "project" in _toml(manifests[path], path):
            projects.append(Project("python", ".", "pyproject.toml", "uv.lock"))
    return sorted(projects, key=lambda p: (p.kind, p.directory))


@dataclass(frozen=True)
class GoMod:
    """The parts of a go.mod the checks use: module path, go version, requirements."""

    module: str
    go: str
    requires: dict[str, str]
    # module -> (replacement, its version); the version is empty for a local directory
    replaces: dict[str, tuple[str, str]]

    def locked_requirements(self) -> list[tuple[str, str]]:
        """The (module, version) pairs go.sum must record: requirements after replacements,
        without those replaced by a local directory (nothing to hash)."""
        pairs = []
        for module, version in sorted(self.requires.items()):
            new, new_version = self.replaces.get(module, (module, version))
            if new_version:
                pairs.append((new, new_version))
        return pairs


_GO_DIRECTIVE = re.compile(r"\d+\.\d+(\.\d+)?")
_REQUIRE_LINE = re.compile(r"(\S+)\s+(v\S+)(\s*//.*)?")
_REPLACE_LINE = re.compile(r"(\S+)(?:\s+v\S+)?\s*=>\s*(\S+)(?:\s+(v\S+))?")


def parse_go_mod(text: str, path: str) -> GoMod:
    """Parse a go.mod; a malformed one is a PipelineInputError naming the file and line."""
    module, go, requires, replaces = "", "", {}, {}

    def replace(line: str, number: int) -> None:
        match = _REPLACE_LINE.fullmatch(line)
        if not match:
            raise PipelineInputError(f"{path}:{number}: malformed replace {line!r} (want 'module => path' or 'module => module vX.Y.Z')")
        replaces[match.group(1)] = (match.group(2), match.group(3) or "")

    in_block: str | None = None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("//", 1)[0].strip() if not raw.strip().startswith("//") else ""
        if not line:
            continue
        if in_block:
            if line == ")":
                in_block = None
                continue
            if in_block == "require":
                match = _REQUIRE_LINE.fullmatch(line)
                if not match:
                    raise PipelineInputError(f"{path}:{number}: malformed requirement {line!r} (want 'module vX.Y.Z')")
                requires[match.group(1)] = match.group(2)
            elif in_block == "replace":
                replace(line, number)
            continue
        keyword, _, rest = line.partition(" ")
        rest = rest.strip()
        if keyword == "module":
            module = rest.strip('"')
        elif keyword == "go":
            if not _GO_DIRECTIVE.fullmatch(rest):
                raise PipelineInputError(f"{path}:{number}: go directive {rest!r} is not a version like 1.24.0")
            go = rest
        elif keyword in ("require", "replace", "exclude", "retract", "tool", "ignore", "godebug", "toolchain"):
            if rest == "(":
                in_block = keyword
            elif keyword == "require":
                match = _REQUIRE_LINE.fullmatch(rest)
                if not match:
                    raise PipelineInputError(f"{path}:{number}: malformed requirement {rest!r} (want 'module vX.Y.Z')")
                requires[match.group(1)] = match.group(2)
            elif keyword == "replace":
                replace(rest, number)
        else:
            raise PipelineInputError(f"{path}:{number}: unknown go.mod directive {keyword!r}")
    if in_block:
        raise PipelineInputError(f"{path}: {in_block} block is not closed with ')'")
    if not module:
        raise PipelineInputError(f"{path}: no module directive")
    return GoMod(module, go, requires, replaces)


def go_sum_modules(text: str) -> set[tuple[str, str]]:
    """(module, version) pairs whose go.mod hash go.sum records."""
    pairs = set()
    for line in text.splitlines():
        fields = line.split()
        if len(fields) == 3:
            pairs.add((fields[0], fields[1].removesuffix("/go.mod")))
    return pairs


def static_findings(projects: list[Project], files: dict[str, str]) -> list[Finding]:
    """Findings visible from the files alone; `files` holds the text of every manifest and lock
    file that exists (path -> text). Whether a Cargo.lock is current only cargo can say."""
    findings = []
    for project in projects:
        lock = files.get(project.lock_path)
        if lock is None:
            if project.kind == "python":
                findings.append(Finding(WARNING, project.lock_path, "missing; run `uv lock` and commit it"))
            elif project.kind == "go" and not parse_go_mod(files[project.manifest_path], project.manifest_path).locked_requirements():
                continue  # a module without requirements has no go.sum
            else:
                fix = "cargo generate-lockfile" if project.kind == "cargo" else "go mod tidy"
                findings.append(Finding(ERROR, project.lock_path, f"missing; run `{fix}` in {project.directory} and commit it"))
            continue
        if project.kind == "go":
            gomod = parse_go_mod(files[project.manifest_path], project.manifest_path)
            recorded = go_sum_modules(lock)
            for module, version in gomod.locked_requirements():
                if (module, version) not in recorded:
                    findings.append(Finding(
                        ERROR, project.lock_path,
                        f"has no entry for {module} {version} required by go.mod; run `go mod tidy` in {project.directory}",
                    ))
    return findings


def report(findings: list[Finding]) -> str:
    """One line per finding, errors first; empty when all lock files are present and in sync."""
    ordered = sorted(findings, key=lambda f: (f.severity != ERROR, f.path))
    return "\n".join(f"{f.severity}: {f.line()}" for f in ordered)
