"""Plain-Python parts of the local engine tooling: source edits, layout, stand-in names, the `engine` command."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from localengine import standins
from localengine.layout import (
    DEFAULT_CACHE,
    REPO_ROOT,
    TOOLS_MODULE,
    EngineLayout,
    pinned_engine_version,
)
from localengine.patches import ENGINE_SOURCE_EDITS, SourceEdit
from localengine.standins import NO_STAND_IN, STAND_IN_FOR, mirror_names
from pipeline.cli import app
from pipeline.context import REQUIRED_IMAGES, load_context
from pipeline.errors import PipelineInputError

# --- SourceEdit ------------------------------------------------------------------------------

EDIT = SourceEdit(path="core/terminal.go", old="idtui.Dot()", new='"*"', why="no idtui here")


def write(root: Path, text: str) -> Path:
    target = root / "core" / "terminal.go"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    return target


def test_apply_replaces_the_anchor_once(tmp_path: Path) -> None:
    target = write(tmp_path, "a\nx := idtui.Dot()\nb\n")
    EDIT.apply(tmp_path)
    assert target.read_text() == 'a\nx := "*"\nb\n'


def test_apply_twice_fails(tmp_path: Path) -> None:
    """Once applied the anchor is gone, so a second run fails instead of editing again."""
    write(tmp_path, "x := idtui.Dot()\n")
    EDIT.apply(tmp_path)
    with pytest.raises(RuntimeError, match="anchor found 0 times"):
        EDIT.apply(tmp_path)


def test_missing_anchor_names_the_file(tmp_path: Path) -> None:
    target = write(tmp_path, "nothing to see\n")
    with pytest.raises(RuntimeError) as raised:
        EDIT.apply(tmp_path)
    message = str(raised.value)
    assert "core/terminal.go" in message and "no idtui here" in message
    assert "anchor found 0 times, expected once" in message
    assert target.read_text() == "nothing to see\n"


def test_ambiguous_anchor_fails_and_leaves_the_file(tmp_path: Path) -> None:
    target = write(tmp_path, "idtui.Dot()\nidtui.Dot()\n")
    with pytest.raises(RuntimeError, match=r"core/terminal\.go .*anchor found 2 times, expected once"):
        EDIT.apply(tmp_path)
    assert target.read_text() == "idtui.Dot()\nidtui.Dot()\n"


@pytest.mark.parametrize("edit", ENGINE_SOURCE_EDITS, ids=lambda e: f"{e.path}:{e.old[:24]!r}")
def test_every_engine_edit_has_an_anchor_and_a_reason(edit: SourceEdit) -> None:
    assert edit.old.strip()
    assert edit.why.strip()
    assert edit.path.endswith(".go") and not edit.path.startswith("/")
    assert edit.old != edit.new


def test_engine_edits_apply_in_order_to_their_anchors(tmp_path: Path) -> None:
    """Per file, no edit breaks or duplicates a later edit's anchor."""
    by_file: dict[str, list[SourceEdit]] = {}
    for edit in ENGINE_SOURCE_EDITS:
        by_file.setdefault(edit.path, []).append(edit)
    for path, edits in by_file.items():
        target = tmp_path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("// start\n" + "// --\n".join(edit.old for edit in edits) + "// end\n")
    for edit in ENGINE_SOURCE_EDITS:
        edit.apply(tmp_path)
    for path, edits in by_file.items():
        text = (tmp_path / path).read_text()
        assert all(edit.old not in text for edit in edits if edit.old not in edit.new)


# --- layout ----------------------------------------------------------------------------------


def test_pinned_engine_version_of_the_tools_module() -> None:
    """The version on the `github.com/dagger/dagger vX` line of tools/engine/go.mod."""
    pins = [
        line.split()[1]
        for line in (TOOLS_MODULE / "go.mod").read_text().splitlines()
        if line.split()[:1] == ["github.com/dagger/dagger"]
    ]
    assert len(pins) == 1
    assert pinned_engine_version() == pins[0]
    assert pinned_engine_version(TOOLS_MODULE / "go.mod") == pins[0]


