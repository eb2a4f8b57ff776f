"""The build report and sccache statistics (pipeline/report.py)."""

from __future__ import annotations

import asyncio
import json

import pytest

from pipeline.errors import PipelineInputError
from pipeline.report import BuildReport, CacheStats, Step

# Real output of `sccache --show-stats --stats-format json` (sccache 0.14.0, nothing compiled yet).
SCCACHE_EMPTY = (
    '{"stats":{"compile_requests":0,"requests_unsupported_compiler":0,"requests_not_compile":0,'
    '"requests_not_cacheable":0,"requests_executed":0,"cache_errors":{"counts":{},"adv_counts":{}},'
    '"cache_hits":{"counts":{},"adv_counts":{}},"cache_misses":{"counts":{},"adv_counts":{}},'
    '"cache_timeouts":0,"cache_read_errors":0,"non_cacheable_compilations":0,"forced_recaches":0,'
    '"cache_write_errors":0,"cache_writes":0,"cache_write_duration":{"secs":0,"nanos":0},'
    '"cache_read_hit_duration":{"secs":0,"nanos":0},"compilations":0,'
    '"compiler_write_duration":{"secs":0,"nanos":0},"compile_fails":0,"not_cached":{},'
    '"dist_compiles":{},"dist_errors":0},"cache_location":"Local disk: \\"/tmp/sccd\\"",'
    '"cache_size":null,"max_cache_size":10737418240,"use_preprocessor_cache_mode":true,'
    '"version":"0.14.0","basedirs":[]}'
)


def sccache_with(hits: dict[str, int], misses: dict[str, int]) -> str:
    """The real output with per-language hit and miss counts filled in."""
    data = json.loads(SCCACHE_EMPTY)
    data["stats"]["cache_hits"]["counts"] = hits
    data["stats"]["cache_misses"]["counts"] = misses
    return json.dumps(data)


# --- CacheStats ------------------------------------------------------------------------------


def test_empty_sccache_output() -> None:
    stats = CacheStats.from_sccache_json(SCCACHE_EMPTY)
    assert stats == CacheStats(hits=0, misses=0, location='Local disk: "/tmp/sccd"')


def test_counts_are_summed_over_languages() -> None:
    stats = CacheStats.from_sccache_json(sccache_with({"Rust": 5}, {"Rust": 2, "C/C++": 1}))
    assert (stats.hits, stats.misses) == (5, 3)
    assert stats.hit_rate == pytest.approx(5 / 8)


def test_missing_location_is_empty() -> None:
    data = json.loads(SCCACHE_EMPTY)
    del data["cache_location"]
    assert CacheStats.from_sccache_json(json.dumps(data)).location == ""


@pytest.mark.parametrize(
    ("hits", "misses", "rate"),
    [(0, 0, 0.0), (0, 4, 0.0), (4, 0, 1.0), (1, 3, 0.25)],
)
def test_hit_rate(hits: int, misses: int, rate: float) -> None:
    """Hits over hits + misses; no division by zero when nothing was compiled."""
    assert CacheStats(hits, misses).hit_rate == rate


def test_as_dict_rounds_hit_rate() -> None:
    assert CacheStats(1, 2, "here").as_dict() == {"hits": 1, "misses": 2, "location": "here", "hit_rate": 0.3333}


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not json",
        "Compile requests 0\nCache hits 0\n",
        "[]",
        "null",
        "{}",
        '{"stats": {}}',
        '{"stats": {"cache_hits": {"counts": {}}}}',
        '{"stats": {"cache_hits": {"counts": []}, "cache_misses": {"counts": {}}}}',
        '{"stats": {"cache_hits": {"counts": {"Rust": "5"}}, "cache_misses": {"counts": {}}}}',
    ],
    ids=["empty", "not-json", "text-format", "list", "null", "no-stats", "no-hits", "no-misses",
         "counts-list", "count-string"],
)
def test_malformed_sccache_output(text: str) -> None:
    with pytest.raises(PipelineInputError, match="sccache statistics are not in the expected JSON form"):
        CacheStats.from_sccache_json(text)


# --- Step and BuildReport --------------------------------------------------------------------


def test_step_as_dict() -> None:
    assert Step("a", 1.23456).as_dict() == {"name": "a", "seconds": 1.235}
    assert Step("b", 2, CacheStats(1, 1, "x")).as_dict()["sccache"] == {
        "hits": 1, "misses": 1, "location": "x", "hit_rate": 0.5,
    }


