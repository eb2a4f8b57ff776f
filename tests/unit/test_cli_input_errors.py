"""Bad input through `python -m pipeline`: one line on stderr, exit 2, no traceback, from every command.

The engine commands take no input; build-all's input errors inside a session are in
tests/engine/test_cli_session_errors.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from pipeline.cli import app
from tests.conftest import REPO_ROOT


def _bad_inputs(tmp: Path) -> dict[str, tuple[list[str], str]]:
    """Command -> (arguments, what its one line must say)."""
    malformed = tmp / "context.toml"
    malformed.write_text("[dagger\n")
    not_a_checkout = tmp / "empty"
    not_a_checkout.mkdir()
    return {
        "context validate": (["context", "validate", "--context", str(malformed)], f"{malformed}: malformed TOML"),
        "context show": (["context", "show", "--overlay", "missing.toml"], "missing.toml: cannot read"),
        "context diff": (["context", "diff", str(malformed)], f"{malformed}: malformed YAML at line 2"),
        "versions check": (["versions", "check", str(not_a_checkout)], "has no Cargo.toml"),
        "tags image": (["tags", "image", "abc1234", "mlx", "runtime"], "container/context.toml: unknown framework 'mlx'"),
        "tags frontend": (["tags", "frontend", "XYZ"], "sha 'XYZ' must be 7 to 40 lowercase hex digits"),
        "tags release": (["tags", "release", "one"], "version 'one' must look like X.Y.Z"),
        "tags promote": (["tags", "promote", "abc1234", "1.1.0", "--rc", "-1"], "rc number -1 must be a non-negative"),
        "render": (["render", "trtllm", "runtime", "--cuda-version", "12.9"], "allowed: 13.1"),
        "build-all --commit-sha": (
            ["build-all", "-o", str(tmp / "out"), "--commit-sha", "xyz"], "sha 'xyz' must be 7 to 40 lowercase hex digits"
        ),
        "build-all --source": (
            ["build-all", "-o", str(tmp / "out"), "--source", "examples"],
            "examples/Cargo.toml: not found; --source must be a Dynamo checkout",
        ),
        "build-all --overlay": (
            ["build-all", "-o", str(tmp / "out"), "--overlay", "missing.toml"], "missing.toml: cannot read"
        ),
    }


COMMANDS = (
    "context validate", "context show", "context diff", "versions check", "tags image", "tags frontend",
    "tags release", "tags promote", "render",
    "build-all --commit-sha", "build-all --source", "build-all --overlay",
)


def _leaf_commands(group, prefix: tuple[str, ...] = ()) -> set[str]:
    names = set()
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            names |= _leaf_commands(command, (*prefix, name))
        else:
            names.add(" ".join((*prefix, name)))
    return names


def test_every_command_has_a_bad_input_case(tmp_path: Path) -> None:
    """The cases cover every command the CLI has, except `engine` (its commands take no input)."""
    assert _leaf_commands(get_command(app)) - {"engine"} == {case.split(" --")[0] for case in COMMANDS}
    assert set(_bad_inputs(tmp_path)) == set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_reports_bad_input_in_one_line(command: str, tmp_path: Path, monkeypatch) -> None:
    """Each command prints `error: ...` alone on stderr and exits 2; no exception escapes it."""
    args, expected = _bad_inputs(tmp_path)[command]
    monkeypatch.chdir(REPO_ROOT)
    result = CliRunner().invoke(app, args)
    assert isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: "), result.stderr
    assert expected in result.stderr
    assert not (tmp_path / "out").exists()


def test_bad_input_from_the_shell_prints_no_traceback() -> None:
    """`python -m pipeline build-all --commit-sha xyz`, as a user runs it: one line, exit 2."""
    result = subprocess.run(
        [sys.executable, "-m", "pipeline", "build-all", "-o", "unused", "--commit-sha", "xyz"],
        cwd=REPO_ROOT, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)}, capture_output=True, text=True,
    )
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == "error: sha 'xyz' must be 7 to 40 lowercase hex digits\n"


@pytest.mark.parametrize("wrapped_by", ["cause", "context", "group"])
def test_input_error_found_behind_a_wrapper(wrapped_by: str) -> None:
    """dagger-io raises SessionError from the input error (the real one: tests/engine/test_cli_session_errors.py);
    task groups raise an ExceptionGroup."""
    from pipeline.cli import _input_error
    from pipeline.errors import PipelineInputError

    original = PipelineInputError("sha 'xyz' must be 7 to 40 lowercase hex digits")
    try:
        try:
            raise original
        except PipelineInputError as error:
            if wrapped_by == "cause":
                raise ConnectionError(error) from error
            if wrapped_by == "context":
                raise RuntimeError("session closed")  # noqa: B904  (an implicit chain, as in a finally)
            raise ExceptionGroup("tasks", [RuntimeError("sibling"), error])
    except Exception as raised:
        assert _input_error(raised) is original
    assert _input_error(RuntimeError("unrelated")) is None
