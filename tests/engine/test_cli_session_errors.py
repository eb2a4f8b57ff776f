"""Bad input found inside an engine session still reaches the user as one line and exit 2."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import EXAMPLE_WORKSPACE, REPO_ROOT


def test_build_all_input_error_inside_the_session_is_one_line(engine_env: dict[str, str], tmp_path: Path) -> None:
    """A checkout without its root pyproject.toml passes the CLI's checks; the module refuses it in the session.

    dagger-io wraps what the session body raises in SessionError; the CLI reports the input error
    behind it, naming the file as it is in the checkout, not in the module's temporary copy.
    """
    checkout = tmp_path / "checkout"
    shutil.copytree(EXAMPLE_WORKSPACE, checkout, ignore=shutil.ignore_patterns("target", "__pycache__", ".venv"))
    (checkout / "pyproject.toml").unlink()
    result = subprocess.run(
        [sys.executable, "-m", "pipeline", "build-all", "-o", str(tmp_path / "out"), "--source", str(checkout)],
        cwd=REPO_ROOT, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)}, capture_output=True, text=True, timeout=600,
    )
    assert "Traceback" not in result.stdout + result.stderr, result.stderr[-3000:]
    assert result.returncode == 2, result.stderr[-3000:]
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line == "error: the source directory is not a Dynamo checkout: it has no pyproject.toml (expected pyproject.toml)"
    assert "/tmp" not in last_line
    assert not (tmp_path / "out").exists()
