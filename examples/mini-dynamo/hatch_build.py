"""Hatch build hook: stamp each packaged component with `__version__ = "<version>+<git short sha>"`.

Behaves as upstream's hook does: the commit comes only from `git rev-parse --short HEAD`; where git
fails (no .git, no git) the version is bare. The pipeline, which builds without .git, puts a `git`
on PATH that answers that one question.
"""

import subprocess
from pathlib import Path

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

COMPONENTS_DIR = Path("components") / "src" / "dynamo"


def commit_sha(root: Path) -> str | None:
    """Short SHA of HEAD as git prints it, or None when git cannot tell."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return result.stdout.strip() or None


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