async def test_timed_records_the_step_and_returns_the_result() -> None:
    report = BuildReport()

    async def work() -> str:
        await asyncio.sleep(0.02)
        return "done"

    assert await report.timed("sleep", work()) == "done"
    assert [step.name for step in report.steps] == ["sleep"]
    assert 0.015 <= report.steps[0].seconds < 5
    assert report.steps[0].cache is None


async def test_timed_lets_errors_through() -> None:
    report = BuildReport()

    async def fail() -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await report.timed("fails", fail())


def test_add_keeps_order() -> None:
    report = BuildReport()
    report.add(Step("one", 1.0))
    report.add(Step("two", 2.0, CacheStats(1, 0)))
    assert [step.name for step in report.steps] == ["one", "two"]


def test_to_json_totals() -> None:
    report = BuildReport(
        [
            Step("maturin build", 10.25, CacheStats(5, 3, "redis://cache")),
            Step("auditwheel repair", 1.5),
            Step("cargo build", 4.0004, CacheStats(3, 1, "Local disk")),
        ]
    )
    data = json.loads(report.to_json())
    assert [step["name"] for step in data["steps"]] == ["maturin build", "auditwheel repair", "cargo build"]
    assert "sccache" not in data["steps"][1]
    assert data["steps"][2]["seconds"] == 4.0
    assert data["total_seconds"] == 15.75
    assert data["sccache"] == {"hits": 8, "misses": 4, "location": "", "hit_rate": 0.6667}


def test_to_json_of_empty_report() -> None:
    data = json.loads(BuildReport().to_json())
    assert data == {"steps": [], "total_seconds": 0}


def test_a_report_without_sccache_has_no_sccache_counters() -> None:
    """Without a shared backend the builds run without sccache: no zero counters that look measured."""
    report = BuildReport([Step("cargo build", 3.0, ran_at=SESSION + 1), Step("maturin build", 2.0)], session_start=SESSION)
    assert "sccache" not in json.loads(report.to_json())
    markdown = report.to_markdown()
    assert "sccache" not in markdown
    assert "| step | seconds | cached |\n|---|---:|---|\n| cargo build | 3.0 | ran |" in markdown


def test_from_json_round_trip() -> None:
    report = BuildReport([Step("a", 1.5, CacheStats(2, 2, "disk")), Step("b", 0.25)])
    again = BuildReport.from_json(report.to_json())
    assert again.steps == report.steps
    assert again.to_json() == report.to_json()


@pytest.mark.parametrize(
    "text",
    ["", "[]", "{}", '{"steps": [{"seconds": 1}]}', '{"steps": [{"name": "a", "seconds": "x"}]}',
     '{"steps": [{"name": "a", "seconds": 1, "sccache": {"hits": 1}}]}'],
    ids=["empty", "list", "no-steps", "no-name", "bad-seconds", "partial-sccache"],
)
def test_from_json_rejects_non_reports(text: str) -> None:
    with pytest.raises(PipelineInputError, match="not a build report"):
        BuildReport.from_json(text)


def test_merge_with_prefixes() -> None:
    rust = BuildReport([Step("cargo build", 3.0, CacheStats(1, 2))])
    wheels = BuildReport([Step("maturin build", 2.0), Step("uv build --wheel", 1.0)])
    merged = BuildReport.merge({"rust": rust, "wheels": wheels})
    assert [step.name for step in merged.steps] == ["rust/cargo build", "wheels/maturin build", "wheels/uv build --wheel"]
    assert merged.steps[0].cache == CacheStats(1, 2)
    assert json.loads(merged.to_json())["total_seconds"] == 6.0
    # The inputs are left as they were.
    assert [step.name for step in rust.steps] == ["cargo build"]


def test_merge_keeps_same_named_steps_of_different_stages_apart() -> None:
    merged = BuildReport.merge({"x": BuildReport([Step("a", 1.0)]), "y": BuildReport([Step("a", 2.0)])})
    assert [(step.name, step.seconds) for step in merged.steps] == [("x/a", 1.0), ("y/a", 2.0)]


def test_merge_of_nothing_is_empty() -> None:
    assert BuildReport.merge({}).steps == []


# --- Cached results: a time written inside the exec against the session start ------------------

