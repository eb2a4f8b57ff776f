"""The Dagger module's main object: Dynamo's build pipeline.

Imports stay light (Dagger starts a fresh interpreter per call): context parsing and Jinja2
rendering are imported inside the functions that need them.
"""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

import dagger
from dagger import DefaultPath, Doc, Ignore, check, dag, function, object_type

from .go import Go
from .image import Image
from .native import Native
from .report import BuildReport
from .rust import Rust, SccacheRedisPassword, SccacheRedisService
from .stage import Stage
from .wheels import BuiltCommit, Wheels

# Allow-list of what a build reads from a Dynamo checkout; everything else stays out of the cache key.
SOURCE_IGNORE = [
    "*",
    "!Cargo.toml",
    "!Cargo.lock",
    "!rust-toolchain.toml",
    "!.cargo/**",
    "!lib/**",
    "!launch/**",
    "!components/**",
    "!deploy/**",
    "!benchmarks/**",
    "!pyproject.toml",
    "!hatch_build.py",
    "!README.md",
    "!LICENSE",
    "!container/**",
    "**/target",
    "**/__pycache__",
    "**/.venv",
    "**/*.pyc",
]


@object_type
class Dynamo(Stage):
    """Build NVIDIA Dynamo: Rust, wheels, images and tags from one context.toml."""

    source: Annotated[
        dagger.Directory,
        Doc("Dynamo checkout (defaults to the example workspace)"),
        DefaultPath("/examples/mini-dynamo"),
        Ignore(SOURCE_IGNORE),
    ]

    @function
    def go(self) -> Go:
        """The Go stage: operator and EPP binaries, their images, vet and test checks."""
        return Go(**self.inputs())

    @function
    def native(self) -> Native:
        """Native libraries the images carry (NIXL, FFmpeg), each built or fetched by its own function."""
        return Native(**self.inputs())

    @function
    def image(self) -> Image:
        """The Dynamo images: CUDA base, framework runtimes, frontend and planner."""
        return Image(**self.inputs())

    @function
    async def version(self) -> str:
        """The checkout's version, after checking that every pin agrees (Cargo, pyprojects, charts)."""
        return await self._workspace_version()

    @function
    @check
    async def versions_agree(self) -> None:
        """Fail when any version pin in the checkout disagrees with the Cargo workspace version."""
        await self._workspace_version()

    @function
    async def context(self) -> str:
        """The resolved build context (versions, pinned images, valid combinations) as JSON."""
        return json.dumps((await self._context()).as_dict(), indent=2)

    @function
    async def tags(
        self,
        sha: Annotated[str, Doc("Git commit SHA the image is built from (7 to 40 hex digits)")],
        framework: Annotated[str, Doc("Framework: dynamo, vllm, sglang or trtllm")],
        target: Annotated[str, Doc("Build target, e.g. runtime or dev")],
        cuda_version: Annotated[str, Doc("CUDA version, e.g. 12.9; empty for a CPU-only image")] = "12.9",
        efa: Annotated[bool, Doc("Tag the AWS EFA variant")] = False,
        branch: Annotated[str, Doc("Branch built; 'main' adds the main-* aliases")] = "",
    ) -> list[str]:
        """Image tags in Dynamo's scheme: <sha>-<fw>-<target>[-efa]-cuda<major> plus main aliases."""
        from .tags import image_tags

        return image_tags(
            sha, framework, target, cuda_version or None, efa, branch or None, ctx=await self._context()
        )

    @function
    async def dockerfile(
        self,
        framework: Annotated[str, Doc("Framework: dynamo, vllm, sglang or trtllm")],
        target: Annotated[str, Doc("Build target, e.g. runtime, dev, frontend")],
        device: Annotated[str, Doc("Device: cuda, xpu or cpu")] = "cuda",
        cuda_version: Annotated[str, Doc("CUDA version, e.g. 12.9 (ignored off CUDA)")] = "12.9",
        platform: Annotated[str, Doc("linux/amd64, linux/arm64, or both comma-separated")] = "linux/amd64",
    ) -> dagger.File:
        """The rendered multi-stage Dockerfile for one combination, named like upstream's render.py output."""
        from .render import dockerfile_name, render

        ctx = await self._context()
        cuda = cuda_version or None
        name = dockerfile_name(ctx, framework, target, device, cuda, platform)
        return dag.directory().with_new_file(name, render(ctx, framework, target, device, cuda, platform)).file(name)

    @function
    def rust(self) -> Rust:
        """The Rust stage: `rust build`, `rust test`, `rust c-library`, `rust fmt`, `rust clippy`."""
        return Rust(**self.inputs())

    @function
    def wheels(self) -> Wheels:
        """The wheel stage: `wheels build`, `wheels dist`, `wheels check`."""
        return Wheels(**self.inputs())

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
        rust, wheels = self.rust(), self.wheels()
        built, tests, wheel_build = await asyncio.gather(
            rust.build(**cache), rust.test(**cache), wheels.build(commit_sha, **cache)
        )
        checks = BuildReport()
        await checks.timed("wheel check", wheels.check(wheel_build.dist, commit_sha))
        report = BuildReport.merge(
            {
                "rust-build": BuildReport.from_json(built.report),
                "rust-test": BuildReport.from_json(tests.report),
                "wheels": BuildReport.from_json(wheel_build.report),
                "checks": checks,
            }
        )
        return (
            dag.directory()
            .with_directory("rust", built.artifacts)
            .with_directory("wheels", wheel_build.dist)
            .with_new_file("build-report.json", report.to_json())
        )
