"""Cold, warm and incremental timings of the Rust and wheel stages on the local engine.

    eval "$(.venv/bin/python -m pipeline engine env)"
    .venv/bin/python tools/benchmark.py [--cold] [--source examples/mini-dynamo] [--json out.json]

--cold first prunes the engine's cache (layers and cache volumes), so the first round pays for
base images, tool installs, crate downloads and every compilation. Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
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
from pipeline.main import SOURCE_IGNORE  # noqa: E402

EDITED_FILE = "lib/llm/src/lib.rs"


async def stage_timings(dynamo: Dynamo) -> dict[str, object]:
    """Wall time of `rust build` and `wheels build`, with sccache counters from their reports."""
    figures: dict[str, object] = {}
    for name, run in (("rust_build", dynamo.rust().build), ("wheel_build", dynamo.wheels().build)):
        started = time.monotonic()
        result = await run()
        figures[name] = {
            "seconds": round(time.monotonic() - started, 1),
            "sccache": json.loads(result.report)["sccache"],
        }
    return figures


async def main(source: Path, cold: bool) -> dict[str, object]:
    overlay = os.environ.get("DYNAMO_PIPELINE_OVERLAY")
    if not overlay:
        sys.exit("DYNAMO_PIPELINE_OVERLAY is not set: eval \"$(python -m pipeline engine env)\" first")
    async with dagger.connection(dagger.Config(log_output=sys.stderr)):
        base = dag.host().directory(str(source), exclude=SOURCE_IGNORE)
        dynamo = Dynamo(source=base, overlay=dag.host().file(overlay))
        if cold:
            await dag.engine().local_cache().prune()
        rounds = {"first": await stage_timings(dynamo), "warm": await stage_timings(dynamo)}
        text = await base.file(EDITED_FILE).contents()
        edited = base.with_new_file(EDITED_FILE, f"{text}\n// benchmark edit {uuid.uuid4().hex}\n")
        rounds["incremental"] = await stage_timings(Dynamo(source=edited, overlay=dynamo.overlay))
    return {"cold": cold, "source": str(source), "rounds": rounds}


def print_table(results: dict[str, object]) -> None:
    print(f"{'round':<12} {'stage':<12} {'seconds':>8} {'hits':>5} {'misses':>6} {'hit rate':>8}")
    for round_name, stages in results["rounds"].items():
        label = "cold" if round_name == "first" and results["cold"] else round_name
        for stage, figures in stages.items():
            cache = figures["sccache"]
            print(f"{label:<12} {stage:<12} {figures['seconds']:>8} {cache['hits']:>5} {cache['misses']:>6} "
                  f"{cache['hit_rate']:>8.0%}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cold", action="store_true", help="prune the engine cache first")
    parser.add_argument("--source", type=Path, default=REPO_ROOT / "examples" / "mini-dynamo")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    figures = asyncio.run(main(args.source.resolve(), args.cold))
    print_table(figures)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
