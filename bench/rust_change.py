"""Time `rust build` or `wheels` on any checkout: cold (fresh cache keys), a one-line change, then a no-op.

    eval "$(.venv/bin/python -m pipeline engine env)"
    .venv/bin/python -m bench.rust_change --source /path/to/dynamo --profile dev
    .venv/bin/python -m bench.rust_change --source /path/to/dynamo --stage wheels --commit <sha> --check --out dist

The stages `bench.run` leaves out on upstream main: build-all there includes release builds that
take hours on 2 cores. Cold salts every cache volume (DYNAMO_PIPELINE_CACHE_SALT), so nothing is
reused and nobody else's caches are touched; the edit goes into the engine's copy of the source,
never into the checkout. Prints one JSON line per round: seconds, the build report (sccache
counters), the wheels and their sizes (`--stage wheels`), the engine's disk use and the load
average; with `--check`, one more line for `wheels check` on the cold round's wheels. Not a test:
it measures.
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

from localengine.layout import EngineLayout

from .measure import engine_disk

CHANGE = "\n// one-line change (bench.rust_change)\n"


async def wheel_sizes(dist) -> dict[str, int]:
    """Each wheel's name and size in bytes."""
    names = sorted(name for name in await dist.entries() if name.endswith(".whl"))
    sizes = await asyncio.gather(*(dist.file(name).size() for name in names))
    return dict(zip(names, sizes, strict=True))


async def measure(args: argparse.Namespace) -> None:
    import dagger
    from dagger import dag

    from pipeline.main import SOURCE_IGNORE
    from pipeline.rust import Rust
    from pipeline.wheels import Wheels

    layout = EngineLayout.from_environment()
    async with dagger.connection(dagger.Config(log_output=sys.stderr, retry=None)):
        overlay = dag.host().file(os.environ["DYNAMO_PIPELINE_OVERLAY"])
        checkout = dag.host().directory(str(args.source), exclude=SOURCE_IGNORE)

        async def build(label: str, tree: dagger.Directory):
            started = time.monotonic()
            result: dict = {"round": label}
            if args.stage == "wheels":
                run = await Wheels(source=tree, overlay=overlay).build(
                    commit_sha=args.commit, framework=args.framework, profile=args.profile
                )
                await run.dist.sync()
                result["wheels"] = await wheel_sizes(run.dist)
                output = run.dist
            else:
                run = await Rust(source=tree, overlay=overlay).build(profile=args.profile)
                await run.artifacts.sync()
                output = run.artifacts
            result.update({
                "seconds": round(time.monotonic() - started, 1), "report": json.loads(run.report),
                "engine_disk": engine_disk(layout.container), "load": os.getloadavg(),
            })
            print(json.dumps(result), flush=True)
            return output

        cold = await build("cold", checkout)
        if args.stage == "wheels" and args.out:
            await cold.export(str(args.out))
        if args.stage == "wheels" and args.check:
            started = time.monotonic()
            try:
                shown = await Wheels(source=checkout, overlay=overlay).check(cold, commit_sha=args.commit)
            except Exception as error:  # measured, not fatal: the other rounds still run
                shown = f"FAILED: {error}"
            print(json.dumps({"round": "wheels check (cold wheels)", "seconds": round(time.monotonic() - started, 1),
                              "output": shown}), flush=True)
        text = await checkout.file(args.file).contents()
        changed = checkout.with_new_file(args.file, text + CHANGE)
        await build(f"one-line change in {args.file}", changed)
        await build("no-op (same tree again)", changed)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line, checked before any engine work."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, required=True, help="Dynamo checkout")
    parser.add_argument("--stage", choices=("rust", "wheels"), default="rust", help="what to time")
    parser.add_argument("--profile", help="cargo profile; default: dev for rust (release takes hours on upstream), "
                        "release for wheels")
    parser.add_argument("--commit", default="", help="commit stamped into the wheels (--stage wheels)")
    parser.add_argument("--framework", default="dynamo", help="framework whose wheel features to build (--stage wheels)")
    parser.add_argument("--check", action="store_true", help="run `wheels check` on the cold round's wheels")
    parser.add_argument("--out", type=Path, help="export the cold round's wheels here (--stage wheels)")
    parser.add_argument("--file", default="lib/llm/src/lib.rs", help="Rust file that gets the one-line change")
    args = parser.parse_args(argv)
    if not (args.source / "Cargo.toml").is_file():
        parser.error(f"{args.source}/Cargo.toml: not found; --source must be a Dynamo checkout")
    if args.stage != "wheels" and (args.commit or args.check or args.out):
        parser.error("--commit, --check and --out go with --stage wheels")
    args.profile = args.profile or ("release" if args.stage == "wheels" else "dev")
    return args


def main() -> None:
    args = parse_args()
    os.environ.setdefault("DAGGER_MAIN_OBJECT", "Dynamo")
    os.environ.setdefault("DYNAMO_PIPELINE_CACHE_SALT", f"bench-{uuid.uuid4().hex[:8]}")
    # Named up front: a run that fails (e.g. a full disk) resumes on its caches with the same salt.
    print(json.dumps({"cache_salt": os.environ["DYNAMO_PIPELINE_CACHE_SALT"]}), flush=True)
    asyncio.run(measure(args))


if __name__ == "__main__":
    main()
