"""The pipeline's side: build-all, wheels -> runtime image (the Dockerfile's chain), and `rust build`
(bare cargo's peer), in client mode.

Each target gets its own cache salt (modules/cache.py), so neither reuses the other's work and a
run starts cold without pruning the shared engine.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

from modules.cache import CACHE_SALT_ENV

from .measure import cargo_seconds, image_facts


def _use_salt(salt: str) -> None:
    if salt:
        os.environ[CACHE_SALT_ENV] = salt
    else:
        os.environ.pop(CACHE_SALT_ENV, None)


async def host_source(source: Path):
    """The checkout as `dagger call --source` hands it to the module: imported from the host with
    the module's allow-list, keyed by its content.

    A session imports a host path once (a second import in the same session returns the first
    snapshot), so each scenario runs in a session of its own, as each `dagger call` does. Edits
    must not be applied with `with_new_file`: a directory made that way is keyed by its call
    chain, so every view of it (the stages' filtered views) would change with any edit, which is
    not what a developer's checkout does.
    """
    from dagger import dag

    from pipeline.main import SOURCE_IGNORE

    return await dag.host().directory(str(source), exclude=SOURCE_IGNORE).sync()


def _step_figures(report: dict, prefix: str = "") -> tuple[dict[str, float], dict[str, dict]]:
    """A build report's steps: each one's seconds, and the sccache counters of those that have them."""
    steps = report["steps"]
    return ({f"{prefix}{step['name']}": round(step["seconds"], 1) for step in steps},
            {step["name"]: step["sccache"] for step in steps if "sccache" in step})


def _dynamo(source, overlay: Path):
    from dagger import dag

    from pipeline.main import Dynamo

    return Dynamo(source=source, overlay=dag.host().file(str(overlay)))


async def build_all(
    checkout: Path, overlay: Path, commit_sha: str, salt: str, out: Path, profile: str = "release"
) -> dict[str, object]:
    """Time `build-all --profile <profile>` on `checkout` (its upload included; exported to `out`,
    where only its reports are kept); its stages' own times and sccache counters from its report."""
    _use_salt(salt)
    started = time.monotonic()
    source = await host_source(checkout)
    # keep_going: a stage that fails here (offline, the scans cannot fetch Trivy's database) is recorded, not fatal.
    await (await _dynamo(source, overlay).build_all(commit_sha, keep_going=True, profile=profile)).export(str(out))
    seconds = time.monotonic() - started
    report = json.loads((out / "build-report.json").read_text())
    stages, sccache = _step_figures(report)
    figures = {
        "seconds": round(seconds, 1),
        "failed": report["failed"],
        "stages": stages,
        "sccache": sccache,
        "wheels": {path.name: path.stat().st_size for path in sorted((out / "wheels").glob("*.whl"))},
    }
    # The reports stay; the binaries go (upstream's dev rust/ is gigabytes, exported once per scenario).
    for tree in ("rust", "go", "wheels"):
        shutil.rmtree(out / tree, ignore_errors=True)
    return figures


async def runtime_path(
    checkout: Path, overlay: Path, commit_sha: str, framework: str, salt: str, image_tar: Path | None
) -> dict[str, object]:
    """Time `wheels build` then `image runtime` with those wheels on `checkout` (its upload included):
    what the Dockerfile's runtime target chains. As in build-all (and in BuildKit, whose runtime
    stage installs NIXL while the wheel builder compiles), the image's venv with NIXL builds beside
    the wheels (`image runtime-venv`); the image then adds the wheels.

    With `image_tar`, the image is exported there (after the clock stops) and its facts recorded.
    """
    import asyncio

    _use_salt(salt)
    started = time.monotonic()
    dynamo = _dynamo(await host_source(checkout), overlay)

    async def timed(awaitable):
        result = await awaitable
        return result, time.monotonic() - started

    async def wheels_built():
        built = await dynamo.wheels().build(commit_sha=commit_sha, framework=framework)
        await built.dist.sync()
        return built

    (wheels, wheels_seconds), (_, venv_seconds) = await asyncio.gather(
        timed(wheels_built()), timed(dynamo.image().runtime_venv(framework))
    )
    image = await dynamo.image().runtime(framework, wheels=wheels.dist, commit_sha=commit_sha)
    await image.sync()
    seconds = time.monotonic() - started
    wheel_steps, sccache = _step_figures(json.loads(wheels.report), prefix="wheels/")
    figures: dict[str, object] = {
        "seconds": round(seconds, 1),
        "stages": {"wheels build": round(wheels_seconds, 1), "image runtime-venv (beside the wheels)": round(venv_seconds, 1),
                   "image runtime (after both)": round(seconds - max(wheels_seconds, venv_seconds), 1)} | wheel_steps,
        "sccache": sccache,
    }
    if image_tar is not None:
        await image.export(str(image_tar))
        figures["image"] = image_facts(image_tar, collect_prefix="opt/dynamo/wheelhouse/")
    return figures


async def rust_build(checkout: Path, overlay: Path, profile: str, salt: str) -> dict[str, object]:
    """Time `rust build --profile <profile>` on `checkout` (its upload included, its artifacts synced):
    what bare `cargo build --workspace` does, in the builder with its cache volumes."""
    _use_salt(salt)
    started = time.monotonic()
    run = await _dynamo(await host_source(checkout), overlay).rust().build(profile=profile)
    await run.artifacts.sync()
    seconds = time.monotonic() - started
    stages, sccache = _step_figures(json.loads(run.report))
    own = cargo_seconds(run.output)
    # A cached exec replays an earlier run's output: its cargo time is only this run's if it fits in the step.
    if own is not None and own <= stages.get("cargo build", 0.0):
        stages["cargo's own time (its Finished line)"] = own
    return {
        "seconds": round(seconds, 1),
        "stages": stages,
        "sccache": sccache,
    }


async def prune_engine_cache() -> None:
    """Prune the engine's whole local cache (layers and cache volumes): --cold on a quiet, unshared engine only."""
    from dagger import dag

    await dag.engine().local_cache().prune()
