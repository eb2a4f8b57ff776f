"""pipeline.versions on the example workspace and on broken copies of it."""

import shutil
from pathlib import Path

import pytest

from pipeline.errors import PipelineInputError
from pipeline.versions import VersionPin, read_versions, skew, workspace_version

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "mini-dynamo"


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A copy of the example workspace without build outputs, safe to edit."""
    copy = tmp_path / "mini-dynamo"
    shutil.copytree(EXAMPLE, copy, ignore=shutil.ignore_patterns("target", "dist", "__pycache__"))
    return copy


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def test_example_workspace_is_consistent_at_1_1_0():
    pins = read_versions(EXAMPLE)
    assert skew(pins) == []
    assert workspace_version(EXAMPLE) == "1.1.0"


def test_example_workspace_pins_cover_every_version_file():
    found = {(pin.file, pin.key) for pin in read_versions(EXAMPLE)}
    assert found >= {
        ("Cargo.toml", "workspace.package.version"),
        ("Cargo.toml", "workspace.dependencies.dynamo-llm.version"),
        ("lib/runtime/Cargo.toml", "package.version"),
        ("lib/llm/Cargo.toml", "package.version"),
        ("launch/dynamo-run/Cargo.toml", "package.version"),
        ("lib/bindings/c/Cargo.toml", "package.version"),
        ("lib/bindings/python/Cargo.toml", "package.version"),
        ("lib/bindings/python/pyproject.toml", "project.version"),
        ("pyproject.toml", "project.version"),
        ("pyproject.toml", "project.dependencies[ai-dynamo-runtime]"),
        ("deploy/helm/charts/platform/Chart.yaml", "version"),
        ("deploy/helm/charts/platform/Chart.yaml", "appVersion"),
    }
    # Framework extras (vllm==0.19.1, …) have their own versions and must not be read as project pins.
    assert all(pin.version == "1.1.0" for pin in read_versions(EXAMPLE))


def test_copy_without_build_outputs_reads_the_same_pins(workspace):
    assert set(read_versions(workspace)) == set(read_versions(EXAMPLE))


@pytest.mark.parametrize(
    ("file", "old", "new", "key"),
    [
        ("lib/bindings/python/pyproject.toml", 'version = "1.1.0"', 'version = "1.1.1"', "project.version"),
        ("lib/bindings/python/Cargo.toml", 'version = "1.1.0"', 'version = "1.1.1"', "package.version"),
        ("pyproject.toml", "ai-dynamo-runtime==1.1.0", "ai-dynamo-runtime==1.1.1",
         "project.dependencies[ai-dynamo-runtime]"),
        ("deploy/helm/charts/platform/Chart.yaml", 'appVersion: "1.1.0"', 'appVersion: "1.1.1"', "appVersion"),
        ("deploy/helm/charts/platform/Chart.yaml", "\nversion: 1.1.0", "\nversion: 1.1.1", "version"),
    ],
)
def test_one_bumped_pin_is_the_only_skew(workspace, file, old, new, key):
    _replace(workspace / file, old, new)
    assert skew(read_versions(workspace)) == [VersionPin(file, key, "1.1.1")]
    with pytest.raises(PipelineInputError) as raised:
        workspace_version(workspace)
    assert f"{file}:{key} = 1.1.1" in str(raised.value)


def test_bumping_the_workspace_version_skews_everything_else(workspace):
    _replace(workspace / "Cargo.toml", 'version = "1.1.0"', 'version = "1.2.0"')
    skewed = skew(read_versions(workspace))
    # Members with version.workspace = true follow the workspace, so they do not skew.
    assert ("lib/llm/Cargo.toml", "package.version") not in {(pin.file, pin.key) for pin in skewed}
    assert ("lib/bindings/python/Cargo.toml", "package.version") in {(pin.file, pin.key) for pin in skewed}
    assert all(pin.version == "1.1.0" for pin in skewed)


def test_error_lists_every_skewed_pin(workspace):
    _replace(workspace / "lib/bindings/python/pyproject.toml", 'version = "1.1.0"', 'version = "1.0.9"')
    _replace(workspace / "pyproject.toml", "ai-dynamo-runtime==1.1.0", "ai-dynamo-runtime==1.0.9")
    with pytest.raises(PipelineInputError) as raised:
        workspace_version(workspace)
    message = str(raised.value)
    assert "lib/bindings/python/pyproject.toml:project.version = 1.0.9" in message
    assert "pyproject.toml:project.dependencies[ai-dynamo-runtime] = 1.0.9" in message
    assert "Cargo.toml:workspace.package.version = 1.1.0" in message


def test_member_with_version_workspace_resolves_to_the_workspace_version(workspace):
    member = workspace / "lib" / "tokens"
    member.mkdir(parents=True)
    (member / "Cargo.toml").write_text('[package]\nname = "dynamo-tokens"\nversion.workspace = true\n')
    _replace(workspace / "Cargo.toml", 'version = "1.1.0"', 'version = "2.0.0"')
    pins = {(pin.file, pin.key): pin.version for pin in read_versions(workspace)}
    assert pins[("lib/tokens/Cargo.toml", "package.version")] == "2.0.0"


def test_member_with_literal_version_is_read_as_written(workspace):
    _replace(workspace / "lib/llm/Cargo.toml", "version.workspace = true", 'version = "0.9.0"')
    assert skew(read_versions(workspace)) == [VersionPin("lib/llm/Cargo.toml", "package.version", "0.9.0")]


def test_version_workspace_without_workspace_version_is_an_error(workspace):
    standalone = workspace / "lib" / "bindings" / "kvbm"
    standalone.mkdir(parents=True)
    (standalone / "Cargo.toml").write_text('[workspace]\n\n[package]\nname = "kvbm-py3"\nversion.workspace = true\n')
    with pytest.raises(PipelineInputError, match="lib/bindings/kvbm/Cargo.toml"):
        read_versions(workspace)


def test_missing_cargo_toml_is_named(workspace):
    (workspace / "Cargo.toml").unlink()
    with pytest.raises(PipelineInputError, match="Cargo.toml"):
        read_versions(workspace)


def test_missing_root_pyproject_is_named(workspace):
    (workspace / "pyproject.toml").unlink()
    with pytest.raises(PipelineInputError, match=r"pyproject\.toml"):
        workspace_version(workspace)


def test_missing_root_directory_is_named(tmp_path):
    missing = tmp_path / "no-such-checkout"
    with pytest.raises(PipelineInputError, match="no-such-checkout"):
        read_versions(missing)


@pytest.mark.parametrize("file", ["Cargo.toml", "lib/runtime/Cargo.toml", "lib/bindings/python/pyproject.toml"])
def test_malformed_toml_names_the_file(workspace, file):
    (workspace / file).write_text('[package\nversion = "1.1.0"\n')
    with pytest.raises(PipelineInputError, match=f"{file} is not valid TOML"):
        read_versions(workspace)


def test_build_outputs_are_not_scanned(workspace):
    # A vendored crate under target/ has its own version and must not count as a pin.
    vendored = workspace / "target" / "package" / "serde-1.0.0"
    vendored.mkdir(parents=True)
    (vendored / "Cargo.toml").write_text('[package]\nname = "serde"\nversion = "1.0.0"\n')
    assert skew(read_versions(workspace)) == []


def test_nested_chart_dependency_versions_are_ignored(workspace):
    chart = workspace / "deploy/helm/charts/platform/Chart.yaml"
    chart.write_text(chart.read_text() + "dependencies:\n  - name: nats\n    version: 1.2.6\n")
    assert skew(read_versions(workspace)) == []
