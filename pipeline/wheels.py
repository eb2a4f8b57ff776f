"""The wheel stage: maturin + auditwheel for the PyO3 bindings, hatchling (via uv) for the pure package.

`dagger call wheels dist -o dist`; builds in the Rust stage's builder.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Annotated

import dagger
from dagger import Doc, ReturnType, dag, field, function, object_type

from modules.cache import cache_volume, salted
from modules.python_tools import PythonTools
from modules.rust_toolchain import with_sccache_stats
from modules.system_packages import with_system_packages
from modules.wheels import WheelError, check_wheel, symbols_above_policy

from .cargo import CargoWorkspace, parse_manifest
from .errors import PipelineInputError
from .report import BuildReport
from .rust import (
    MATURIN_EXCLUDE,
    SOURCE_DIR,
    Rust,
    SccacheRedisPassword,
    SccacheRedisService,
    in_target_dir,
    sccache_step,
    with_source,
)  # fmt: skip
from .stage import Stage
from .tags import check_sha

WHEEL_ARCH = "x86_64"
BuiltCommit = Annotated[str, Doc("Git commit the wheels are built from; stamped into the version")]
WheelProfile = Annotated[
    str, Doc("Cargo profile of the runtime wheel: release (what ships), dev, or one the bindings' Cargo.toml defines")
]
WheelFramework = Annotated[str, Doc("Framework whose wheel features to build: dynamo, vllm, sglang or trtllm")]
FFmpegTree = Annotated[
    dagger.Directory | None,
    Doc("FFmpeg installed under usr/local (headers, libraries, pkg-config) for media-ffmpeg; empty: the Native stage's"),
]
COMMIT_SHIM_DIR = "/opt/commit-shim"
# The pure wheel never reads Rust: a Rust-only edit leaves `uv build` cached (the view is keyed by content).
PURE_WHEEL_EXCLUDE = ["**/*.rs", "**/Cargo.toml", "**/Cargo.lock", ".cargo/**", "rust-toolchain.toml"]
# The GPU Memory Service's C++ extension needs Python's headers: manylinux carries them with each
# Python, a Debian builder (the offline stand-in) in python3-dev.
GMS_BUILD_PACKAGES = {"apt": ("python3-dev",)}
GMS_PREFIX = "gpu_memory_service-"
FFMPEG_LIB = "/usr/local/lib"
# Build-time libraries a wheel feature links, checked before maturin runs (pkg-config modules,
# then the packages that carry them on dnf and apt).
FEATURE_LIBRARIES = {
    "media-ffmpeg": (
        "libavcodec libavformat libavutil libswscale libswresample",
        "FFmpeg's development libraries (ffmpeg-devel; apt: libavcodec-dev libavformat-dev libavutil-dev "
        "libswscale-dev libswresample-dev)",
    ),
}
# Hatch hooks (upstream's included) stamp the commit from `git rev-parse --short HEAD` only. The
# build has no .git (it would enter every cache key), so this `git` answers that one question.
_GIT_SHIM = """#!/bin/sh
if [ "$*" = "rev-parse --short HEAD" ] && [ -n "${DYNAMO_COMMIT_SHA:-}" ]; then
    printf '%.7s\n' "$DYNAMO_COMMIT_SHA"
    exit 0
fi
echo "fatal: not a git repository (the pipeline's git answers only rev-parse --short HEAD)" >&2
exit 128
"""
_LIST_WHEELS = """
import json, sys, zipfile
members = {}
for path in sys.argv[1:]:
    with zipfile.ZipFile(path) as wheel:
        members[path.rsplit("/", 1)[-1]] = {
            name: wheel.read(name).decode() if name.endswith("_version.py") else ""
            for name in wheel.namelist()
        }
print(json.dumps(members))
"""


async def _installed(python: dagger.Container, names: list[str]) -> dagger.Container:
    """`python` with the wheels in /wheels installed by pip (the files themselves, not the names: an
    index may hold other, newer releases of them); pip's cache on a volume, so a check does not
    download the wheels' dependencies again."""
    return await python.with_mounted_cache("/root/.cache/pip", cache_volume("pip-wheel-check")).with_exec(
        ["python3", "-m", "pip", "install", "-q", *(f"/wheels/{n}" for n in names)]
    ).sync()


def wheel_prefix(project_name: str) -> str:
    """The file-name prefix of a project's wheels: "ai-dynamo" -> "ai_dynamo-"."""
    return re.sub(r"[-_.]+", "_", project_name).lower() + "-"


