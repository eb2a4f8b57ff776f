"""Time `rust build` on any checkout: cold (fresh cache keys), a one-line change, then a no-op.

    eval "$(.venv/bin/python -m pipeline engine env)"
    .venv/bin/python -m bench.rust_change --source /path/to/dynamo --profile dev

The stage `bench.run` leaves out on upstream main: build-all there includes release builds that
take hours on 2 cores. Cold salts every cache volume (DYNAMO_PIPELINE_CACHE_SALT), so nothing is
reused and nobody else's caches are touched; the edit goes into the engine's copy of the source,
never into the checkout. Prints one JSON line per round: seconds, the build report (sccache
counters), the engine's disk use and the load average. Not a test: it measures.
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

from localengine.layout import EngineLayout

CHANGE = "\n// one-line change (bench.rust_change)\n"


def engine_disk(layout: EngineLayout) -> str:
    """`du -sh` of the engine's state directory."""
    result = subprocess.run(["docker", "exec", layout.container, "du", "-sh", "/var/lib/dagger"],
                            capture_output=True, text=True)
    return result.stdout.split()[0] if result.returncode == 0 and result.stdout else "?"


async def measure(source: Path, profile: str, edited_file: str) -> None:
    import dagger
    from dagger import dag

    from pipeline.main import SOURCE_IGNORE
    from pipeline.rust import Rust

    layout = EngineLayout.from_environment()
    async with dagger.connection(dagger.Config(log_output=sys.stderr, retry=None)):
        overlay = dag.host().file(os.environ["DYNAMO_PIPELINE_OVERLAY"])
        checkout = dag.host().directory(str(source), exclude=SOURCE_IGNORE)

        async def build(label: str, tree: dagger.Directory) -> None:
            started = time.monotonic()
            run = await Rust(source=tree, overlay=overlay).build(profile=profile)
            await run.artifacts.sync()
            print(json.dumps({
                "round": label, "seconds": round(time.monotonic() - started, 1), "report": json.loads(run.report),
                "engine_disk": engine_disk(layout), "load": os.getloadavg(),
            }), flush=True)

        await build("cold", checkout)
        text = await checkout.file(edited_file).contents()
        changed = checkout.with_new_file(edited_file, text + CHANGE)
        await build(f"one-line change in {edited_file}", changed)
        await build("no-op (same tree again)", changed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, required=True, help="Dynamo checkout")
    parser.add_argument("--profile", default="dev", help="cargo profile (release takes hours on upstream)")
    parser.add_argument("--file", default="lib/llm/src/lib.rs", help="Rust file that gets the one-line change")
    args = parser.parse_args()
    if not (args.source / "Cargo.toml").is_file():
        parser.error(f"{args.source}/Cargo.toml: not found; --source must be a Dynamo checkout")
    os.environ.setdefault("DAGGER_MAIN_OBJECT", "Dynamo")
    os.environ.setdefault("DYNAMO_PIPELINE_CACHE_SALT", f"bench-{uuid.uuid4().hex[:8]}")
    asyncio.run(measure(args.source, args.profile, args.file))


if __name__ == "__main__":
    main()