SESSION = 1_800_000_000.6  # when build-all started (host clock, fractional)


@pytest.mark.parametrize(
    ("ran_at", "session_start", "cached"),
    [
        (1_799_999_000.0, SESSION, True),  # built by an earlier run: the engine served it
        (1_800_000_000.58, SESSION, True),  # probed by a run that ended 20 ms before this one started
        (1_800_000_000.0, SESSION, True),  # a whole-second stamp (older versions) from that same second
        (1_800_000_000.62, SESSION, False),  # ran in this session's first second
        (1_800_000_090.0, SESSION, False),  # ran in this session
        (None, SESSION, None),  # the step does not say when it ran
        (1_799_999_000.0, None, None),  # no session start to compare with
    ],
)
def test_is_cached(ran_at, session_start, cached) -> None:
    from pipeline.report import is_cached

    assert is_cached(ran_at, session_start) is cached


def test_a_cached_step_says_so_and_its_counters_are_not_this_runs() -> None:
    """The bug this fixes: a cached cargo build showed its old run's misses next to 0.07 s."""
    report = BuildReport(
        [
            Step("rust-build/cargo build", 0.07, CacheStats(0, 412, "Local disk"), ran_at=1_799_990_000.0),
            Step("wheels/maturin build", 35.0, CacheStats(200, 3, "Local disk"), ran_at=1_800_000_010.0),
            Step("go/operator build", 2.0),
        ],
        session_start=SESSION,
    )
    data = json.loads(report.to_json())
    cargo, maturin, go = data["steps"]
    assert cargo["cached"] is True and cargo["ran_at"] == "2027-01-15T05:13:20Z"
    assert "sccache" not in cargo and cargo["sccache_when_built"]["misses"] == 412
    assert maturin["cached"] is False and maturin["sccache"]["hits"] == 200
    assert "cached" not in go  # not recorded, not guessed
    assert data["sccache"] == {"hits": 200, "misses": 3, "location": "", "hit_rate": 0.9852}
    assert data["started"] == "2027-01-15T08:00:00Z"
    markdown = report.to_markdown()
    assert "| rust-build/cargo build | 0.1 | cached (built 2027-01-15T05:13:20Z) | 0 / 412 (when built) |" in markdown
    assert "| wheels/maturin build | 35.0 | ran | 200 / 3 |" in markdown
    assert "| go/operator build | 2.0 | not recorded |  |" in markdown
    assert "sccache in this run: 200 hits, 3 misses." in markdown


def test_stage_outcomes_failures_and_image_sizes() -> None:
    from pipeline.report import StageOutcome

    report = BuildReport(
        stages=[
            StageOutcome("image operator", "ok", 3.25, ran_at=1_700_000_000.0),
            StageOutcome("scan operator", "failed", 1.0, "scan of operator: 1 finding at or above HIGH"),
            StageOutcome("image frontend", "skipped", 0.0, "needs wheels, which did not succeed"),
        ],
        image_bytes={"operator": 12_345_678},
        session_start=SESSION,
        wall_seconds=61.0,
    )
    data = json.loads(report.to_json())
    assert data["failed"] == ["scan operator"]
    assert data["stages"][0] == {"name": "image operator", "status": "ok", "seconds": 3.25, "waited_seconds": 0.0,
                                 "built_at": "2023-11-14T22:13:20Z", "cached": True}
    assert data["stages"][1]["error"].startswith("scan of operator")
    assert data["images"] == {"operator": {"bytes": 12_345_678}}
    assert data["wall_seconds"] == 61.0
    markdown = report.to_markdown()
    assert "**Failed: scan operator.**" in markdown
    assert "| image operator | ok | 3.2 | 0.0 | cached (built 2023-11-14T22:13:20Z) | 12.3 MB |" in markdown
    assert "### scan operator (failed)" in markdown and "### image frontend (skipped)" in markdown


def test_ran_at_survives_the_stage_reports_round_trip() -> None:
    """Stages hand build-all their reports as JSON; the exec's time must come through."""
    stage = BuildReport([Step("cargo test", 4.0, CacheStats(1, 0, "disk"), ran_at=1_799_000_000.0)])
    merged = BuildReport.merge({"rust-test": BuildReport.from_json(stage.to_json())})
    assert merged.steps == [Step("rust-test/cargo test", 4.0, CacheStats(1, 0, "disk"), 1_799_000_000.0)]
