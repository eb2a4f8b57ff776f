"""Shared fixtures: the local Dagger engine connection and the offline context.

Engine tests are marked `engine`. Outside CI they skip, saying why, when no engine is up; with
CI=true they run, and an engine that cannot be reached fails the run.
"""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

# Read by dagger.mod when it is first imported, as in the module runtime: it names the main object
# that the registration test hands to the engine.
os.environ.setdefault("DAGGER_MAIN_OBJECT", "Dynamo")

from pipeline.context import Context, load_context  # noqa: E402
from localengine.layout import EngineLayout  # noqa: E402

# Trivy databases with a planted advisory, shared by the scan and publish tests.
pytest_plugins = ["tests.engine.scan_fixtures"]

REPO_ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_WORKSPACE = REPO_ROOT / "examples" / "mini-dynamo"


def _engine_environment() -> dict[str, str] | None:
    """The client environment: from the shell (`engine env`), else the local engine if it is up."""
    if os.environ.get("_EXPERIMENTAL_DAGGER_RUNNER_HOST"):
        return {}
    return EngineLayout.from_environment().client_env_if_up()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Everything under tests/engine needs the engine."""
    for item in items:
        if "tests/engine/" in str(item.path).replace(os.sep, "/"):
            item.add_marker(pytest.mark.engine)


@pytest.fixture(scope="session")
def engine_env() -> dict[str, str]:
    """The local engine's client environment, applied to this process."""
    env = _engine_environment()
    if env is None:
        reason = "no local Dagger engine is up: run `python -m pipeline engine up`"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {reason}", pytrace=False)
        pytest.skip(reason)
    os.environ.update(env)
    return {**env, **{k: v for k, v in os.environ.items() if k.startswith(("_EXPERIMENTAL_DAGGER", "DYNAMO_"))}}


@pytest.fixture(scope="session")
async def dag(engine_env: dict[str, str]) -> AsyncIterator[object]:
    """One client-mode connection to the local engine for the whole run."""
    import dagger

    async with dagger.connection(dagger.Config(log_output=sys.stderr, retry=None)):
        yield dagger.dag


@pytest.fixture(scope="session")
def offline_context(engine_env: dict[str, str]) -> Context:
    """The context with the offline overlay: image references resolve to the stand-ins."""
    overlay = os.environ.get("DYNAMO_PIPELINE_OVERLAY")
    if not overlay:
        pytest.fail("DYNAMO_PIPELINE_OVERLAY is not set: `python -m pipeline engine up` writes it", pytrace=False)
    return load_context(overlay=Path(overlay))


@pytest.fixture(scope="session")
def dynamo(dag, engine_env: dict[str, str]):
    """The module's main object on the example workspace, images resolved through the overlay."""
    from pipeline import Dynamo
    from pipeline.main import SOURCE_IGNORE

    overlay = os.environ.get("DYNAMO_PIPELINE_OVERLAY")
    if not overlay:
        pytest.fail("DYNAMO_PIPELINE_OVERLAY is not set: `python -m pipeline engine up` writes it", pytrace=False)
    # The allow-list the CLI applies through Ignore(), which client mode does not.
    source = dag.host().directory(str(EXAMPLE_WORKSPACE), exclude=SOURCE_IGNORE)
    return Dynamo(source=source, overlay=dag.host().file(overlay))


@pytest.fixture(scope="session")
def package_index(offline_context: Context) -> dict:
    """Stand-in framework wheels served as a PEP 503 index: `index_url` and `index` for image builds."""
    from localengine.package_index import INDEX_URL, stand_in_index

    return {"index_url": INDEX_URL, "index": stand_in_index(offline_context)}
