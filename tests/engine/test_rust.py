"""The Rust stage on the real engine against the example workspace."""

from __future__ import annotations

import json
import uuid

import pytest

from pipeline import Dynamo
from pipeline.errors import PipelineInputError


async def touched(dynamo: Dynamo) -> Dynamo:
    """The workspace with one .rs file changed (a new comment), as after an edit."""
    path = "lib/llm/src/lib.rs"
    text = await dynamo.source.file(path).contents()
    edited = dynamo.source.with_new_file(path, f"{text}\n// touched {uuid.uuid4().hex}\n")
    return Dynamo(source=edited, overlay=dynamo.overlay)


async def test_build_then_incremental_rebuild_hits_sccache(dynamo: Dynamo) -> None:
    """A release build yields the binaries and the staticlib; after touching one .rs file the
    rebuild reuses the untouched crates from sccache."""
    first = await dynamo.rust().build()
    artifacts = await first.artifacts.entries()
    assert "dynamo-run" in artifacts and "libdynamo_llm_capi.a" in artifacts
    first_report = json.loads(first.report)
    assert first_report["steps"][0]["name"] == "cargo build"

    rebuilt = await (await touched(dynamo)).rust().build()
    stats = json.loads(rebuilt.report)["sccache"]
    assert stats["hits"] > 0, rebuilt.report
    assert stats["misses"] > 0, rebuilt.report  # the touched crate and its dependents recompiled
    assert 0 < stats["hit_rate"] < 1


async def test_features_reach_cargo(dynamo: Dynamo, dag, offline_context) -> None:
    """A member feature is passed to cargo: dynamo-run reports it at run time."""
    built = await dynamo.rust().build(features=["dynamo-run/cuda", "tokio-console"])
    banner = await (
        dag.container()
        .from_(offline_context.image("python").pinned)
        .with_file("/usr/local/bin/dynamo-run", built.artifacts.file("dynamo-run"))
        .with_exec(["dynamo-run"])
        .stdout()
    )
    assert "device=cuda" in banner and "tokio-console=true" in banner


async def test_rust_tests_pass(dynamo: Dynamo) -> None:
    """cargo test over the workspace runs the crates' tests."""
    run = await dynamo.rust().test()
    assert "test result: ok" in run.output
    assert "FAILED" not in run.output


async def test_fmt_and_clippy_checks_pass(dynamo: Dynamo) -> None:
    """The @check functions succeed on the clean example workspace."""
    await dynamo.rust().fmt()
    await dynamo.rust().clippy()


async def test_unknown_feature_is_refused_before_building(dynamo: Dynamo) -> None:
    with pytest.raises(PipelineInputError, match=r"no feature 'rocm'.*cuda"):
        await dynamo.rust().build(features=["dynamo-run/rocm"])


async def test_unknown_profile_and_bad_target_are_refused(dynamo: Dynamo) -> None:
    with pytest.raises(PipelineInputError, match="unknown profile 'fastest'"):
        await dynamo.rust().build(profile="fastest")
    with pytest.raises(PipelineInputError, match="not a target triple"):
        await dynamo.rust().build(target="x86")


async def test_missing_cargo_toml_is_a_clear_error(dynamo: Dynamo, dag) -> None:
    empty = Dynamo(source=dag.directory().with_new_file("README.md", "not a checkout"), overlay=dynamo.overlay)
    with pytest.raises(PipelineInputError, match="Cargo.toml: not found"):
        await empty.rust().build()


async def test_fmt_check_fails_on_unformatted_code(dynamo: Dynamo) -> None:
    """The fmt check is a real gate: a badly formatted file fails it."""
    import dagger

    path = "lib/runtime/src/lib.rs"
    text = await dynamo.source.file(path).contents()
    unformatted = Dynamo(
        source=dynamo.source.with_new_file(path, text + "\npub fn  badly_spaced( ){ }\n"), overlay=dynamo.overlay
    )
    with pytest.raises(dagger.ExecError, match="exit code: 1"):
        await unformatted.rust().fmt()


async def test_sccache_redis_backend_with_a_secret_password(dynamo: Dynamo, dag, offline_context) -> None:
    """A Redis service as sccache's remote backend, its password a Secret: the second build of
    a fresh edit hits what the first one stored, and the password shows up nowhere."""
    plaintext = f"redis-{uuid.uuid4().hex}"
    password = dag.set_secret("sccache-redis-password", plaintext)
    redis = (
        dag.container()
        .from_(offline_context.image("redis").pinned)
        .with_secret_variable("REDIS_PASSWORD", password)
        .with_exposed_port(6379)
        .as_service(args=["sh", "-c", 'exec redis-server --protected-mode no --requirepass "$REDIS_PASSWORD"'])
    )
    # Started here, so both builds talk to one Redis instance and its memory.
    await redis.start()
    try:
        first = await (await touched(dynamo)).rust().build(sccache_redis=redis, sccache_redis_password=password)
        second = await (await touched(dynamo)).rust().build(sccache_redis=redis, sccache_redis_password=password)
    finally:
        await redis.stop()
    first_stats = json.loads(first.report)["steps"][0]["sccache"]
    second_stats = json.loads(second.report)["steps"][0]["sccache"]
    assert "redis" in first_stats["location"].lower()
    assert first_stats["misses"] > 0
    assert second_stats["hits"] > 0
    for run in (first, second):
        assert plaintext not in run.output and plaintext not in run.report
