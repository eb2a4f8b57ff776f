"""Lock-file discovery, go.mod parsing and the findings visible without a tool."""

from __future__ import annotations

import pytest

from pipeline.errors import PipelineInputError
from pipeline.lockfiles import ERROR, WARNING, find_projects, parse_go_mod, report, static_findings

ROOT_CARGO = '[workspace]\nmembers = ["lib/llm"]\n'
MEMBER_CARGO = '[package]\nname = "dynamo-llm"\nversion = "1.1.0"\n'
BINDINGS_CARGO = '[workspace]\n\n[package]\nname = "dynamo-py3"\nversion = "1.1.0"\n'
GO_MOD = "module example.com/op\n\ngo 1.25.0\n\nrequire (\n\tgithub.com/google/uuid v1.6.0 // indirect\n)\n"
GO_SUM = "github.com/google/uuid v1.6.0 h1:abc=\ngithub.com/google/uuid v1.6.0/go.mod h1:def=\n"
PYPROJECT = '[project]\nname = "ai-dynamo"\nversion = "1.1.0"\n'


def manifests() -> dict[str, str]:
    return {
        "Cargo.toml": ROOT_CARGO,
        "lib/llm/Cargo.toml": MEMBER_CARGO,
        "lib/bindings/python/Cargo.toml": BINDINGS_CARGO,
        "deploy/operator/go.mod": GO_MOD,
        "pyproject.toml": PYPROJECT,
        "lib/bindings/python/pyproject.toml": PYPROJECT,
    }


def test_projects_are_workspace_roots_go_modules_and_the_root_python_project() -> None:
    found = {(p.kind, p.lock_path) for p in find_projects(manifests())}
    assert found == {
        ("cargo", "Cargo.lock"),
        ("cargo", "lib/bindings/python/Cargo.lock"),
        ("go", "deploy/operator/go.sum"),
        ("python", "uv.lock"),
    }


def test_missing_locks_are_named_with_the_command_that_makes_them() -> None:
    files = dict(manifests(), **{"Cargo.lock": "version = 4\n"})
    findings = static_findings(find_projects(manifests()), files)
    lines = {f.line(): f.severity for f in findings}
    assert lines == {
        "lib/bindings/python/Cargo.lock: missing; run `cargo generate-lockfile` in lib/bindings/python and commit it": ERROR,
        "deploy/operator/go.sum: missing; run `go mod tidy` in deploy/operator and commit it": ERROR,
        "uv.lock: missing; run `uv lock` and commit it": WARNING,
    }
    assert report(findings).splitlines()[-1].startswith("warning: uv.lock")


def test_go_sum_without_a_required_module_is_out_of_sync() -> None:
    projects = [p for p in find_projects(manifests()) if p.kind == "go"]
    stale = dict(manifests(), **{"deploy/operator/go.sum": "github.com/google/uuid v1.5.0/go.mod h1:x=\n"})
    (finding,) = static_findings(projects, stale)
    assert "no entry for github.com/google/uuid v1.6.0" in finding.line()
    assert static_findings(projects, dict(manifests(), **{"deploy/operator/go.sum": GO_SUM})) == []


def test_a_module_without_requirements_needs_no_go_sum() -> None:
    files = {"go.mod": "module example.com/bare\n\ngo 1.24.0\n"}
    assert static_findings(find_projects(files), files) == []


def test_go_mod_is_parsed() -> None:
    parsed = parse_go_mod(GO_MOD + "replace example.com/x => ../x\ntool example.com/t\n", "go.mod")
    assert parsed.module == "example.com/op" and parsed.go == "1.25.0"
    assert parsed.requires == {"github.com/google/uuid": "v1.6.0"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("go 1.24\n", "go.mod: no module directive"),
        ("module m\ngo one.two\n", "go.mod:2: go directive 'one.two' is not a version"),
        ("module m\nrequire (\n\tgithub.com/x\n)\n", "go.mod:3: malformed requirement 'github.com/x'"),
        ("module m\nrequire (\n", "go.mod: require block is not closed"),
        ("module m\nrequires x v1\n", "go.mod:2: unknown go.mod directive 'requires'"),
    ],
)
def test_malformed_go_mod_is_one_line(text: str, message: str) -> None:
    with pytest.raises(PipelineInputError, match=message.replace("(", r"\(")) as error:
        parse_go_mod(text, "go.mod")
    assert "\n" not in str(error.value)


def test_bad_toml_names_the_file() -> None:
    with pytest.raises(PipelineInputError, match="Cargo.toml: not valid TOML"):
        find_projects({"Cargo.toml": "[workspace"})


def test_local_replacements_need_no_go_sum_entry() -> None:
    text = (
        "module m\n\ngo 1.25.0\n\nrequire (\n\texample.com/snapshot v0.0.0\n\texample.com/lib v1.0.0\n)\n\n"
        "replace example.com/snapshot => ../snapshot\n"
        "replace (\n\texample.com/lib v1.0.0 => example.com/fork v1.0.1\n)\n"
    )
    parsed = parse_go_mod(text, "go.mod")
    assert parsed.locked_requirements() == [("example.com/fork", "v1.0.1")]
    files = {"go.mod": text, "go.sum": "example.com/fork v1.0.1/go.mod h1:x=\n"}
    assert static_findings(find_projects(files), files) == []
    with pytest.raises(PipelineInputError, match=r"go.mod:2: malformed replace 'example.com/x =>'"):
        parse_go_mod("module m\nreplace example.com/x =>\n", "go.mod")
