"""Build one framework's runtime image on any checkout from given wheels, and measure it.

    eval "$(.venv/bin/python -m pipeline engine env)"
    .venv/bin/python -m bench.runtime_image --source /path/to/dynamo --wheels dist --commit <sha> [--framework vllm]

The wheels are a `wheels` dist (e.g. `bench.rust_change --stage wheels --out dist`). Prints JSON
lines: the build's wall time (on whatever the engine has cached), `python -c 'import dynamo,
<framework>'` as the image's user (exit code, uid and both streams: no GPU here, so whatever the
import says without a driver is recorded, not hidden), the largest directories, and, from the
image's `as_tarball` read inside the engine, the layer count, compressed and uncompressed bytes
and the largest directories the layers add (bench/measure.py's `image_facts`). `--tarball` also
exports the tarball to the host; `--no-layers` skips both (the tarball needs about the image's
compressed size of free engine disk). Not a test: it measures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path

# Imports the framework beside Dynamo and says who ran it; argv[1] is the framework's module.
IMPORT_PROBE = r'''
import importlib, json, os, sys
import dynamo
module = importlib.import_module(sys.argv[1]) if sys.argv[1] else None
print(json.dumps({"uid": os.getuid(), "gid": os.getgid(), "python": sys.executable,
                  "framework": getattr(module, "__version__", None)}))
'''

# bench/measure.py's image_facts, run inside the image next to its tarball (stdlib only): the
# tarball of a framework image is gigabytes, not worth exporting to the host to count its layers.
LAYER_PROBE = "import json, sys; sys.path.insert(0, '/tmp/bench'); from measure import image_facts; print(json.dumps(image_facts(sys.argv[1])))"

# Three levels of the whole image, and each package of the venv (where a framework's gigabytes are).
LARGEST_DIRS = "{ du -x -m -d 3 /; du -m -d 1 /opt/dynamo/venv/lib/python*/site-packages; } 2>/dev/null | sort -rn | head -n 40"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line, checked before any engine work."""
    from pipeline.errors import PipelineInputError
    from pipeline.image import FRAMEWORK_PACKAGES
    from pipeline.tags import check_sha

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, required=True, help="Dynamo checkout")
    parser.add_argument("--wheels", type=Path, required=True, help="directory of the Dynamo wheels (a `wheels` dist)")
    parser.add_argument("--commit", required=True, help="commit the wheels were stamped with")
    parser.add_argument("--framework", default="vllm", choices=("dynamo", *FRAMEWORK_PACKAGES), help="runtime to build")
    parser.add_argument("--tarball", type=Path, help="also export the image's as_tarball here")
    parser.add_argument("--no-layers", action="store_true",
                        help="skip as_tarball and the layer figures")
    args = parser.parse_args(argv)
    if not (args.source / "Cargo.toml").is_file():
        parser.error(f"{args.source}/Cargo.toml: not found; --source must be a Dynamo checkout")
    if not any(args.wheels.glob("*.whl")):
        parser.error(f"{args.wheels}: no *.whl; pass the directory `bench.rust_change --stage wheels --out` wrote")
    try:
        check_sha(args.commit)
    except PipelineInputError as error:
        parser.error(str(error))
    package = FRAMEWORK_PACKAGES.get(args.framework)
    args.module = package.module if package else ""
    return args


async def measure(args: argparse.Namespace) -> None:
    import dagger
    from dagger import dag

    from pipeline.image import Image
    from pipeline.main import SOURCE_IGNORE

    def emit(record: dict) -> None:
        print(json.dumps({**record, "load": os.getloadavg()}), flush=True)

    async with dagger.connection(dagger.Config(log_output=sys.stderr, retry=None)):
        image = Image(
            source=dag.host().directory(str(args.source), exclude=SOURCE_IGNORE),
            overlay=dag.host().file(os.environ["DYNAMO_PIPELINE_OVERLAY"]),
        )
        started = time.monotonic()
        ctr = await image.runtime(args.framework, wheels=dag.host().directory(str(args.wheels)), commit_sha=args.commit)
        await ctr.sync()
        emit({"step": f"runtime {args.framework}: build", "seconds": round(time.monotonic() - started, 1)})

        started = time.monotonic()
        probe = await ctr.with_exec(["python", "-c", IMPORT_PROBE, args.module], expect=dagger.ReturnType.ANY).sync()
        emit({"step": f"import dynamo, {args.module or '-'} as the image's user",
              "seconds": round(time.monotonic() - started, 1), "exit_code": await probe.exit_code(),
              "stdout": await probe.stdout(), "stderr": (await probe.stderr())[-4000:]})

        largest = await ctr.with_user("root").with_exec(["sh", "-c", LARGEST_DIRS]).stdout()
        emit({"step": "largest directories (MiB)", "du": largest.splitlines()})

        if args.no_layers:
            return
        started = time.monotonic()
        tarball = ctr.as_tarball()
        size = await tarball.size()
        facts = json.loads(
            await ctr.with_user("root").with_mounted_file("/tmp/image.tar", tarball)
            .with_mounted_file("/tmp/bench/measure.py", dag.host().file(str(Path(__file__).with_name("measure.py"))))
            .with_exec(["python", "-c", LAYER_PROBE, "/tmp/image.tar"]).stdout()
        )
        emit({"step": "as_tarball", "seconds": round(time.monotonic() - started, 1), "tarball_bytes": size, **facts})
        if args.tarball:
            await tarball.export(str(args.tarball))
            emit({"step": "exported", "path": str(args.tarball)})


def main() -> None:
    args = parse_args()
    os.environ.setdefault("DAGGER_MAIN_OBJECT", "Dynamo")
    asyncio.run(measure(args))


if __name__ == "__main__":
    main()
