"""The build report: each step's duration and cache statistics, and whether it ran or came from the cache.

Plain Python: stages add steps, `build-all` merges the reports of its stages and adds its stage
outcomes and image sizes. A step whose exec writes the time it ran (`ran_at`, seconds since the
epoch, on the engine's clock) is marked cached when that time is before the session started: the
engine served an earlier run's result, so its sccache counters are that run's, not this one's.
"""

from __future__ import annotations

import datetime
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


def is_cached(ran_at: float | None, session_start: float | None) -> bool | None:
    """Whether a result was built before the session started (None: not known).

    `ran_at` is written inside the exec to the nanosecond (stamps of older versions: whole seconds,
    rounded down, so still before the session that followed them): a result built in this session
    has ran_at >= the session start, one from an earlier run is older, even when that run probed its
    last result in the second this session started.
    """
    if ran_at is None or session_start is None:
        return None
    return ran_at < session_start


def utc(seconds: float) -> str:
    """Seconds since the epoch as RFC 3339 UTC, to the second."""
    return datetime.datetime.fromtimestamp(seconds, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Step:
    """One step: what ran, for how long, what its caches did, and when its exec ran (if it says)."""

    name: str
    seconds: float
    cache: CacheStats | None = None
    ran_at: float | None = None

    def as_dict(self, session_start: float | None = None) -> dict[str, Any]:
        """JSON-ready form; given the session start, a cached step says so and keeps its counters apart."""
        entry: dict[str, Any] = {"name": self.name, "seconds": round(self.seconds, 3)}
        if self.ran_at is not None:
            entry["ran_at"] = utc(self.ran_at)
        cached = is_cached(self.ran_at, session_start)
        if cached is not None:
            entry["cached"] = cached
        if self.cache is not None:
            # A cached step's counters are those of the run that built it: not this run's work.
            entry["sccache_when_built" if cached else "sccache"] = self.cache.as_dict()
        return entry


@dataclass(frozen=True)
class StageOutcome:
    """One stage of build-all: ok, failed (with why) or skipped (a stage it needs failed)."""

    name: str
    status: str  # "ok", "failed", "skipped"
    seconds: float
    error: str = ""
    ran_at: float | None = None  # when its result was built, from a stamp written inside an exec
    waited: float = 0.0  # seconds spent waiting for the stages it needs (not in `seconds`)

    def as_dict(self, session_start: float | None) -> dict[str, Any]:
        """JSON-ready form, with `cached` when the build time is known."""
        entry: dict[str, Any] = {
            "name": self.name, "status": self.status, "seconds": round(self.seconds, 3),
            "waited_seconds": round(self.waited, 3),
        }  # fmt: skip
        if self.ran_at is not None:
            entry["built_at"] = utc(self.ran_at)
        cached = is_cached(self.ran_at, session_start)
        if cached is not None:
            entry["cached"] = cached
        if self.error:
            entry["error"] = self.error
        return entry


@dataclass(frozen=True)
class ScanSummary:
    """One image's scan in build-all's report: whether it passed, and whether vulnerabilities were checked."""

    passed: bool
    not_checked: str = ""  # empty when vulnerabilities were checked; else why not

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        entry: dict[str, Any] = {"passed": self.passed, "vulnerabilities_checked": not self.not_checked}
        if self.not_checked:
            entry["note"] = self.not_checked
        return entry


@dataclass
class BuildReport:
    """Steps in the order they finished; for build-all also its stages' outcomes, image sizes and scans."""

    steps: list[Step] = field(default_factory=list)
    stages: list[StageOutcome] = field(default_factory=list)
    image_bytes: dict[str, int] = field(default_factory=dict)
    scans: dict[str, ScanSummary] = field(default_factory=dict)
    session_start: float | None = None
    wall_seconds: float | None = None

    async def timed(self, name: str, work: Awaitable[T]) -> T:
        """Await `work` and record how long it took under `name`."""
        started = time.monotonic()
        result = await work
        self.steps.append(Step(name, time.monotonic() - started))
        return result

    def add(self, step: Step) -> None:
        """Record a step measured elsewhere."""
        self.steps.append(step)

    @property
    def failed(self) -> list[str]:
        """The stages that failed (not those skipped because of them)."""
        return [stage.name for stage in self.stages if stage.status == "failed"]

    @property
    def _used_sccache(self) -> bool:
        """Whether any step ran with sccache (without a shared backend the builds run without it)."""
        return any(step.cache is not None for step in self.steps)

    def _this_run_caches(self) -> CacheStats:
        """sccache counters summed over the steps that ran in this session (cached ones excluded)."""
        caches = [s.cache for s in self.steps if s.cache is not None and not is_cached(s.ran_at, self.session_start)]
        return CacheStats(sum(c.hits for c in caches), sum(c.misses for c in caches))

    def as_dict(self) -> dict[str, Any]:
        """The report as a dict: steps, total seconds, summed cache counters; stages and images when known."""
        data: dict[str, Any] = {}
        if self.session_start is not None:
            data["started"] = utc(self.session_start)
        if self.wall_seconds is not None:
            data["wall_seconds"] = round(self.wall_seconds, 3)
        if self.stages:
            data["failed"] = self.failed
            data["stages"] = [stage.as_dict(self.session_start) for stage in self.stages]
        if self.image_bytes:
            data["images"] = {name: {"bytes": size} for name, size in sorted(self.image_bytes.items())}
        if self.scans:
            data["scans"] = {name: scan.as_dict() for name, scan in sorted(self.scans.items())}
        data["steps"] = [step.as_dict(self.session_start) for step in self.steps]
        data["total_seconds"] = round(sum(step.seconds for step in self.steps), 3)
        if self._used_sccache:
            data["sccache"] = self._this_run_caches().as_dict() | {"location": ""}
        return data

    def to_json(self) -> str:
        """The report as JSON (see `as_dict`)."""
        return json.dumps(self.as_dict(), indent=2)

    def to_markdown(self) -> str:
        """The report for people: one row per stage, then per step, with cached results marked."""
        lines = ["# build-all report", ""]
        if self.session_start is not None:
            wall = f", {self.wall_seconds:.1f} s wall" if self.wall_seconds is not None else ""
            lines.append(f"Started {utc(self.session_start)}{wall}.")
        if self.failed:
            lines.append(f"**Failed: {', '.join(self.failed)}.**")
        elif self.stages:
            lines.append("Every stage passed.")
        lines.append("")
        if self.stages:
            lines += [
                "| stage | status | seconds | waited for inputs | cached | image size (uncompressed) |",
                "|---|---|---:|---:|---|---:|",
            ]
            for stage in self.stages:
                size = self.image_bytes.get(stage.name.split(" ", 1)[-1]) if stage.name.startswith("image ") else None
                lines.append(
                    f"| {stage.name} | {stage.status} | {stage.seconds:.1f} | {stage.waited:.1f} | "
                    f"{_cached_cell(stage.ran_at, self.session_start)} | {_megabytes(size)} |"
                )
            lines.append("")
        sccache = self._used_sccache
        lines += ["| step | seconds | cached |" + (" sccache hits / misses |" if sccache else ""),
                  "|---|---:|---|" + ("---|" if sccache else "")]
        for step in self.steps:
            row = f"| {step.name} | {step.seconds:.1f} | {_cached_cell(step.ran_at, self.session_start)} |"
            if sccache:
                counters = "" if step.cache is None else f"{step.cache.hits} / {step.cache.misses}"
                if counters and is_cached(step.ran_at, self.session_start):
                    counters += " (when built)"
                row += f" {counters} |"
            lines.append(row)
        if sccache:
            totals = self._this_run_caches()
            lines += ["", f"sccache in this run: {totals.hits} hits, {totals.misses} misses."]
        if self.scans:
            lines += ["", "## Scans", "", "| image | gate | vulnerabilities |", "|---|---|---|"]
            for name, scan in sorted(self.scans.items()):
                checked = scan.not_checked or "checked"
                lines.append(f"| {name} | {'passed' if scan.passed else 'blocked'} | {checked} |")
        problems = [stage for stage in self.stages if stage.error]
        if problems:
            lines += ["", "## Failures", ""]
            for stage in problems:
                lines += [f"### {stage.name} ({stage.status})", "", "```", stage.error, "```", ""]
        return "\n".join(lines).rstrip() + "\n"

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
                    _epoch(entry["ran_at"]) if "ran_at" in entry else None,
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
            merged.steps += [
                Step(f"{stage}/{step.name}", step.seconds, step.cache, step.ran_at) for step in report.steps
            ]
        return merged


def _epoch(text: str) -> float:
    """The inverse of `utc`."""
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.UTC).timestamp()


def _cached_cell(ran_at: float | None, session_start: float | None) -> str:
    cached = is_cached(ran_at, session_start)
    if cached is None:
        return "not recorded"
    return f"cached (built {utc(ran_at)})" if cached else "ran"


def _megabytes(size: int | None) -> str:
    return "" if size is None else f"{size / 1e6:.1f} MB"
