"""Cold, warm and incremental timings of the Rust and wheel stages on the local engine.

    eval "$(.venv/bin/python -m pipeline engine env)"
    .venv/bin/python tools/benchmark.py [--cold] [--source examples/mini-dynamo] [--json out.json]
    .venv/bin/python tools/benchmark.py --source ../dynamo --profile dev --rounds first,incremental

--cold first prunes the engine's cache (layers and cache volumes), so the first round pays for
base images, tool installs, crate downloads and every compilation. The incremental round edits one
line of lib/llm/src/lib.rs inside the engine (the checkout itself is never touched). After each
step the engine's disk use is read from its container. Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
os.environ.setdefault("DAGGER_MAIN_OBJECT", "Dynamo")

import dagger  # noqa: E402
from dagger import dag  # noqa: E402

from pipeline import Dynamo  # noqa: E402
from pipeline.engine.layout import EngineLayout  # noqa: E402
from pipeline.main import SOURCE_IGNORE  # noqa: E402

EDITED_FILE = "lib/llm/src/lib.rs"
ROUNDS = ("first", "warm", "incremental")
STAGES = ("rust_build", "wheel_build")


def engine_disk_use() -> str:
    """`du -sh` of the engine's state directory, read inside its container."""
    container = EngineLayout.from_environment().container
    result = subprocess.run(
        ["docker", "exec", container, "du", "-sh", "/var/lib/dagger"], capture_output=True, text=True
    )
    return result.stdout.split()[0] if result.returncode == 0 else f"unknown ({result.stderr.strip()})"


async def stage_timings(dynamo: Dynamo, args: argparse.Namespace) -> dict[str, object]:
    """Wall time of `rust build` and `wheels build`, sccache counters, wheel sizes, engine disk use."""
    runs = {
        "rust_build": lambda: dynamo.rust().build(profile=args.profile),
        "wheel_build": lambda: dynamo.wheels().build(commit_sha=args.commit_sha, framework=args.framework),
    }
    figures: dict[str, object] = {}
    for name in args.stages:
        started = time.monotonic()
        result = await runs[name]()
        figures[name] = {
            "seconds": round(time.monotonic() - started, 1),
            "sccache": json.loads(result.report)["sccache"],
            "engine_disk": engine_disk_use(),
        }
        if name == "wheel_build":
            figures[name]["wheels"] = {
                entry: await result.dist.file(entry).size() for entry in await result.dist.entries()
            }
        print(f"[benchmark] {name}: {json.dumps(figures[name])}", file=sys.stderr, flush=True)
    return figures


async def main(args: argparse.Namespace) -> dict[str, object]:
    overlay = os.environ.get("DYNAMO_PIPELINE_OVERLAY")
    if not overlay:
        sys.exit("DYNAMO_PIPELINE_OVERLAY is not set: eval \"$(python -m pipeline engine env)\" first")
    results: dict[str, object] = {"cold": args.cold, "source": str(args.source), "profile": args.profile,
                                  "engine_disk_before": engine_disk_use(), "rounds": {}}
    async with dagger.connection(dagger.Config(log_output=sys.stderr)):
        base = dag.host().directory(str(args.source), exclude=SOURCE_IGNORE)
        dynamo = Dynamo(source=base, overlay=dag.host().file(overlay))
        if args.cold:
            await dag.engine().local_cache().prune()
        for round_name in args.rounds:
            if round_name == "incremental":
                text = await base.file(EDITED_FILE).contents()
                edited = base.with_new_file(EDITED_FILE, f"{text}\n// benchmark edit {uuid.uuid4().hex}\n")
                subject = Dynamo(source=edited, overlay=dynamo.overlay)
            else:
                subject = dynamo
            results["rounds"][round_name] = await stage_timings(subject, args)
    return results


def print_table(results: dict[str, object]) -> None:
    print(f"{'round':<12} {'stage':<12} {'seconds':>8} {'hits':>5} {'misses':>6} {'hit rate':>8} {'engine disk':>11}")
    for round_name, stages in results["rounds"].items():
        label = "cold" if round_name == "first" and results["cold"] else round_name
        for stage, figures in stages.items():
            cache = figures["sccache"]
            print(f"{label:<12} {stage:<12} {figures['seconds']:>8} {cache['hits']:>5} {cache['misses']:>6} "
                  f"{cache['hit_rate']:>8.0%} {figures['engine_disk']:>11}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cold", action="store_true", help="prune the engine cache first (never on a shared engine)")
    parser.add_argument("--source", type=Path, default=REPO_ROOT / "examples" / "mini-dynamo")
    parser.add_argument("--profile", default="release", help="cargo profile of `rust build`")
    parser.add_argument("--framework", default="dynamo", help="framework whose wheel features to build")
    parser.add_argument("--commit-sha", default="0123abcd", help="commit stamped into the wheels")
    parser.add_argument("--rounds", default=",".join(ROUNDS), help=f"comma-separated subset of {','.join(ROUNDS)}")
    parser.add_argument("--stages", default=",".join(STAGES), help=f"comma-separated subset of {','.join(STAGES)}")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    args.source = args.source.resolve()
    args.rounds = [r for r in args.rounds.split(",") if r]
    args.stages = [s for s in args.stages.split(",") if s]
    if unknown := (set(args.rounds) - set(ROUNDS)) | (set(args.stages) - set(STAGES)):
        parser.error(f"unknown round or stage: {', '.join(sorted(unknown))}")
    figures = asyncio.run(main(args))
    print_table(figures)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
