"""pipeline.versions on the example workspace and on broken copies of it."""

import shutil
from pathlib import Path

import pytest

from pipeline.context import load_context
from pipeline.errors import PipelineInputError
from pipeline.versions import VersionPin, VersionPolicy, glob_match, read_versions, skew, workspace_version

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "mini-dynamo"
POLICY = load_context().versions
# The example's independently versioned packages, as upstream's (everything else is 1.1.0).
INDEPENDENT_PINS = {
    "lib/bindings/python/codegen/Cargo.toml:package.version = 0.1.0",
    "Cargo.lock:package[dynamo-codegen].version = 0.1.0",
    "benchmarks/pyproject.toml:project.version = 0.1.0",
    "lib/gpu_memory_service/pyproject.toml:project.version = 0.9.0",
    "deploy/inference-gateway/standalone/helm/dynamo-gaie/Chart.yaml:version = 0.2.0",
    "deploy/inference-gateway/standalone/helm/dynamo-gaie/Chart.yaml:appVersion = 1.16.0",
}


def skewed_pins(root: Path) -> list[VersionPin]:
    """The pins that disagree, under the shipped context's [versions] policy."""
    return [item.pin for item in skew(read_versions(root), POLICY)]


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
    assert skewed_pins(EXAMPLE) == []
    assert workspace_version(EXAMPLE, POLICY) == "1.1.0"


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
    # Framework extras (vllm==0.19.1, …) have their own versions and must not be read as project pins;
    # only the independently versioned packages (and references to them) differ from 1.1.0.
    assert {str(pin) for pin in read_versions(EXAMPLE) if pin.version != "1.1.0"} == INDEPENDENT_PINS


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
    assert skewed_pins(workspace) == [VersionPin(file, key, "1.1.1")]
    with pytest.raises(PipelineInputError) as raised:
        workspace_version(workspace, POLICY)
    assert f"{file}:{key} = 1.1.1 (expected 1.1.0)" in str(raised.value)


def test_bumping_the_workspace_version_skews_everything_else(workspace):
    _replace(workspace / "Cargo.toml", 'version = "1.1.0"', 'version = "1.2.0"')
    skewed = skewed_pins(workspace)
    # Members with version.workspace = true follow the workspace, so they do not skew.
    assert ("lib/llm/Cargo.toml", "package.version") not in {(pin.file, pin.key) for pin in skewed}
    assert ("lib/bindings/python/Cargo.toml", "package.version") in {(pin.file, pin.key) for pin in skewed}
    assert all(pin.version == "1.1.0" for pin in skewed)
    # The lock still records 1.1.0 for every in-tree crate; the independent crate keeps 0.1.0.
    assert ("Cargo.lock", "package[dynamo-llm].version") in {(pin.file, pin.key) for pin in skewed}
    assert ("Cargo.lock", "package[dynamo-codegen].version") not in {(pin.file, pin.key) for pin in skewed}


def test_error_lists_every_skewed_pin(workspace):
    _replace(workspace / "lib/bindings/python/pyproject.toml", 'version = "1.1.0"', 'version = "1.0.9"')
    _replace(workspace / "pyproject.toml", "ai-dynamo-runtime==1.1.0", "ai-dynamo-runtime==1.0.9")
    with pytest.raises(PipelineInputError) as raised:
        workspace_version(workspace, POLICY)
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
    # The references to dynamo-llm (workspace.dependencies, Cargo.lock) still say 1.1.0, as the workspace.
    assert skewed_pins(workspace) == [VersionPin("lib/llm/Cargo.toml", "package.version", "0.9.0")]


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
    with pytest.raises(PipelineInputError, match=r"is not a Dynamo checkout: it has no pyproject\.toml"):
        workspace_version(workspace, POLICY)


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
    assert skewed_pins(workspace) == []


