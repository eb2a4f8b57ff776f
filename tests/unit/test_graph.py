"""build-all's graph runner and failure summary (pipeline/graph.py): plain asyncio, no engine."""

from __future__ import annotations

import asyncio

import pytest

from pipeline.graph import DependencyFailed, Graph, failure_summary, runtime_image_name


async def test_independent_stages_run_concurrently_and_hand_results_on() -> None:
    graph = Graph()
    order: list[str] = []

    async def slow(name: str, seconds: float) -> str:
        await asyncio.sleep(seconds)
        order.append(name)
        return name

    async def needs_both() -> str:
        return "+".join([await graph.need("a"), await graph.need("b")])

    graph.add("a", lambda: slow("a", 0.05))
    graph.add("b", lambda: slow("b", 0.01))
    graph.add("a+b", needs_both)
    results = await graph.wait()
    assert results == {"a": "a", "b": "b", "a+b": "a+b"}
    assert order == ["b", "a"]  # b did not wait for a
    assert [outcome.name for outcome in graph.outcomes] == ["a", "b", "a+b"]  # reported in the order added
    assert all(outcome.status == "ok" for outcome in graph.outcomes)
    assert graph.failed == []


async def test_a_failure_is_named_its_dependents_skipped_and_the_rest_still_run() -> None:
    graph = Graph()
    finished: list[str] = []

    async def broken() -> None:
        raise RuntimeError("cargo build exited 101\nerror[E0308]: mismatched types")

    async def needs_broken() -> None:
        await graph.need("rust-build")
        finished.append("never")

    async def independent() -> str:
        await asyncio.sleep(0.02)
        finished.append("go")
        return "binaries"

    graph.add("rust-build", broken)
    graph.add("image operator", needs_broken)
    graph.add("go", independent)
    results = await graph.wait()
    assert results == {"go": "binaries"}
    assert finished == ["go"]
    outcomes = {outcome.name: outcome for outcome in graph.outcomes}
    assert outcomes["rust-build"].status == "failed" and "mismatched types" in outcomes["rust-build"].error
    assert outcomes["image operator"].status == "skipped"
    assert outcomes["image operator"].error == "needs rust-build, which did not succeed"
    assert outcomes["go"].status == "ok"
    assert graph.failed == ["rust-build"]


async def test_built_at_is_recorded_for_a_stage_that_succeeded() -> None:
    graph = Graph()

    async def stamp(result: str) -> float:
        return 1_700_000_000.0 if result == "old" else 1_800_000_000.0

    async def old() -> str:
        return "old"

    graph.add("cached", old, stamp)
    await graph.wait()
    assert graph.outcomes[0].ran_at == 1_700_000_000.0


async def test_need_of_a_skipped_stage_skips_too() -> None:
    graph = Graph()

    async def fails() -> None:
        raise ValueError("boom")

    async def chain(dependency: str) -> None:
        await graph.need(dependency)

    graph.add("wheels", fails)
    graph.add("image frontend", lambda: chain("wheels"))
    graph.add("scan frontend", lambda: chain("image frontend"))
    await graph.wait()
    assert [(o.name, o.status) for o in graph.outcomes] == [
        ("wheels", "failed"), ("image frontend", "skipped"), ("scan frontend", "skipped")]
    with pytest.raises(DependencyFailed, match="needs wheels"):
        await graph.need("wheels")


def test_a_stage_is_added_once() -> None:
    async def run() -> None:
        graph = Graph()

        async def nothing() -> None:
            return None

        graph.add("go", nothing)
        with pytest.raises(ValueError, match="stage 'go' added twice"):
            graph.add("go", nothing)
        await graph.wait()

    asyncio.run(run())


async def test_failure_summary_names_failed_skipped_and_passed() -> None:
    graph = Graph()

    async def blocked() -> None:
        raise RuntimeError("scan of dynamo-runtime-cuda12.9: 1 finding at or above HIGH\nCVE-2099-0001 base-files")

    async def ok() -> str:
        return "ok"

    async def after() -> None:
        await graph.need("scan dynamo-runtime-cuda12.9")

    graph.add("image operator", ok)
    graph.add("scan dynamo-runtime-cuda12.9", blocked)
    graph.add("publish", after)
    await graph.wait()
    text = failure_summary(graph.outcomes, "rerun with --keep-going")
    lines = text.splitlines()
    assert lines[0] == "build-all: 1 of 3 stages failed: scan dynamo-runtime-cuda12.9"
    assert lines[1] == "skipped (a stage they need failed): publish"
    assert lines[2] == "passed: image operator"
    assert lines[3] == "rerun with --keep-going"
    assert lines[4] == "- scan dynamo-runtime-cuda12.9: scan of dynamo-runtime-cuda12.9: 1 finding at or above HIGH"
    assert lines[5] == "    CVE-2099-0001 base-files"


def test_runtime_image_names_follow_the_tag_scheme() -> None:
    from pipeline.context import load_context
    from pipeline.refs import variant_tags

    name = runtime_image_name("dynamo", "12.9")
    assert name == "dynamo-runtime-cuda12.9"
    assert variant_tags(name, "0123abcd", None, load_context()) == ["0123abcd-dynamo-runtime-cuda12"]


async def test_a_stages_time_is_its_own_not_the_time_it_waited_for_inputs() -> None:
    graph = Graph()

    async def inputs() -> None:
        await asyncio.sleep(0.2)

    async def image() -> None:
        await graph.need("wheels")
        await asyncio.sleep(0.02)

    graph.add("wheels", inputs)
    graph.add("image", image)
    await graph.wait()
    outcome = next(o for o in graph.outcomes if o.name == "image")
    assert 0.15 <= outcome.waited < 1 and 0.015 <= outcome.seconds < 0.15
