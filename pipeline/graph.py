"""build-all's graph: stages as concurrent tasks, each waiting only for the stages it needs.

Plain asyncio (no Dagger import): a stage that fails is recorded with why, the stages that need it
are recorded as skipped, and every other stage still runs to the end, so the report names the
failure and carries everyone else's results. Bad input is refused before the graph starts.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from .preflight import reason
from .report import StageOutcome

T = TypeVar("T")

# Seconds the running stage has spent waiting for the stages it needs (one list per stage task).
_waited: contextvars.ContextVar[list[float]] = contextvars.ContextVar("waited")

# The images build-all builds besides one runtime per framework, by their names in the tag scheme
# (pipeline/refs.py): the frontend, the planner (CPU only), the operator and the EPP.
SIDE_IMAGES = ("frontend", "dynamo-planner-cpu", "operator", "epp")


class DependencyFailed(Exception):
    """A stage could not run because a stage it needs failed or was skipped."""

    def __init__(self, stage: str) -> None:
        super().__init__(f"needs {stage}, which did not succeed")
        self.stage = stage


class Graph:
    """Named stages run as tasks; `need` hands one stage's result to another."""

    def __init__(self) -> None:
        self._tasks: dict[str, asyncio.Task[Any]] = {}
        self.outcomes: list[StageOutcome] = []

    def add(
        self,
        name: str,
        work: Callable[[], Awaitable[T]],
        built_at: Callable[[T], Awaitable[float | None]] | None = None,
    ) -> None:
        """Start stage `name`; `built_at` tells when its result was built (None: not known)."""
        if name in self._tasks:
            raise ValueError(f"stage {name!r} added twice")

        async def run() -> T:
            started, waited = time.monotonic(), [0.0]
            _waited.set(waited)

            def outcome(status: str, error: str = "", ran_at: float | None = None) -> StageOutcome:
                # Its own time: waiting for what it needs is the other stages' time.
                own = time.monotonic() - started - waited[0]
                return StageOutcome(name, status, own, error, ran_at, waited=waited[0])

            try:
                result = await work()
                ran_at = await built_at(result) if built_at is not None else None
            except DependencyFailed as missing:
                self.outcomes.append(outcome("skipped", str(missing)))
                raise
            except Exception as error:
                self.outcomes.append(outcome("failed", reason(error)))
                raise
            self.outcomes.append(outcome("ok", ran_at=ran_at))
            return result

        self._tasks[name] = asyncio.ensure_future(run())

    async def need(self, name: str) -> Any:
        """The result of stage `name`; DependencyFailed when it did not succeed."""
        started = time.monotonic()
        try:
            return await asyncio.shield(self._tasks[name])
        except Exception:
            raise DependencyFailed(name) from None
        finally:
            waited = _waited.get(None)
            if waited is not None:
                waited[0] += time.monotonic() - started

    async def wait(self) -> dict[str, Any]:
        """Wait for every stage; the results of those that succeeded."""
        names = list(self._tasks)
        results = await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        self.outcomes.sort(key=lambda outcome: names.index(outcome.name))
        return {name: result for name, result in zip(names, results, strict=True) if not isinstance(result, BaseException)}

    @property
    def failed(self) -> list[str]:
        """Stages that failed, in the order they were added."""
        return [outcome.name for outcome in self.outcomes if outcome.status == "failed"]


def runtime_image_name(framework: str, cuda_version: str) -> str:
    """A runtime image's name in the tag scheme: `vllm-runtime-cuda12.9`."""
    return f"{framework}-runtime-cuda{cuda_version}"


def failure_summary(outcomes: list[StageOutcome], hint: str = "") -> str:
    """One message naming the failed stages (with why) and the skipped ones, for an error."""
    failed = [outcome for outcome in outcomes if outcome.status == "failed"]
    skipped = [outcome.name for outcome in outcomes if outcome.status == "skipped"]
    passed = [outcome.name for outcome in outcomes if outcome.status == "ok"]
    lines = [f"build-all: {len(failed)} of {len(outcomes)} stages failed: {', '.join(o.name for o in failed)}"]
    if skipped:
        lines.append(f"skipped (a stage they need failed): {', '.join(skipped)}")
    lines.append(f"passed: {', '.join(passed) or 'none'}")
    if hint:
        lines.append(hint)
    for outcome in failed:
        lines.append(f"- {outcome.name}: " + outcome.error.replace("\n", "\n    "))
    return "\n".join(lines)
