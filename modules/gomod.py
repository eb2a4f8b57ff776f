"""Go module facts read from go.mod and go.sum text: module path, Go version, requirements, checksums.

Plain Python (no Dagger), so a stage can refuse a broken module before any container runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_DIRECTIVE = re.compile(r"^(module|go|toolchain)\s+(\S+)")
_BLOCK_START = re.compile(r"^(require|replace|exclude|retract)\s*\($")
_REQUIRE = re.compile(r"^(\S+)\s+(v\S+)")
_REPLACE = re.compile(r"^(\S+)(?:\s+v\S+)?\s+=>\s+(\S+)(?:\s+(v\S+))?")
_GO_VERSION = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?")


class GoModuleError(ValueError):
    """A go.mod or go.sum that cannot build: named file, named module."""


@dataclass(frozen=True)
class GoMod:
    """What a go.mod says: its path, the Go version it needs, what it requires and replaces."""

    path: str  # file path, for messages
    module: str
    go: str
    requires: dict[str, str]  # module -> version
    local_replaces: dict[str, str]  # module -> relative directory ("../snapshot")

    @classmethod
    def parse(cls, path: str, text: str) -> GoMod:
        """Parse go.mod text; GoModuleError when it names no module or no Go version."""
        module = go = ""
        requires: dict[str, str] = {}
        replaces: dict[str, str] = {}
        block = ""
        for raw in text.splitlines():
            line = raw.split("//", 1)[0].strip()
            if not line:
                continue
            if block:
                if line == ")":
                    block = ""
                else:
                    _entry(block, line, requires, replaces)
                continue
            if start := _BLOCK_START.match(line):
                block = start[1]
            elif directive := _DIRECTIVE.match(line):
                if directive[1] == "module":
                    module = directive[2].strip('"')
                elif directive[1] == "go":
                    go = directive[2]
            elif line.startswith(("require ", "replace ")):
                keyword, _, rest = line.partition(" ")
                _entry(keyword, rest.strip(), requires, replaces)
        if not module:
            raise GoModuleError(f"{path}: no module directive")
        if not go:
            raise GoModuleError(f"{path}: no go directive")
        return cls(path, module, go, requires, replaces)

    def check_sum(self, sum_path: str, sum_text: str | None) -> None:
        """Every required module outside local replaces must have its go.mod hash in go.sum."""
        needed = {mod: ver for mod, ver in self.requires.items() if mod not in self.local_replaces}
        if not needed:
            return
        if sum_text is None:
            raise GoModuleError(f"{sum_path}: not found, but {self.path} requires {', '.join(sorted(needed))}")
        hashed = {tuple(line.split()[:2]) for line in sum_text.splitlines() if len(line.split()) == 3}
        missing = [f"{mod} {ver}" for mod, ver in sorted(needed.items()) if (mod, f"{ver}/go.mod") not in hashed]
        if missing:
            raise GoModuleError(
                f"{sum_path}: missing go.sum entry for {', '.join(missing)}; run `go mod tidy` in {self.path.rsplit('/', 1)[0]}"
            )

    def check_go_version(self, available: str, setting: str) -> None:
        """The Go toolchain pinned by `setting` must be at least the go.mod's `go` version."""
        if go_version_tuple(available) < go_version_tuple(self.go):
            raise GoModuleError(
                f"{self.path}: needs go {self.go}, but {setting} pins Go {available} (GOTOOLCHAIN=local: no download)"
            )


def _entry(keyword: str, line: str, requires: dict[str, str], replaces: dict[str, str]) -> None:
    if keyword == "require" and (req := _REQUIRE.match(line)):
        requires[req[1]] = req[2]
    elif keyword == "replace" and (rep := _REPLACE.match(line)) and rep[3] is None and rep[2].startswith("."):
        replaces[rep[1]] = rep[2]


def go_version_tuple(version: str) -> tuple[int, int, int]:
    """(1, 25, 0) for "1.25", "1.25.0" or "go1.25.0"."""
    match = _GO_VERSION.search(version)
    if not match:
        raise GoModuleError(f"{version!r} is not a Go version like 1.25 or 1.25.3")
    return int(match[1]), int(match[2]), int(match[3] or 0)


def go_version_matches(pinned: str, reported: str) -> bool:
    """Whether `go version`'s "go1.25.3" is the pinned "1.25" (any patch) or "1.25.3" (exactly)."""
    match = re.fullmatch(r"go(\d+\.\d+)(\.\d+)?", reported.strip())
    if not match:
        return False
    full = match[1] + (match[2] or "")
    return full == pinned or (pinned.count(".") == 1 and match[1] == pinned)
