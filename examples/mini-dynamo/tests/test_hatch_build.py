"""The version-writer hook: git SHA (as upstream, no environment fallback), bare version, _version.py in the wheel."""

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path


WORKSPACE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(WORKSPACE))

import hatch_build  # noqa: E402


def git_shim(directory: Path, sha: str) -> Path:
    """A `git` that answers `rev-parse --short HEAD` with `sha`, as the pipeline's build container has."""
    shim = directory / "git"
    shim.write_text(f'#!/bin/sh\n[ "$*" = "rev-parse --short HEAD" ] && echo {sha} && exit 0\nexit 128\n')
    shim.chmod(0o755)
    return directory


def test_environment_alone_gives_no_sha(tmp_path, monkeypatch):
    """As upstream: DYNAMO_COMMIT_SHA is not read; without a repository the version is bare."""
    monkeypatch.setenv("DYNAMO_COMMIT_SHA", "0123456789abcdef")
    assert hatch_build.commit_sha(tmp_path) is None
    assert hatch_build.version_string("1.1.0", hatch_build.commit_sha(tmp_path)) == "1.1.0"


def test_no_git_at_all_gives_bare_version(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert hatch_build.commit_sha(tmp_path) is None


def test_git_repository_sha(tmp_path):
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "x"],
        cwd=tmp_path,
        check=True,
    )
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=tmp_path, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert hatch_build.commit_sha(tmp_path) == head


def test_wheel_contains_stamped_version_files(tmp_path, monkeypatch):
    # A copy without .git, as inside a build container.
    source = tmp_path / "src"
    source.mkdir()
    shutil.copytree(WORKSPACE / "components", source / "components")
    for name in ("pyproject.toml", "hatch_build.py", "README.md", ".gitignore"):
        shutil.copy2(WORKSPACE / name, source / name)
    shim_dir = tmp_path / "shim"
    shim_dir.mkdir()
    monkeypatch.setenv("PATH", f"{git_shim(shim_dir, 'abcdef0')}:{os.environ['PATH']}")
    from hatchling.builders.wheel import WheelBuilder

    wheel = Path(next(iter(WheelBuilder(str(source)).build(directory=str(tmp_path / "dist")))))
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        assert archive.read("dynamo/frontend/_version.py").decode() == '__version__ = "1.1.0+abcdef0"\n'
        assert archive.read("dynamo/common/_version.py").decode() == '__version__ = "1.1.0+abcdef0"\n'
    assert "dynamo/__init__.py" not in names  # namespace shared with ai-dynamo-runtime's dynamo._core
    assert wheel.name == "ai_dynamo-1.1.0-py3-none-any.whl"
