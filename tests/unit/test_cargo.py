"""Cargo workspace facts checked before a build (pipeline/cargo.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.cargo import (
    BUILTIN_PROFILES,
    CargoWorkspace,
    check_target_triple,
    parse_manifest,
    profile_dir,
)
from pipeline.errors import PipelineInputError

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "mini-dynamo"
ROOT = "Cargo.toml"

MEMBER = """\
[package]
name = "{name}"
version = "0.1.0"

[features]
{features}
"""


def member(name: str, *features: str) -> str:
    """A minimal member manifest with the given features."""
    return MEMBER.format(name=name, features="\n".join(f"{f} = []" for f in features))


@pytest.fixture(scope="module")
def root_text() -> str:
    return (EXAMPLE / "Cargo.toml").read_text()


@pytest.fixture(scope="module")
def workspace(root_text: str) -> CargoWorkspace:
    """The example workspace, read the way the Rust stage reads it."""
    dirs = CargoWorkspace.member_dirs(ROOT, root_text)
    texts = {d: (EXAMPLE / d / "Cargo.toml").read_text() for d in dirs}
    return CargoWorkspace.from_manifests(ROOT, root_text, texts)


# --- the example workspace -------------------------------------------------------------------


def test_member_dirs_of_example(root_text: str) -> None:
    """The [workspace] members list, in order; the Python bindings are not a member, their codegen is."""
    assert CargoWorkspace.member_dirs(ROOT, root_text) == [
        "lib/runtime",
        "lib/llm",
        "launch/dynamo-run",
        "lib/bindings/c",
        "lib/bindings/python/codegen",
    ]


def test_example_members_and_features(workspace: CargoWorkspace) -> None:
    """Package names come from [package] name, features from [features] (incl. default)."""
    assert workspace.manifest == ROOT
    assert workspace.members == {
        "dynamo-runtime": frozenset({"tokio-console"}),
        "dynamo-llm": frozenset({"media-ffmpeg"}),
        "dynamo-run": frozenset({"default", "cuda", "metal", "tokio-console"}),
        "libdynamo_llm": frozenset(),
        "dynamo-codegen": frozenset(),
    }


def test_example_profiles(workspace: CargoWorkspace) -> None:
    """Built-in profiles are always offered; [profile.release] adds nothing new."""
    assert workspace.profiles == frozenset(BUILTIN_PROFILES)


@pytest.mark.parametrize(
    "features",
    [
        [],
        ["cuda"],
        ["dynamo-run/cuda"],
        ["dynamo-runtime/tokio-console", "dynamo-run/metal"],
        ["tokio-console"],
    ],
)
def test_known_features_pass(workspace: CargoWorkspace, features: list[str]) -> None:
    """Qualified and bare features that a member has are accepted."""
    assert workspace.check_features(features) is None


@pytest.mark.parametrize("profile", ["dev", "release", "test", "bench"])
def test_builtin_profiles_pass(workspace: CargoWorkspace, profile: str) -> None:
    assert workspace.check_profile(profile) is None


# --- bad manifests ---------------------------------------------------------------------------


def test_parse_manifest_reads_toml() -> None:
    assert parse_manifest('[package]\nname = "x"\n', "x/Cargo.toml") == {"package": {"name": "x"}}


def test_malformed_root_names_the_file() -> None:
    with pytest.raises(PipelineInputError, match=r"^some/Cargo\.toml: not valid TOML"):
        parse_manifest("[workspace\nmembers = [", "some/Cargo.toml")


def test_malformed_member_names_the_member_file(root_text: str) -> None:
    with pytest.raises(PipelineInputError, match=r"^lib/llm/Cargo\.toml: not valid TOML"):
        CargoWorkspace.from_manifests(ROOT, root_text, {"lib/llm": "[package\nname = 'x'"})


def test_member_dirs_malformed_names_the_file() -> None:
    with pytest.raises(PipelineInputError, match=r"^Cargo\.toml: not valid TOML"):
        CargoWorkspace.member_dirs(ROOT, "members = [")


@pytest.mark.parametrize(
    "text",
    ['[package]\nversion = "1.0.0"\n', "[features]\nx = []\n", '[package]\nname = ""\n'],
    ids=["no-name", "no-package", "empty-name"],
)
def test_member_without_package_name(root_text: str, text: str) -> None:
    with pytest.raises(PipelineInputError, match=r"^lib/llm/Cargo\.toml: no \[package\] name"):
        CargoWorkspace.from_manifests(ROOT, root_text, {"lib/llm": text})


def test_root_package_without_name() -> None:
    with pytest.raises(PipelineInputError, match=r"Cargo\.toml"):
        CargoWorkspace.from_manifests(ROOT, '[package]\nversion = "1.0.0"\n', {})


def test_member_dirs_single_package_root() -> None:
    """A root that is only a [package] has no members to expand."""
    assert CargoWorkspace.member_dirs(ROOT, '[package]\nname = "solo"\n') == []


def test_member_dirs_neither_workspace_nor_package() -> None:
    with pytest.raises(PipelineInputError, match=r"^Cargo\.toml: neither a \[workspace\] with members nor a \[package\]"):
        CargoWorkspace.member_dirs(ROOT, '[dependencies]\nserde = "1"\n')


def test_root_package_counts_as_member() -> None:
    """A root [package] is a member too, with its own features."""
    ws = CargoWorkspace.from_manifests(
        ROOT, '[package]\nname = "top"\n[features]\nfast = []\n', {"sub": member("sub", "slow")}
    )
    assert ws.members == {"top": frozenset({"fast"}), "sub": frozenset({"slow"})}
    ws.check_features(["top/fast", "slow"])


# --- bad requests ----------------------------------------------------------------------------


def test_unknown_package_lists_members(workspace: CargoWorkspace) -> None:
    with pytest.raises(PipelineInputError) as raised:
        workspace.check_features(["dynamo-typo/cuda"])
    message = str(raised.value)
    assert message.startswith("Cargo.toml: feature 'dynamo-typo/cuda' names unknown package 'dynamo-typo'")
    assert "members: dynamo-codegen, dynamo-llm, dynamo-run, dynamo-runtime, libdynamo_llm" in message


def test_unknown_feature_lists_package_features(workspace: CargoWorkspace) -> None:
    with pytest.raises(PipelineInputError) as raised:
        workspace.check_features(["dynamo-run/rocm"])
    assert str(raised.value) == (
        "Cargo.toml: package 'dynamo-run' has no feature 'rocm'; its features: cuda, default, metal, tokio-console"
    )


def test_unknown_feature_of_featureless_package(workspace: CargoWorkspace) -> None:
    with pytest.raises(PipelineInputError, match=r"package 'libdynamo_llm' has no feature 'cuda'; its features: none$"):
        workspace.check_features(["libdynamo_llm/cuda"])


def test_bare_feature_no_member_has(workspace: CargoWorkspace) -> None:
    with pytest.raises(PipelineInputError) as raised:
        workspace.check_features(["cuda", "rocm"])
    message = str(raised.value)
    assert message.startswith("Cargo.toml: no member has feature 'rocm'; features: ")
    assert "dynamo-run/cuda" in message and "dynamo-runtime/tokio-console" in message


def test_bare_feature_when_no_member_has_any() -> None:
    ws = CargoWorkspace.from_manifests(ROOT, '[workspace]\nmembers = ["a"]\n', {"a": member("a")})
    with pytest.raises(PipelineInputError, match=r"no member has feature 'x'; features: none$"):
        ws.check_features(["x"])


def test_optional_dependency_is_a_feature() -> None:
    text = '[package]\nname = "a"\n[dependencies]\nserde = { version = "1", optional = true }\n'
    ws = CargoWorkspace.from_manifests(ROOT, '[workspace]\nmembers = ["a"]\n', {"a": text})
    ws.check_features(["a/serde"])


def test_unknown_profile_lists_profiles_including_custom() -> None:
    root = '[workspace]\nmembers = []\n[profile.release-lto]\ninherits = "release"\nlto = true\n'
    ws = CargoWorkspace.from_manifests(ROOT, root, {})
    ws.check_profile("release-lto")
    with pytest.raises(PipelineInputError) as raised:
        ws.check_profile("releases")
    assert str(raised.value) == (
        "Cargo.toml: unknown profile 'releases'; profiles: bench, dev, release, release-lto, test"
    )


# --- target triples and profile directories --------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "x86_64-unknown-linux-gnu",
        "aarch64-unknown-linux-gnu",
        "x86_64-unknown-linux-musl",
        "aarch64-apple-darwin",
        "wasm32-unknown-unknown",
        "armv7-unknown-linux-gnueabihf",
        "x86_64-pc-windows-msvc",
    ],
)
def test_good_target_triples(target: str) -> None:
    assert check_target_triple(target) is None


@pytest.mark.parametrize(
    "target",
    [
        "",
        "x86_64",
        "linux",
        "X86_64-unknown-linux-gnu",
        "x86_64-unknown-linux-gnu-extra-part",
        "x86_64 unknown linux gnu",
        "x86_64-unknown-linux-gnu ",
        "x86_64--linux-gnu",
        "--release",
        "x86_64-unknown-linux-gnu;rm",
    ],
)
def test_bad_target_triples(target: str) -> None:
    with pytest.raises(PipelineInputError, match="is not a target triple such as x86_64-unknown-linux-gnu"):
        check_target_triple(target)


def test_trailing_newline_is_not_a_triple() -> None:
    with pytest.raises(PipelineInputError):
        check_target_triple("x86_64-unknown-linux-gnu\n")


@pytest.mark.parametrize("target", ["wasm32-wasip1", "thumbv8m.main-none-eabihf", "avr-none"])
def test_real_rustc_targets_with_two_parts_or_dots_are_accepted(target: str) -> None:
    check_target_triple(target)


@pytest.mark.parametrize(
    ("profile", "directory"),
    [("dev", "debug"), ("test", "debug"), ("release", "release"), ("release-lto", "release-lto")],
)
def test_profile_dir(profile: str, directory: str) -> None:
    assert profile_dir(profile) == directory


def test_profile_dir_bench_is_release() -> None:
    assert profile_dir("bench") == "release"


def test_the_builders_own_triple_takes_no_target_argument():
    """With `--target`, cargo compiles the crates build scripts and code both use twice; the
    builder's own triple needs none. Other triples keep it, and their own artifact directory."""
    from pipeline.rust import DEFAULT_TARGET, TARGET_DIR, target_args

    assert target_args(DEFAULT_TARGET, "dev") == ([], f"{TARGET_DIR}/debug")
    assert target_args(DEFAULT_TARGET, "release") == ([], f"{TARGET_DIR}/release")
    assert target_args("aarch64-unknown-linux-gnu", "dev") == (
        ["--target", "aarch64-unknown-linux-gnu"], f"{TARGET_DIR}/aarch64-unknown-linux-gnu/debug")
