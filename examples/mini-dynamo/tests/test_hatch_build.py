"""The version-writer hook: git SHA, DYNAMO_COMMIT_SHA fallback, bare version, and _version.py in the wheel."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path


WORKSPACE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(WORKSPACE))

import hatch_build  # noqa: E402


def test_no_git_repo_falls_back_to_env_sha(tmp_path, monkeypatch):
    monkeypatch.setenv("DYNAMO_COMMIT_SHA", "0123456789abcdef")
    assert hatch_build.commit_sha(tmp_path) == "0123456"


def test_no_git_repo_and_no_env_gives_bare_version(tmp_path, monkeypatch):
    monkeypatch.delenv("DYNAMO_COMMIT_SHA", raising=False)
    assert hatch_build.version_string("1.1.0", hatch_build.commit_sha(tmp_path)) == "1.1.0"


def test_git_sha_wins_over_env(tmp_path, monkeypatch):
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "x"],
        cwd=tmp_path,
        check=True,
    )
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=tmp_path, capture_output=True, text=True, check=True
    ).stdout.strip()
    monkeypatch.setenv("DYNAMO_COMMIT_SHA", "fffffff")
    assert hatch_build.commit_sha(tmp_path) == head


def test_wheel_contains_stamped_version_files(tmp_path, monkeypatch):
    # A copy without .git, as inside a build container.
    source = tmp_path / "src"
    source.mkdir()
    shutil.copytree(WORKSPACE / "components", source / "components")
    for name in ("pyproject.toml", "hatch_build.py", "README.md", ".gitignore"):
        shutil.copy2(WORKSPACE / name, source / name)
    monkeypatch.setenv("DYNAMO_COMMIT_SHA", "abcdef0123")
    from hatchling.builders.wheel import WheelBuilder

    wheel = Path(next(iter(WheelBuilder(str(source)).build(directory=str(tmp_path / "dist")))))
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        assert archive.read("dynamo/frontend/_version.py").decode() == '__version__ = "1.1.0+abcdef0"\n'
        assert archive.read("dynamo/common/_version.py").decode() == '__version__ = "1.1.0+abcdef0"\n'
    assert "dynamo/__init__.py" not in names  # namespace shared with ai-dynamo-runtime's dynamo._core
    assert wheel.name == "ai_dynamo-1.1.0-py3-none-any.whl"
