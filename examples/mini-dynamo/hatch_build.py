"""Hatch build hook: stamp each packaged component with `__version__ = "<version>+<git short sha>"`."""

import os
import subprocess
from pathlib import Path

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

COMPONENTS_DIR = Path("components") / "src" / "dynamo"


def commit_sha(root: Path) -> str | None:
    """Short SHA of HEAD; else DYNAMO_COMMIT_SHA (containers get sources without .git); else None."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        )
        return result.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        # Only the first 7 characters, so the local version matches what git would print.
        return os.environ.get("DYNAMO_COMMIT_SHA", "").strip()[:7] or None


def version_string(version: str, sha: str | None) -> str:
    return f"{version}+{sha}" if sha else version


class VersionWriterHook(BuildHookInterface):
    PLUGIN_NAME = "version-writer"

    def initialize(self, version: str, build_data: dict) -> None:
        root = Path(self.root)
        full_version = version_string(self.metadata.version, commit_sha(root))
        for component in sorted(p for p in (root / COMPONENTS_DIR).iterdir() if (p / "__init__.py").is_file()):
            version_file = component / "_version.py"
            version_file.write_text(f'__version__ = "{full_version}"\n')
            # _version.py is gitignored; listing it as an artifact keeps hatch from excluding it.
            build_data["artifacts"].append(version_file.relative_to(root).as_posix())
