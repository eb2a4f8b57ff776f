"""build-all: every stage so far, independent ones in parallel, one directory out.

Mixed into `Dynamo` (pipeline/main.py) after the stages it chains.
"""

from __future__ import annotations

import asyncio

import dagger
from dagger import dag, function

from .report import BuildReport
from .rust import SccacheRedisPassword, SccacheRedisService
from .wheels import BuiltCommit


class BuildAllStage:
    """The build-all function of the Dynamo module."""

    @function
    async def build_all(
        self,
        commit_sha: BuiltCommit = "",
        sccache_redis: SccacheRedisService = None,
        sccache_redis_password: SccacheRedisPassword = None,
    ) -> dagger.Directory:
        """Build, test and check everything: rust/ (artifacts), wheels/ (checked), build-report.json.

        `dagger call build-all -o dist`. The Rust build, the Rust tests and the wheels run in
        parallel; the wheel check follows the wheels.
        """
        # A skewed checkout would ship wheels and charts that do not fit: refuse it before building.
        await self._workspace_version()
        cache = {"sccache_redis": sccache_redis, "sccache_redis_password": sccache_redis_password}
        rust, tests, wheels = await asyncio.gather(
            self.rust_build(**cache), self.rust_test(**cache), self.wheel_build(commit_sha, **cache)
        )
        checks = BuildReport()
        await checks.timed("wheel check", self.wheel_check(wheels.dist, commit_sha))
        report = BuildReport.merge(
            {
                "rust-build": BuildReport.from_json(rust.report),
                "rust-test": BuildReport.from_json(tests.report),
                "wheels": BuildReport.from_json(wheels.report),
                "checks": checks,
            }
        )
        return (
            dag.directory()
            .with_directory("rust", rust.artifacts)
            .with_directory("wheels", wheels.dist)
            .with_new_file("build-report.json", report.to_json())
        )
