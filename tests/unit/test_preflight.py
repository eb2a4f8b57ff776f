"""The checklist runner: all items run, each failure is named with its message."""

from __future__ import annotations

import asyncio

import pytest

from pipeline.errors import CheckFailed
from pipeline.preflight import run_checklist


async def passes() -> None:
    await asyncio.sleep(0)


async def fails(message: str) -> None:
    raise CheckFailed(message)


def test_every_failure_is_reported_with_its_fix() -> None:
    with pytest.raises(CheckFailed) as error:
        asyncio.run(run_checklist({
            "fmt": passes(),
            "licenses": fails("dynamo-llm 1.1.0: GPL-3.0-only not allowed; allow it in deny.toml"),
            "lock files": fails("go.sum: missing; run `go mod tidy`"),
        }))
    text = str(error.value)
    assert text.startswith("2 of 3 preflight items failed:")
    assert "- licenses: dynamo-llm 1.1.0: GPL-3.0-only" in text and "- lock files: go.sum" in text
    assert "fmt" not in text


def test_all_passing_lists_each_item() -> None:
    assert asyncio.run(run_checklist({"a": passes(), "b": passes()})) == "ok  a\nok  b"