# One planted skew of each kind a release can ship: each is reported alone, as `file:key = version`.
PLANTED = [
    # A member's own version (a literal one, like dynamo-py3's).
    ("lib/bindings/python/Cargo.toml", 'version = "1.1.0"', 'version = "1.1.2"', "package.version"),
    # A path dependency's version in [workspace.dependencies].
    ("Cargo.toml", 'dynamo-llm = { path = "lib/llm", version = "1.1.0" }',
     'dynamo-llm = { path = "lib/llm", version = "1.1.2" }', "workspace.dependencies.dynamo-llm.version"),
    # Cargo.lock's record of a workspace crate (a stale lock).
    ("Cargo.lock", 'name = "dynamo-runtime"\nversion = "1.1.0"', 'name = "dynamo-runtime"\nversion = "1.1.2"',
     "package[dynamo-runtime].version"),
    # A pyproject's own version.
    ("pyproject.toml", 'version = "1.1.0"', 'version = "1.1.2"', "project.version"),
    # The root's exact pin on the runtime wheel.
    ("pyproject.toml", "ai-dynamo-runtime==1.1.0", "ai-dynamo-runtime==1.1.2", "project.dependencies[ai-dynamo-runtime]"),
    # A chart's own version and appVersion, and a subchart's.
    ("deploy/helm/charts/platform/Chart.yaml", "\nversion: 1.1.0", "\nversion: 1.1.2", "version"),
    ("deploy/helm/charts/platform/Chart.yaml", 'appVersion: "1.1.0"', 'appVersion: "1.1.2"', "appVersion"),
    ("deploy/helm/charts/platform/components/operator/Chart.yaml", "\nversion: 1.1.0", "\nversion: 1.1.2", "version"),
    # The version a chart requires of its in-tree subchart.
    ("deploy/helm/charts/platform/Chart.yaml", "dynamo-operator\n    version: 1.1.0",
     "dynamo-operator\n    version: 1.1.2", "dependencies[dynamo-operator].version"),
]


@pytest.mark.parametrize(("file", "old", "new", "key"), PLANTED, ids=[f"{p[0]}:{p[3]}" for p in PLANTED])
def test_planted_skew_is_named(workspace, file, old, new, key):
    _replace(workspace / file, old, new)
    assert [str(item) for item in skew(read_versions(workspace), POLICY)] == [f"{file}:{key} = 1.1.2 (expected 1.1.0)"]


def test_independent_packages_may_move_on_their_own(workspace):
    _replace(workspace / "benchmarks/pyproject.toml", 'version = "0.1.0"', 'version = "0.2.0"')
    _replace(workspace / "lib/gpu_memory_service/pyproject.toml", 'version = "0.9.0"', 'version = "1.0.0"')
    gaie = workspace / "deploy/inference-gateway/standalone/helm/dynamo-gaie/Chart.yaml"
    _replace(gaie, 'appVersion: "1.16.0"', 'appVersion: "1.17.0"')
    assert skewed_pins(workspace) == []


def test_independent_crate_bump_must_reach_the_lock(workspace):
    """dynamo-codegen is independent, but Cargo.lock must still record its own version."""
    _replace(workspace / "lib/bindings/python/codegen/Cargo.toml", 'version = "0.1.0"', 'version = "0.2.0"')
    assert [str(item) for item in skew(read_versions(workspace), POLICY)] == [
        "Cargo.lock:package[dynamo-codegen].version = 0.1.0 (expected 0.2.0)"
    ]


def test_without_the_independent_declarations_upstreams_five_false_alarms_come_back(workspace):
    everything_follows = VersionPolicy(follow=POLICY.follow, independent=())
    assert {str(pin) for pin in (item.pin for item in skew(read_versions(workspace), everything_follows))} == INDEPENDENT_PINS


def test_pin_file_in_no_glob_is_named(workspace):
    narrow = VersionPolicy(follow=("Cargo.toml", "Cargo.lock", "pyproject.toml", "*/**/Cargo.toml", "*/**/Cargo.lock"), independent=())
    with pytest.raises(PipelineInputError, match=r"^benchmarks/pyproject\.toml: version pin project\.version = 0\.1\.0 "
                                                 r"matches no \[versions\] follow or independent glob$"):
        skew(read_versions(workspace), narrow)


def test_third_party_chart_dependencies_are_not_pins(workspace):
    keys = {pin.key for pin in read_versions(workspace) if pin.file == "deploy/helm/charts/platform/Chart.yaml"}
    assert keys == {"version", "appVersion", "dependencies[dynamo-operator].version"}


