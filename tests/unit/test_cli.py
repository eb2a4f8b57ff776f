"""The command-line interface: output and exit codes."""

import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.context import DEFAULT_CONTEXT

runner = CliRunner()
OFFLINE_OVERLAY = str(DEFAULT_CONTEXT.parent / "overlays" / "offline.toml")


def test_context_validate_ok():
    result = runner.invoke(app, ["context", "validate", "--overlay", OFFLINE_OVERLAY])
    assert result.exit_code == 0, result.output
    assert "ok (" in result.output


def test_context_validate_malformed_exits_2_without_traceback(tmp_path):
    bad = tmp_path / "context.toml"
    bad.write_text("[dagger\n")
    result = runner.invoke(app, ["context", "validate", "--context", str(bad)])
    assert result.exit_code == 2
    assert f"{bad}: malformed TOML at line 1" in result.stderr
    assert "Traceback" not in result.output


def test_context_show_prints_json():
    result = runner.invoke(app, ["context", "show", "--overlay", OFFLINE_OVERLAY])
    assert result.exit_code == 0
    assert '"pinned": "localhost:5000/docker.io/library/python:3.12-slim"' in result.stdout


def test_tags_image_with_main_aliases():
    result = runner.invoke(app, ["tags", "image", "abc1234", "vllm", "runtime", "--branch", "main"])
    assert result.exit_code == 0
    assert result.stdout.split() == ["abc1234-vllm-runtime-cuda12", "main-vllm-cuda12", "main-vllm-abc1234-cuda12"]


def test_tags_image_bad_framework_exits_2():
    result = runner.invoke(app, ["tags", "image", "abc1234", "mlx", "runtime"])
    assert result.exit_code == 2
    assert "allowed: dynamo, vllm, sglang, trtllm" in result.stderr


def test_tags_frontend_and_release():
    assert runner.invoke(app, ["tags", "frontend", "abc1234"]).stdout.split() == ["abc1234-frontend"]
    result = runner.invoke(app, ["tags", "release", "1.1.0", "v1.1.0-rc1", "v1.1.0-rc2"])
    assert result.exit_code == 0
    assert result.stdout.split() == ["v1.1.0-rc3", "1.1.0rc3", "1.1.0-rc3"]
    assert runner.invoke(app, ["tags", "release", "1.1.0"]).stdout.split() == ["v1.1.0-rc0", "1.1.0rc0", "1.1.0-rc0"]
    assert runner.invoke(app, ["tags", "release", "1.1.0", "--rc", "7"]).stdout.split()[0] == "v1.1.0-rc7"
    assert runner.invoke(app, ["tags", "release", "one"]).exit_code == 2


def test_tags_promote():
    result = runner.invoke(app, ["tags", "promote", "abc1234", "1.1.0", "v1.1.0-rc0"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 11
    assert lines[4] == "abc1234-trtllm-runtime-cuda13 -> ai-dynamo/tensorrtllm-runtime:1.1.0rc1-cuda13"
    assert runner.invoke(app, ["tags", "promote", "HEAD", "1.1.0"]).exit_code == 2


def test_render_to_directory(tmp_path):
    result = runner.invoke(app, ["render", "vllm", "runtime", "--cuda-version", "13.0", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    written = tmp_path / "vllm-runtime-cuda13.0-amd64-rendered.Dockerfile"
    assert "FROM nvcr.io/nvidia/cuda:13.0.2-runtime-ubuntu24.04 AS runtime" in written.read_text()


def test_render_to_stdout():
    result = runner.invoke(app, ["render", "dynamo", "base"])
    assert result.exit_code == 0
    assert result.stdout.startswith("# syntax=docker/dockerfile:1.10.0-labs")


def test_render_forbidden_pair_exits_2():
    result = runner.invoke(app, ["render", "trtllm", "runtime", "--cuda-version", "12.9"])
    assert result.exit_code == 2
    assert "allowed: 13.1" in result.stderr


EXAMPLE = DEFAULT_CONTEXT.parent.parent / "examples" / "mini-dynamo"


@pytest.fixture
def checkout(tmp_path):
    """A copy of the example checkout, safe to edit."""
    import shutil

    copy = tmp_path / "mini-dynamo"
    shutil.copytree(EXAMPLE, copy, ignore=shutil.ignore_patterns("target", "dist", "__pycache__"))
    return copy


def test_versions_check_reports_skew(checkout):
    chart = checkout / "deploy/helm/charts/platform/Chart.yaml"
    chart.write_text(chart.read_text().replace("dynamo-operator\n    version: 1.1.0", "dynamo-operator\n    version: 1.0.0"))
    lock = checkout / "Cargo.lock"
    lock.write_text(lock.read_text().replace('name = "dynamo-llm"\nversion = "1.1.0"', 'name = "dynamo-llm"\nversion = "1.0.0"'))
    result = runner.invoke(app, ["versions", "check", str(checkout)])
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "Cargo.lock:package[dynamo-llm].version = 1.0.0 (expected 1.1.0)",
        "deploy/helm/charts/platform/Chart.yaml:dependencies[dynamo-operator].version = 1.0.0 (expected 1.1.0)",
    ]


def test_versions_check_ok(checkout):
    result = runner.invoke(app, ["versions", "check", str(checkout)])
    assert result.exit_code == 0
    assert result.stdout == f"{checkout}: 29 pins agree (5 in independently versioned files)\n"


def test_versions_check_of_a_directory_that_is_not_dynamo_is_one_line(tmp_path):
    (tmp_path / "Cargo.toml").write_text("[workspace]\n")
    result = runner.invoke(app, ["versions", "check", str(tmp_path)])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "is not a Dynamo checkout: it has no pyproject.toml" in result.stderr


def test_engine_sub_app_is_registered():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("context", "versions", "tags", "render", "engine"):
        assert command in result.stdout



def test_build_all_refuses_a_directory_without_cargo_toml(tmp_path):
    """Bad --source fails before any engine connection is made."""
    result = runner.invoke(app, ["build-all", "--source", str(tmp_path), "-o", str(tmp_path / "dist")])
    assert result.exit_code == 2
    assert f"{tmp_path}/Cargo.toml: not found" in result.stderr
    assert not (tmp_path / "dist").exists()
