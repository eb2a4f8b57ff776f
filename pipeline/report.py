"""The machine-readable build report: each step's duration and cache statistics.

Plain Python: stages add steps, `build-all` merges the reports of its stages.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

from .errors import PipelineInputError

T = TypeVar("T")


@dataclass(frozen=True)
class CacheStats:
    """Compiler cache counters for one step (sccache)."""

    hits: int
    misses: int
    location: str = ""

    @property
    def hit_rate(self) -> float:
        """Hits over cacheable compilations (0 when nothing was compiled)."""
        total = self.hits + self.misses
        return self.hits / total if total else 0.0

    @classmethod
    def from_sccache_json(cls, text: str) -> CacheStats:
        """Parse `sccache --show-stats --stats-format json`."""
        try:
            data = json.loads(text)
            stats = data["stats"]
            hits = sum(stats["cache_hits"]["counts"].values())
            misses = sum(stats["cache_misses"]["counts"].values())
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise PipelineInputError(f"sccache statistics are not in the expected JSON form: {error}") from None
        return cls(hits=hits, misses=misses, location=data.get("cache_location", ""))

    def as_dict(self) -> dict[str, Any]:
        """Counters plus the derived hit rate."""
        return {**asdict(self), "hit_rate": round(self.hit_rate, 4)}


@dataclass(frozen=True)
class Step:
    """One step: what ran, for how long, and what its caches did."""

    name: str
    seconds: float
    cache: CacheStats | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        entry: dict[str, Any] = {"name": self.name, "seconds": round(self.seconds, 3)}
        if self.cache is not None:
            entry["sccache"] = self.cache.as_dict()
        return entry


@dataclass
class BuildReport:
    """Steps in the order they finished."""

    steps: list[Step] = field(default_factory=list)

    async def timed(self, name: str, work: Awaitable[T]) -> T:
        """Await `work` and record how long it took under `name`."""
        started = time.monotonic()
        result = await work
        self.steps.append(Step(name, time.monotonic() - started))
        return result

    def add(self, step: Step) -> None:
        """Record a step measured elsewhere."""
        self.steps.append(step)

    def to_json(self) -> str:
        """The report as JSON: steps, total seconds and summed cache counters."""
        caches = [step.cache for step in self.steps if step.cache is not None]
        totals = CacheStats(sum(c.hits for c in caches), sum(c.misses for c in caches))
        return json.dumps(
            {
                "steps": [step.as_dict() for step in self.steps],
                "total_seconds": round(sum(step.seconds for step in self.steps), 3),
                "sccache": totals.as_dict() | {"location": ""},
            },
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str) -> BuildReport:
        """Read a report written by `to_json` (e.g. to merge stage reports)."""
        try:
            data = json.loads(text)
            steps = [
                Step(
                    entry["name"],
                    float(entry["seconds"]),
                    CacheStats(entry["sccache"]["hits"], entry["sccache"]["misses"], entry["sccache"]["location"])
                    if "sccache" in entry
                    else None,
                )
                for entry in data["steps"]
            ]
        except (ValueError, KeyError, TypeError) as error:
            raise PipelineInputError(f"not a build report: {error}") from None
        return cls(steps)

    @classmethod
    def merge(cls, reports: Mapping[str, BuildReport]) -> BuildReport:
        """One report from the reports of named stages; step names become "stage/step"."""
        merged = cls()
        for stage, report in reports.items():
            merged.steps += [Step(f"{stage}/{step.name}", step.seconds, step.cache) for step in report.steps]
        return merged
