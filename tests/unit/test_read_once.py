"""read_once: what stages read from their inputs, once per process and event loop."""

from __future__ import annotations

import asyncio

import pytest

from pipeline.stage import read_once


class Input:
    """Stands for a dagger object: compared by identity only."""


def counting_read(calls: list[str], value: str):
    async def read() -> str:
        calls.append(value)
        await asyncio.sleep(0.01)  # concurrent callers arrive while the first read runs
        return value

    return read


async def test_concurrent_stages_share_one_read_of_the_same_inputs() -> None:
    source, overlay, calls = Input(), Input(), []
    results = await asyncio.gather(*(read_once("version", (source, overlay), counting_read(calls, "1.1.0")) for _ in range(5)))
    assert results == ["1.1.0"] * 5 and calls == ["1.1.0"]
    assert await read_once("version", (source, overlay), counting_read(calls, "again")) == "1.1.0"
    assert calls == ["1.1.0"]


async def test_other_inputs_or_another_read_are_read_again() -> None:
    source, calls = Input(), []
    assert await read_once("version", (source, None), counting_read(calls, "a")) == "a"
    assert await read_once("version", (Input(), None), counting_read(calls, "b")) == "b"
    assert await read_once("context", (source, None), counting_read(calls, "c")) == "c"
    assert calls == ["a", "b", "c"]


async def test_a_failed_read_fails_every_caller_the_same_way() -> None:
    source, calls = Input(), []

    async def broken() -> str:
        calls.append("read")
        raise ValueError("Cargo.toml: not found")

    for _ in range(2):
        with pytest.raises(ValueError, match="Cargo.toml: not found"):
            await read_once("cargo workspace", (source,), broken)
    assert calls == ["read"]


def test_each_event_loop_reads_for_itself() -> None:
    """The CLI runs a loop per command: a result read in one loop is not awaited from another."""
    source, calls = Input(), []
    first = asyncio.run(read_once("context", (source,), counting_read(calls, "x")))
    second = asyncio.run(read_once("context", (source,), counting_read(calls, "y")))
    assert (first, second) == ("x", "y") and calls == ["x", "y"]