def test_chart_dependencies_at_column_zero_and_with_nested_lists(workspace):
    chart = workspace / "deploy/helm/charts/platform/Chart.yaml"
    chart.write_text(
        "apiVersion: v2\nname: dynamo-platform\nversion: 1.1.0\n"
        "dependencies:\n"
        "- name: dynamo-operator   # in-tree\n"
        "  repository: 'file://components/operator'\n"
        "  import-values:\n"
        "  - child: version\n"
        "    version: 9.9.9\n"
        "  version: \"1.0.0\"\n"
        "- name: nats\n  version: 1.3.2\n  repository: https://nats-io.github.io/k8s/helm/charts/\n"
        "keywords: [dynamo]\n"
    )
    assert skewed_pins(workspace) == [
        VersionPin("deploy/helm/charts/platform/Chart.yaml", "dependencies[dynamo-operator].version", "1.0.0")
    ]


def test_chart_dependency_outside_the_checkout_is_named(workspace):
    chart = workspace / "deploy/helm/charts/platform/Chart.yaml"
    _replace(chart, "file://components/operator", "file://../../../../../elsewhere")
    with pytest.raises(PipelineInputError, match="dependency 'dynamo-operator' points outside the checkout"):
        read_versions(workspace)


def test_exact_pins_on_in_tree_distributions_in_extras_are_checked(workspace):
    _replace(workspace / "pyproject.toml", 'vllm = ["vllm==0.19.1"]', 'vllm = ["vllm==0.19.1", "ai-dynamo-runtime==1.0.0"]')
    assert skewed_pins(workspace) == [
        VersionPin("pyproject.toml", "project.optional-dependencies.vllm[ai-dynamo-runtime]", "1.0.0")
    ]


def test_a_checkout_that_is_not_dynamo_is_one_line(tmp_path):
    (tmp_path / "Cargo.toml").write_text('[workspace]\nmembers = []\n[workspace.package]\nversion = "0.3.0"\n')
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "other-project"\nversion = "0.3.0"\n')
    with pytest.raises(PipelineInputError) as raised:
        workspace_version(tmp_path, POLICY)
    assert str(raised.value) == (
        f"{tmp_path} is not a Dynamo checkout: pyproject.toml [project] name is 'other-project', expected 'ai-dynamo'"
    )


def test_cargo_workspace_without_a_version_is_not_dynamo(workspace):
    _replace(workspace / "Cargo.toml", '[workspace.package]\nversion = "1.1.0"\n', "[workspace.package]\n")
    with pytest.raises(PipelineInputError, match=r"is not a Dynamo checkout: Cargo\.toml has no \[workspace\.package\] version"):
        read_versions(workspace)


@pytest.mark.parametrize(
    ("glob", "path", "matches"),
    [
        ("**/Cargo.toml", "Cargo.toml", True),
        ("**/Cargo.toml", "lib/bindings/python/Cargo.toml", True),
        ("deploy/inference-gateway/standalone/helm/*/Chart.yaml",
         "deploy/inference-gateway/standalone/helm/dynamo-gaie/Chart.yaml", True),
        ("deploy/inference-gateway/standalone/helm/*/Chart.yaml",
         "deploy/inference-gateway/standalone/helm/a/b/Chart.yaml", False),
        ("benchmarks/pyproject.toml", "benchmarks/pyproject.toml", True),
        ("benchmarks/pyproject.toml", "x/benchmarks/pyproject.toml", False),
        ("lib/**", "lib/a/b/c.toml", True),
        ("lib/?/Cargo.toml", "lib/ab/Cargo.toml", False),
    ],
)
def test_glob_match(glob, path, matches):
    assert glob_match(glob, path) is matches


def test_absolute_glob_is_rejected_by_the_context(tmp_path):
    from pipeline.context import DEFAULT_CONTEXT, parse_context

    text = DEFAULT_CONTEXT.read_text().replace('"benchmarks/pyproject.toml",', '"/benchmarks/pyproject.toml",')
    with pytest.raises(PipelineInputError, match=r"mem\.toml \[versions\]: glob '/benchmarks/pyproject\.toml' must be relative"):
        parse_context(text, source="mem.toml")


@pytest.mark.skipif(not Path("/work/upstream/Cargo.toml").is_file(), reason="no upstream checkout on this machine")
def test_upstream_main_has_no_false_alarms():
    """The reference checkout (ai-dynamo/dynamo main, read only) agrees under the shipped context."""
    pins = read_versions(Path("/work/upstream"))
    assert skew(pins, POLICY) == []
    assert sum(POLICY.is_independent(pin.file) for pin in pins) == 5
