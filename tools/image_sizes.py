"""Build every Dynamo image on the local engine and report its build time and loaded size.

    eval "$(.venv/bin/python -m pipeline engine env)"
    .venv/bin/python tools/image_sizes.py [--source examples/mini-dynamo] [--json out.json]

Images are built from the overlay's bases (stand-ins offline) with the framework packages from the
stand-in index (localengine/package_index.py); each is exported with `as_tarball`, loaded into
Docker, measured with `docker image inspect`, and removed again. The Rust builder is measured too,
for comparison. Times are wall clock on whatever the engine has cached. Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
os.environ.setdefault("DAGGER_MAIN_OBJECT", "Dynamo")

import dagger  # noqa: E402
from dagger import dag  # noqa: E402

from pipeline import Dynamo  # noqa: E402
from pipeline.context import load_context  # noqa: E402
from localengine.package_index import INDEX_URL, stand_in_index  # noqa: E402
from pipeline.main import SOURCE_IGNORE  # noqa: E402


def docker_size(tarball: Path) -> int:
    """Load the tarball into Docker, read the image's size, remove it again."""
    loaded = subprocess.run(["docker", "load", "-i", str(tarball)], capture_output=True, text=True, check=True)
    image_id = loaded.stdout.strip().rsplit(" ", 1)[-1]
    try:
        size = subprocess.run(
            ["docker", "image", "inspect", "-f", "{{.Size}}", image_id], capture_output=True, text=True, check=True
        ).stdout
        return int(size)
    finally:
        subprocess.run(["docker", "rmi", "-f", image_id], capture_output=True)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, default=REPO_ROOT / "examples" / "mini-dynamo")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--commit-sha", default="0123abcd4567ef89", help="commit stamped into wheels and images")
    parser.add_argument("--sglang", action="store_true", help="also SGLang's runtime (builds FFmpeg: over an hour on 2 cores)")
    args = parser.parse_args()
    overlay = os.environ.get("DYNAMO_PIPELINE_OVERLAY")
    if not overlay:
        sys.exit("DYNAMO_PIPELINE_OVERLAY is not set: eval \"$(python -m pipeline engine env)\" first")
    ctx = load_context(overlay=Path(overlay))
    results = []
    async with dagger.connection(dagger.Config(log_output=sys.stderr)):
        dynamo = Dynamo(source=dag.host().directory(str(args.source), exclude=SOURCE_IGNORE), overlay=dag.host().file(overlay))
        go, image, index = dynamo.go(), dynamo.image(), stand_in_index(ctx)
        # One set of wheels (the dynamo features) for every image: SGLang's own (media-ffmpeg) link
        # FFmpeg, which --sglang builds with the context's full flag set.
        wheels = await dynamo.wheels().dist(args.commit_sha)
        mirror = {"index_url": INDEX_URL, "index": index, "wheels": wheels, "commit_sha": args.commit_sha}
        builds = {
            "rust builder (comparison)": lambda: dynamo.rust().builder(),
            "operator": lambda: go.operator_image(commit_sha=args.commit_sha),
            "epp": lambda: go.epp_image(commit_sha=args.commit_sha),
            "cuda base 12.9": lambda: image.cuda_base("12.9"),
            "runtime dynamo": lambda: image.runtime("dynamo", **mirror),
            "runtime vllm": lambda: image.runtime("vllm", **mirror),
            "runtime trtllm": lambda: image.runtime("trtllm", **mirror),
            "frontend": lambda: image.frontend(**mirror),
            "planner": lambda: image.planner(**mirror),
        }
        if args.sglang:
            builds["runtime sglang"] = lambda: image.runtime("sglang", **mirror)
        with tempfile.TemporaryDirectory(dir="/var/tmp") as scratch:
            for name, build in builds.items():
                started = time.monotonic()
                ctr = await build()
                await ctr.sync()
                seconds = time.monotonic() - started
                tarball = Path(scratch) / "image.tar"
                await ctr.as_tarball().export(str(tarball))
                size = docker_size(tarball)
                tarball.unlink()
                results.append({"image": name, "build_seconds": round(seconds, 1), "size_bytes": size})
                print(f"{name}: {seconds:.1f} s, {size / 2**20:.0f} MiB", file=sys.stderr, flush=True)
    print("| image | build (s) | size (MiB) |\n|---|---|---|")
    for row in results:
        print(f"| {row['image']} | {row['build_seconds']} | {row['size_bytes'] / 2**20:.0f} |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    asyncio.run(main())