def test_module_engine_version_is_the_local_engine() -> None:
    """dagger.json's engineVersion, the context's [dagger] version and the engine built here agree.

    An engine refuses a module whose engineVersion is newer than itself, so the module names the
    version it is tested on; newer stock engines load it as well.
    """
    engine_version = json.loads((REPO_ROOT / "dagger.json").read_text())["engineVersion"]
    assert engine_version == pinned_engine_version() == f"v{load_context().dagger_version}"


def test_pinned_engine_version_without_requirement(tmp_path: Path) -> None:
    go_mod = tmp_path / "go.mod"
    go_mod.write_text(
        "module example\n\ngo 1.26\n\nrequire (\n\tdagger.io/dagger v0.21.8\n"
        "\tgithub.com/dagger/dagger/engine/distconsts v0.21.8\n)\n"
    )
    with pytest.raises(PipelineInputError) as raised:
        pinned_engine_version(go_mod)
    assert str(raised.value) == f"{go_mod}: no `github.com/dagger/dagger vX.Y.Z` requirement"


def test_pinned_engine_version_missing_file(tmp_path: Path) -> None:
    go_mod = tmp_path / "absent" / "go.mod"
    with pytest.raises(PipelineInputError, match=r"go\.mod: missing; it pins the local engine version"):
        pinned_engine_version(go_mod)


def test_pinned_engine_version_single_line_require(tmp_path: Path) -> None:
    go_mod = tmp_path / "go.mod"
    go_mod.write_text("module example\n\ngo 1.26\n\nrequire github.com/dagger/dagger v0.21.8\n")
    assert pinned_engine_version(go_mod) == "v0.21.8"


@pytest.fixture
def layout(tmp_path: Path) -> EngineLayout:
    return EngineLayout(version="v0.21.8", cache=tmp_path)


def test_layout_paths(layout: EngineLayout, tmp_path: Path) -> None:
    assert layout.work == tmp_path / "engine" / "v0.21.8"
    assert layout.cli == tmp_path / "engine" / "v0.21.8" / "bin" / "dagger"
    assert layout.rootfs_cache == tmp_path / "rootfs"
    assert layout.registry_data == tmp_path / "registry"
    assert layout.runner_host == "unix:///run/dagger/engine.sock"
    assert layout.registry_port == 5000


def test_layout_names_carry_the_version(layout: EngineLayout) -> None:
    for name in (layout.container, layout.image, layout.state_volume):
        assert "v0.21.8" in name
    assert layout.container == "dagger-engine-v0.21.8"
    assert len({layout.container, layout.image, layout.state_volume}) == 3


def test_client_env(layout: EngineLayout) -> None:
    env = layout.client_env()
    assert set(env) == {
        "_EXPERIMENTAL_DAGGER_CLI_BIN",
        "_EXPERIMENTAL_DAGGER_RUNNER_HOST",
        "DAGGER_NO_UPDATE_CHECK",
        "DAGGER_NO_NAG",
        "DO_NOT_TRACK",
    }
    assert env["_EXPERIMENTAL_DAGGER_CLI_BIN"] == str(layout.cli)
    assert env["_EXPERIMENTAL_DAGGER_RUNNER_HOST"] == layout.runner_host
    assert all(isinstance(value, str) and value for value in env.values())


def test_from_environment_cache_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DYNAMO_PIPELINE_CACHE", str(tmp_path))
    layout = EngineLayout.from_environment()
    assert layout.cache == tmp_path
    assert layout.version == pinned_engine_version()
    assert layout.work == tmp_path / "engine" / layout.version


def test_from_environment_default_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DYNAMO_PIPELINE_CACHE", raising=False)
    assert EngineLayout.from_environment().cache == DEFAULT_CACHE


# --- stand-ins -------------------------------------------------------------------------------

REGISTRY = "localhost:5000"