@object_type
class WheelBuild:
    """The built wheels and the report of how they were built."""

    dist: dagger.Directory = field()
    report: str = field()


@object_type
class Wheels(Stage):
    """The two wheels: ai-dynamo-runtime (PyO3 bindings) and ai-dynamo (pure Python)."""

    async def _pyproject(self, path: str, backend: str) -> dict:
        if not await self.source.exists(path):
            raise PipelineInputError(f"{path}: not found in the source directory; it defines a wheel")
        project = parse_manifest(await self.source.file(path).contents(), path)
        found = project.get("build-system", {}).get("build-backend", "")
        if not found.startswith(backend):
            raise PipelineInputError(f"{path}: build-backend is {found!r}, the wheel stage builds it with {backend}")
        if "name" not in project.get("project", {}):
            raise PipelineInputError(f"{path}: [project] has no name")
        return project

    async def _wheel_projects(self) -> tuple[str, dict, dict]:
        """(bindings dir, bindings pyproject, root pyproject), checked before any container runs."""
        bindings = (await self._context()).workspace.python_bindings
        runtime = await self._pyproject(f"{bindings}/pyproject.toml", "maturin")
        if "module-name" not in runtime.get("tool", {}).get("maturin", {}):
            raise PipelineInputError(f"{bindings}/pyproject.toml: [tool.maturin] has no module-name")
        return bindings, runtime, await self._pyproject("pyproject.toml", "hatchling")

    async def check_profile(self, profile: str) -> None:
        """Fail with one line unless the bindings' own workspace knows `profile`."""
        bindings, _, _ = await self._wheel_projects()
        (await self._bindings_workspace(bindings)).check_profile(profile)

    async def _bindings_workspace(self, bindings: str) -> CargoWorkspace:
        """The bindings' Cargo.toml (its own workspace upstream: the root's profiles do not apply)."""
        path = f"{bindings}/Cargo.toml"
        if not await self.source.exists(path):
            raise PipelineInputError(f"{path}: not found; the runtime wheel is built from it")
        return CargoWorkspace.from_manifests(path, await self.source.file(path).contents(), {})

    async def _wheel_features(self, framework: str, bindings: str) -> list[str]:
        """The framework's wheel_features from the context, each checked against the bindings' Cargo.toml."""
        ctx = await self._context()
        features = list(ctx.framework(framework).wheel_features)
        if features:
            workspace = await self._bindings_workspace(bindings)
            try:
                workspace.check_features(features)
            except PipelineInputError as error:
                raise PipelineInputError(f"{ctx.source} [frameworks.{framework}] wheel_features: {error}") from None
        return features

    async def _wheel_platform(self) -> str:
        """The platform tag auditwheel repairs to: the context's policy on this architecture."""
        return f"{(await self._context()).tools['manylinux_policy']}_{WHEEL_ARCH}"

    @function
    async def build(
        self,
        commit_sha: BuiltCommit = "",
        framework: WheelFramework = "dynamo",
        sccache_redis: SccacheRedisService = None,
        sccache_redis_password: SccacheRedisPassword = None,
        profile: WheelProfile = "release",
        ffmpeg: FFmpegTree = None,
    ) -> WheelBuild:
        """Build ai-dynamo-runtime (maturin, auditwheel repair) and ai-dynamo (uv build) with a report.

        A framework with the media-ffmpeg feature (sglang) builds against the Native stage's FFmpeg;
        auditwheel then bundles the FFmpeg libraries the extension links.
        """
        if commit_sha:
            check_sha(commit_sha)
        bindings, runtime_project, _ = await self._wheel_projects()
        features = await self._wheel_features(framework, bindings)
        await self.check_profile(profile)
        policy = await self._wheel_platform()
        rust = Rust(**self.inputs())
        # One toolchain container; each build mounts only the part of the checkout it packs.
        toolchain = await rust._toolchain(sccache_redis, sccache_redis_password)
        builder = with_source(toolchain, self.source.filter(exclude=MATURIN_EXCLUDE))
        report = BuildReport()

        command = ["maturin", "build", "--profile", profile, "--locked", "--compatibility", "linux", "--out", "/dist/raw"]
        if features:
            # maturin's --features replaces [tool.maturin] features (e.g. pyo3/extension-module): pass both.
            listed = runtime_project["tool"]["maturin"].get("features", [])
            command += ["--features", ",".join([*listed, *(f for f in features if f not in listed)])]
        in_bindings = (await rust._with_target_dir(builder, bindings)).with_workdir(f"{SOURCE_DIR}/{bindings}")
        if "media-ffmpeg" in features:
            if ffmpeg is None:
                from .native import Native

                ffmpeg = await Native(**self.inputs()).ffmpeg()
            # Headers, libraries and .pc files; the source tarball stays out of the builder.
            in_bindings = (
                in_bindings.with_directory("/", ffmpeg, exclude=["usr/local/src"])
                .with_env_variable("PKG_CONFIG_PATH", f"{FFMPEG_LIB}/pkgconfig")
                # auditwheel repair finds the libraries to bundle through the loader's path.
                .with_env_variable("LD_LIBRARY_PATH", FFMPEG_LIB)
            )
        for feature in features:
            if feature in FEATURE_LIBRARIES:
                modules, packages = FEATURE_LIBRARIES[feature]
                message = f"wheel feature {feature} ({framework}) needs {packages}: pkg-config lacks some of {modules}"
                in_bindings = in_bindings.with_exec(
                    ["sh", "-c", f'pkg-config --exists {modules} || {{ echo "$1" >&2; exit 1; }}', "check", message]
                )
        # The wheel lands in /dist/raw; cargo's target directory stays on its cache volume.
        maturin = in_bindings.with_exec(with_sccache_stats(in_target_dir(command)))
        repaired = maturin.with_exec(
            ["sh", "-c", 'auditwheel repair --plat "$1" --wheel-dir /dist/wheels /dist/raw/*.whl', "repair", policy],
            expect=ReturnType.ANY,
        )
        pure = (
            with_source(toolchain, self.source.filter(exclude=PURE_WHEEL_EXCLUDE))
            .with_new_file(f"{COMMIT_SHIM_DIR}/git", _GIT_SHIM, permissions=0o755)
            .with_env_variable("PATH", f"{COMMIT_SHIM_DIR}:${{PATH}}", expand=True)
            .with_env_variable("DYNAMO_COMMIT_SHA", commit_sha)
            .with_exec(["uv", "build", "--wheel", "--out-dir", "/dist/wheels", "."])
        )

        async def runtime_wheel() -> None:
            report.add(await sccache_step("maturin build", maturin))
            if await report.timed("auditwheel repair", repaired.exit_code()) != 0:
                raise WheelError(await self._policy_violation(maturin, policy, await repaired.stderr()))

        await asyncio.gather(runtime_wheel(), report.timed("uv build --wheel", pure.sync()))
        # Wheels only: uv also drops a .gitignore into its output directory.
        dist = (
            dag.directory()
            .with_directory(".", repaired.directory("/dist/wheels"), include=["*.whl"])
            .with_directory(".", pure.directory("/dist/wheels"), include=["*.whl"])
        )
        return WheelBuild(dist=dist, report=report.to_json())

    async def _policy_violation(self, built: dagger.Container, policy: str, auditwheel_stderr: str) -> str:
        """Name the symbols that keep the wheel out of `policy`, or quote auditwheel."""
        dumped = await built.with_exec(
            ["sh", "-c", "cd /tmp && python -m zipfile -e /dist/raw/*.whl unpacked && "
             "find unpacked -name '*.so' -exec objdump -T {} +"]
        ).stdout()
        symbols = symbols_above_policy(dumped, policy.removesuffix(f"_{WHEEL_ARCH}"))
        if symbols:
            return f"the runtime wheel cannot be {policy}: it imports {', '.join(symbols)}"
        return f"auditwheel repair --plat {policy} failed:\n{auditwheel_stderr.strip()}"

    @function
    async def dist(
        self,
        commit_sha: BuiltCommit = "",
        framework: WheelFramework = "dynamo",
        sccache_redis: SccacheRedisService = None,
        sccache_redis_password: SccacheRedisPassword = None,
        profile: WheelProfile = "release",
        ffmpeg: FFmpegTree = None,
    ) -> dagger.Directory:
        """The wheels as a directory (`dagger call wheels dist -o dist`)."""
        return (
            await self.build(commit_sha, framework, sccache_redis, sccache_redis_password, profile, ffmpeg)
        ).dist

    @function
    async def gpu_memory_service(self) -> dagger.Directory:
        """The GPU Memory Service wheel (`uv build` of [workspace] gpu_memory_service, setuptools with a C++ extension).

        Versioned on its own, so built on its own: only its directory enters the build, and a change
        elsewhere in the checkout reuses the wheel. Built for the context's Python, as the images' venvs run it.
        """
        ctx = await self._context()
        path = ctx.workspace.gpu_memory_service
        if not await self.source.exists(f"{path}/pyproject.toml"):
            raise PipelineInputError(
                f"{path}/pyproject.toml: not found in the source directory ([workspace] gpu_memory_service in {ctx.source})"
            )
        tools = PythonTools(uv_image=ctx.image("uv").pinned, uv_version=ctx.tools["uv"], python=ctx.tools["python"])
        built = (
            dag.container()
            .from_(ctx.image("manylinux").pinned)
            .with_(salted)
            .with_(lambda ctr: with_system_packages(ctr, GMS_BUILD_PACKAGES))
            .with_(tools.with_uv)
            .with_directory("/src", self.source.directory(path))
            .with_exec(["uv", "build", "--wheel", "--python", tools.python, "--out-dir", "/dist", "/src"])
        )
        # Wheels only: uv also drops a .gitignore into its output directory.
        return dag.directory().with_directory(".", built.directory("/dist"), include=["*.whl"])

    @function
    async def check(
        self,
        dist: Annotated[dagger.Directory, Doc("Wheels to check, e.g. the output of `wheels dist`")],
        commit_sha: Annotated[str, Doc("Commit the pure wheel's version must carry")] = "",
    ) -> str:
        """Check tags, contents and policy, then install both wheels in a clean Python and import them."""
        bindings, runtime_project, pure_project = await self._wheel_projects()
        ctx = await self._context()
        policy = await self._wheel_platform()
        names = [name for name in await dist.entries() if name.endswith(".whl")]
        runtime_prefix = wheel_prefix(runtime_project["project"]["name"])
        pure_prefix = wheel_prefix(pure_project["project"]["name"])
        runtime_names = [name for name in names if name.lower().startswith(runtime_prefix)]
        pure_names = [name for name in names if name.lower().startswith(pure_prefix)]
        if len(runtime_names) != 1 or len(pure_names) != 1 or len(names) != 2:
            raise WheelError(f"expected one {runtime_prefix}*.whl and one {pure_prefix}*.whl, found {names}")

        python = dag.container().from_(ctx.image("python").pinned).with_(salted).with_mounted_directory("/wheels", dist)
        module_name = runtime_project["tool"]["maturin"]["module-name"]

        async def listed() -> dict:
            listed_wheels = python.with_exec(["python3", "-c", _LIST_WHEELS, *(f"/wheels/{n}" for n in names)])
            return json.loads(await listed_wheels.stdout())

        async def audited() -> str:
            # auditwheel reads the wheel alone: no checkout, so a source edit alone does not rerun it.
            toolchain = await Rust(**self.inputs())._toolchain()
            return await toolchain.with_mounted_directory("/wheels", dist).with_exec(
                ["auditwheel", "show", f"/wheels/{runtime_names[0]}"]
            ).stdout()

        # The three container steps are independent: the listing, auditwheel and the install run at
        # once (the check follows every wheel build on the critical path of build-all). Their
        # findings are reported in the order of a sequential check: contents, policy, install.
        listing, shown, installed = await asyncio.gather(
            listed(), audited(), _installed(python, names), return_exceptions=True
        )
        for outcome in (listing, shown):
            if isinstance(outcome, BaseException):
                raise outcome
        module_path = module_name.replace(".", "/")
        check_wheel(
            runtime_names[0], list(listing[runtime_names[0]]), python="cp310", abi="abi3", platform=policy,
            required=[f"{module_path}.abi3.so"], forbidden_prefixes=("src/", "target/"),
        )
        check_wheel(pure_names[0], list(listing[pure_names[0]]), python="py3", abi="none", platform="any", required=[])
        version_files = {n: text for n, text in listing[pure_names[0]].items() if n.endswith("/_version.py")}
        if not version_files:
            raise WheelError(f"{pure_names[0]}: no _version.py written by the build hook")
        if commit_sha:
            unstamped = [n for n, text in version_files.items() if f"+{commit_sha[:7]}" not in text]
            if unstamped:
                raise WheelError(f"{pure_names[0]}: {', '.join(unstamped)} lack +{commit_sha[:7]}")
        if policy not in shown:
            raise WheelError(f"auditwheel show does not place {runtime_names[0]} in {policy}:\n{shown}")
        if isinstance(installed, BaseException):
            raise installed
        modules = [module_name] + [n.removesuffix(".py").replace("/", ".") for n in sorted(version_files)]
        imported = await installed.with_exec(
            ["python3", "-c", "import importlib, sys; [print(m, importlib.import_module(m).__name__) for m in sys.argv[1:]]", *modules]
        ).stdout()
        return f"{shown.strip()}\n\ninstalled and imported:\n{imported.strip()}"
