"""Cache-volume names with an optional salt, so a benchmark can start cold on a shared engine.

Dynamo-agnostic. With DYNAMO_PIPELINE_CACHE_SALT set in the process that drives Dagger (client
mode: `bench/run.py`), every cache volume name gets the salt appended and `salted()` puts it into
the first exec of a build container: nothing from earlier runs (volumes or exec results) is
reused, and nobody else's caches are touched. Unset (every normal run, and module mode), names
are exactly the given ones.
"""

from __future__ import annotations

import os

import dagger
from dagger import dag

CACHE_SALT_ENV = "DYNAMO_PIPELINE_CACHE_SALT"


def cache_salt() -> str:
    """The salt of this process, "" when none is set."""
    return os.environ.get(CACHE_SALT_ENV, "")


def salted_name(name: str) -> str:
    """`name`, or `name-<salt>` while a salt is set."""
    salt = cache_salt()
    return f"{name}-{salt}" if salt else name


def cache_volume(name: str) -> dagger.CacheVolume:
    """The cache volume called `name` (salted while a salt is set)."""
    return dag.cache_volume(salted_name(name))


def salted(ctr: dagger.Container) -> dagger.Container:
    """`ctr` with the salt in its environment, so its later execs miss the exec cache; unchanged without a salt."""
    salt = cache_salt()
    return ctr.with_env_variable(CACHE_SALT_ENV, salt) if salt else ctr


async def built_at(image: str, result: dagger.Directory) -> float:
    """When `result` was built, as far as the engine's cache knows (seconds since the epoch).

    A probe exec over `result` prints the time it runs. The engine serves it from the cache exactly
    when `result` is the one an earlier run probed (same inputs, same build): then the time is that
    run's, so a time before this session means "cached". In nanoseconds: a run that starts in the
    second the previous one probed its last result must still see that result as older than itself.
    Salted like every other build container.
    """
    probe = dag.container().from_(image).with_(salted).with_mounted_directory("/probed", result)
    return float((await probe.with_exec(["date", "+%s.%N"]).stdout()).strip())