@pytest.mark.parametrize(
    ("ref", "names"),
    [
        ("python:3.12-slim", [f"{REGISTRY}/docker.io/library/python:3.12-slim", f"{REGISTRY}/library/python:3.12-slim"]),
        ("docker.io/library/python:3.12-slim",
         [f"{REGISTRY}/docker.io/library/python:3.12-slim", f"{REGISTRY}/library/python:3.12-slim"]),
        ("lmsysorg/sglang:v0.5.10.post1-runtime",
         [f"{REGISTRY}/docker.io/lmsysorg/sglang:v0.5.10.post1-runtime", f"{REGISTRY}/lmsysorg/sglang:v0.5.10.post1-runtime"]),
        ("quay.io/pypa/manylinux_2_28_x86_64:2025.09.28-1", [f"{REGISTRY}/quay.io/pypa/manylinux_2_28_x86_64:2025.09.28-1"]),
        ("nvcr.io/nvidia/cuda:12.9.1-runtime-ubuntu24.04", [f"{REGISTRY}/nvcr.io/nvidia/cuda:12.9.1-runtime-ubuntu24.04"]),
        ("python:3.12-slim@sha256:" + "a" * 64,
         [f"{REGISTRY}/docker.io/library/python:3.12-slim", f"{REGISTRY}/library/python:3.12-slim"]),
        ("quay.io/pypa/manylinux_2_28_x86_64:2025.09.28-1@sha256:" + "b" * 64,
         [f"{REGISTRY}/quay.io/pypa/manylinux_2_28_x86_64:2025.09.28-1"]),
    ],
    ids=["docker-short", "docker-full", "docker-user", "quay", "nvcr", "docker-digest", "quay-digest"],
)
def test_mirror_names(ref: str, names: list[str]) -> None:
    assert mirror_names(ref, REGISTRY) == names


def test_every_required_image_has_a_stand_in_decision() -> None:
    assert set(REQUIRED_IMAGES) <= set(STAND_IN_FOR) | set(NO_STAND_IN)


def test_stand_in_decisions_do_not_overlap() -> None:
    assert not set(STAND_IN_FOR) & set(NO_STAND_IN)
    assert all(reason.strip() for reason in NO_STAND_IN.values())


def test_stand_in_keys_are_context_images() -> None:
    """No decision for an image the context does not know (a stale or misspelt key)."""
    images = set(load_context().images)
    assert set(STAND_IN_FOR) | set(NO_STAND_IN) <= images


def test_stand_ins_are_known_recipes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Every stand-in named is a recipe, and recipes list their parents first."""
    monkeypatch.setattr(standins, "host_rust_toolchain", lambda: tmp_path)  # no rustc subprocess
    made = standins.recipes(load_context(), tmp_path)
    names = [recipe.name for recipe in made]
    assert set(STAND_IN_FOR.values()) <= set(names)
    for index, recipe in enumerate(made):
        assert recipe.parent is None or recipe.parent in names[:index]


def test_trivy_tools_module_pins_the_context_version() -> None:
    """tools/trivy/go.mod and [tools] trivy in the context name one Trivy version."""
    go_mod = (REPO_ROOT / "tools" / "trivy" / "go.mod").read_text()
    pinned = re.search(r"^\s*(?:require\s+)?github\.com/aquasecurity/trivy\s+v(\S+)", go_mod, re.MULTILINE)
    assert pinned is not None
    assert pinned.group(1) == load_context().tools["trivy"]


# --- The `engine` command ---------------------------------------------------------------------


def test_engine_commands_load_on_use() -> None:
    """The CLI imports neither the engine tooling nor dagger-io until a command needs them."""
    check = "import sys, pipeline.cli; print(sorted({'localengine', 'dagger', 'pipeline.main'} & set(sys.modules)))"
    loaded = subprocess.run([sys.executable, "-c", check], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"

    result = CliRunner().invoke(app, ["engine", "--help"])
    assert result.exit_code == 0, result.output
    assert "Build, start and inspect the local Dagger engine." in result.stdout
    for command in ("up", "down", "status", "env"):
        assert f" {command} " in result.stdout
