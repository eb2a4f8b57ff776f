"""The pipeline's side: build-all, and wheels -> runtime image (the Dockerfile's chain), in client mode.

Each target gets its own cache salt (modules/cache.py), so neither reuses the other's work and a
run starts cold without pruning the shared engine.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from modules.cache import CACHE_SALT_ENV

from .measure import image_facts


def _use_salt(salt: str) -> None:
    if salt:
        os.environ[CACHE_SALT_ENV] = salt
    else:
        os.environ.pop(CACHE_SALT_ENV, None)


async def host_source(source: Path):
    """The checkout as the module sees it (its allow-list applied), loaded once.

    A session loads a host directory once; later edits reach the pipeline through `edited()`.
    """
    from dagger import dag

    from pipeline.main import SOURCE_IGNORE

    return await dag.host().directory(str(source), exclude=SOURCE_IGNORE).sync()


def edited(base, files: dict[str, str]):
    """`base` with the given files' current text (the scenario's edits so far)."""
    for path, text in files.items():
        base = base.with_new_file(path, text)
    return base


def _dynamo(source, overlay: Path):
    from dagger import dag

    from pipeline.main import Dynamo

    return Dynamo(source=source, overlay=dag.host().file(str(overlay)))


async def build_all(source, overlay: Path, commit_sha: str, salt: str, out: Path) -> dict[str, object]:
    """Time `build-all` (exported to `out`); its stages' own times and sccache counters from its report."""
    _use_salt(salt)
    started = time.monotonic()
    # keep_going: a stage that fails here (offline, the scans cannot fetch Trivy's database) is recorded, not fatal.
    await (await _dynamo(source, overlay).build_all(commit_sha, keep_going=True)).export(str(out))
    seconds = time.monotonic() - started
    report = json.loads((out / "build-report.json").read_text())
    return {
        "seconds": round(seconds, 1),
        "failed": report["failed"],
        "stages": {step["name"]: round(step["seconds"], 1) for step in report["steps"]},
        "sccache": {step["name"]: step["sccache"] for step in report["steps"] if "sccache" in step},
        "wheels": {path.name: path.stat().st_size for path in sorted((out / "wheels").glob("*.whl"))},
    }


async def runtime_path(
    source, overlay: Path, commit_sha: str, framework: str, salt: str, image_tar: Path | None
) -> dict[str, object]:
    """Time `wheels build` then `image runtime` with those wheels: what the Dockerfile's runtime target chains.

    With `image_tar`, the image is exported there (after the clock stops) and its facts recorded.
    """
    _use_salt(salt)
    dynamo = _dynamo(source, overlay)
    started = time.monotonic()
    wheels = await dynamo.wheels().build(commit_sha=commit_sha, framework=framework)
    await wheels.dist.sync()
    wheels_seconds = time.monotonic() - started
    image = await dynamo.image().runtime(framework, wheels=wheels.dist, commit_sha=commit_sha)
    await image.sync()
    seconds = time.monotonic() - started
    report = json.loads(wheels.report)
    figures: dict[str, object] = {
        "seconds": round(seconds, 1),
        "stages": {"wheels build": round(wheels_seconds, 1), "image runtime": round(seconds - wheels_seconds, 1)}
        | {f"wheels/{step['name']}": round(step["seconds"], 1) for step in report["steps"]},
        "sccache": {step["name"]: step["sccache"] for step in report["steps"] if "sccache" in step},
    }
    if image_tar is not None:
        await image.export(str(image_tar))
        figures["image"] = image_facts(image_tar, collect_prefix="opt/dynamo/wheelhouse/")
    return figures


async def prune_engine_cache() -> None:
    """Prune the engine's whole local cache (layers and cache volumes): --cold on a quiet, unshared engine only."""
    from dagger import dag

    await dag.engine().local_cache().prune()
