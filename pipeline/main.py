"""The Dagger module's main object: Dynamo's build pipeline.

Imports stay light (Dagger starts a fresh interpreter per call): context parsing and Jinja2
rendering are imported inside the functions that need them.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

import dagger
from dagger import DefaultPath, Doc, Ignore, check, dag, function, object_type

from .compliance import Compliance
from .errors import BuildFailed, PipelineInputError
from .go import Go
from .image import FRAMEWORK_PACKAGES, Image, IndexService, IndexUrl, alongside
from .native import Native
from .publish import (
    NamedImage,
    Password,
    Publish,
    Published,
    Registry,
    RegistryService,
    SignKey,
    SignPassword,
    Username,
)  # fmt: skip
from .release import Release
from .report import BuildReport, ScanSummary
from .rust import CargoRun, Rust, SccacheRedisPassword, SccacheRedisService
from .scan import IgnoreFile, Scan, ScanReport, TrivyDatabase
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
    "!uv.lock",
    "!deny.toml",
    "!ATTRIBUTIONS-*.md",
    "!hatch_build.py",
    "!README.md",
    "!LICENSE",
    "!container/**",
    "**/target",
    "**/__pycache__",
    "**/.venv",
    "**/*.pyc",
]

Frameworks = Annotated[
    list[str] | None, Doc("Frameworks to build a runtime image for: dynamo, vllm, sglang, trtllm; default: dynamo")
]
BuildProfile = Annotated[
    str, Doc("Cargo profile of the Rust build, the wheels and the EPP's C library: release, dev, or one both workspaces define")
]
# Images are built, probed and scanned with this created label, then labelled with the run's time.
STABLE_CREATED = "1970-01-01T00:00:00Z"


@dataclass(frozen=True)
class GoBinaries:
    """build-all's go stage: the operator's binaries and the EPP, apart, so that each image is keyed by
    its own binaries (a Rust change rebuilds the EPP, not the operator's image)."""

    operator: dagger.Directory
    epp: dagger.File

    def tree(self) -> dagger.Directory:
        """go/ in dist/: the operator's binaries with the EPP beside them."""
        return self.operator.with_file("epp", self.epp)


@dataclass
class BuiltGraph:
    """What the build graph made: dist/ (with the reports), the report, and the images that built."""

    dist: dagger.Directory
    report: BuildReport
    images: list[NamedImage]


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
    def rust(self) -> Rust:
        """The Rust stage: `rust build`, `rust test`, `rust c-library`, `rust fmt`, `rust clippy`."""
        return Rust(**self.inputs())

    @function
    def wheels(self) -> Wheels:
        """The wheel stage: `wheels build`, `wheels dist`, `wheels check`."""
        return Wheels(**self.inputs())

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
        """The checkout's version, after checking every pin (Cargo manifests and locks, pyprojects, charts)."""
        return await self._workspace_version()

    @function
    @check
    async def versions_agree(self) -> None:
        """Fail when a version pin disagrees with the Cargo workspace version (or, for a reference to an
        independently versioned package, with that package's version)."""
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

    async def _runtimes(self, frameworks: list[str] | None) -> list[tuple[str, str]]:
        """(framework, CUDA version) of each runtime image to build, checked against the context first."""
        ctx = await self._context()
        chosen = list(dict.fromkeys(frameworks or ["dynamo"]))
        runtimes = []
        for name in chosen:
            framework = ctx.framework(name)  # unknown: one line with the allowed names
            if not framework.cuda_versions:
                raise PipelineInputError(f"{ctx.source} [frameworks.{name}]: no cuda_versions; a runtime image needs one")
            combo = ctx.combination(name, "runtime", "cuda", framework.cuda_versions[0])
            package = FRAMEWORK_PACKAGES.get(name)
            if package is not None and not combo.framework.version:
                raise PipelineInputError(f"{ctx.source} [frameworks.{name}]: no version to install")
            runtimes.append((name, framework.cuda_versions[0]))
        return runtimes

    async def _graph(
        self,
        commit_sha: str,
        frameworks: list[str] | None,
        index_url: str,
        index: dagger.Service | None,
        scan: Scan | None,
        everything: bool,
        cache: dict,
        profile: str = "release",
    ) -> BuiltGraph:
        """Run the build graph: the images (and with `everything` the Rust build and tests and the wheel
        check), each image scanned when `scan` is given. Stages run as soon as what they need is built;
        a failed stage is recorded and the others still run."""
        import datetime

        from modules.cache import built_at
        from modules.oci import CREATED, files_bytes

        from .graph import Graph, runtime_image_name
        from .tags import check_sha

        session_start, wall = time.time(), time.monotonic()
        # Bad input stops everything before any container runs: one line naming it.
        if commit_sha:
            check_sha(commit_sha)
        version = await self._workspace_version()  # a skewed checkout would ship wheels that do not fit
        runtimes = await self._runtimes(frameworks)
        ctx = await self._context()
        rust, wheels, go, image = self.rust(), self.wheels(), self.go(), self.image()
        if profile != "release":  # a profile neither workspace defines: one line before any container
            (await rust._cargo_workspace()).check_profile(profile)
            await wheels.check_profile(profile)
        probe_image = ctx.image("python").pinned
        graph = Graph()

        async def result_built_at(result: dagger.Directory) -> float:
            return await built_at(probe_image, result)

        async def report_built_at(run: CargoRun) -> float | None:
            return BuildReport.from_json(run.report).steps[0].ran_at

        if everything:
            graph.add("rust-build", lambda: rust.build(profile=profile, **cache), report_built_at)
            graph.add("rust-test", lambda: rust.test(**cache), report_built_at)
        # One wheel build per distinct feature set: frameworks with dynamo's features share its wheels.
        wheel_stage: dict[str, str] = {}
        by_features: dict[tuple[str, ...], str] = {}
        for name in ["dynamo", *(framework for framework, _ in runtimes)]:
            features = tuple(ctx.framework(name).wheel_features)
            if features not in by_features:
                by_features[features] = "wheels" if name == "dynamo" else f"wheels-{name}"
                graph.add(by_features[features], lambda name=name: wheels.build(commit_sha, name, profile=profile, **cache),
                          lambda built: result_built_at(built.dist))  # fmt: skip
            wheel_stage[name] = by_features[features]

        async def wheel_dist(framework: str) -> dagger.Directory:
            return (await graph.need(wheel_stage[framework])).dist

        go_report = BuildReport()

        # The C library the EPP links, built once with the same profile as the rest (release: the Go stage's own).
        if profile != "release":
            graph.add("c-library", lambda: rust.c_library(profile=profile, **cache), result_built_at)

        async def epp_c_library() -> dagger.Directory | None:
            return None if profile == "release" else await graph.need("c-library")

        async def go_binaries() -> GoBinaries:
            # The version is known: the Go stage need not read the pin files again.
            async def operator() -> dagger.Directory:
                binaries = await go.operator_binaries(version, commit_sha)
                return await go_report.timed("operator build", binaries.sync())

            async def epp() -> dagger.File:
                binary = await go.epp(version, commit_sha, await epp_c_library())
                return await go_report.timed("epp build (cgo)", binary.sync())

            return GoBinaries(*await asyncio.gather(operator(), epp()))

        graph.add("go", go_binaries, lambda built: result_built_at(built.tree()))
        checks = BuildReport()
        if everything:

            async def wheel_check() -> str:
                dist = await wheel_dist("dynamo")
                return await checks.timed("wheel check", wheels.check(dist, commit_sha))

            graph.add("wheel-check", wheel_check)

        # Images are built with a fixed created label, probed and scanned as such (so an unchanged
        # image is a cache hit), then labelled with this run's time.
        created = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        image_bytes: dict[str, int] = {}
        # What the runtimes and the frontend are built on (gigabytes): scanned once, reused while unchanged.
        lowers: dict[str, dagger.Container] = {}
        builds = {}
        for framework, cuda in runtimes:
            name = runtime_image_name(framework, cuda)

            async def runtime(framework: str = framework, cuda: str = cuda, name: str = name) -> dagger.Container:
                # The image's venv (NIXL, the framework: gigabytes) installs while the wheels compile.
                dist = await alongside(image.runtime_venv(framework, cuda, index_url, index), wheel_dist(framework))
                layers = await image._runtime_layers(framework, cuda, dist, commit_sha, index_url, index, STABLE_CREATED)
                lowers[name] = layers.lower
                return layers.image

            builds[name] = runtime

        async def frontend() -> dagger.Container:
            binaries: GoBinaries = await graph.need("go")
            layers = await image._frontend_layers(await wheel_dist("dynamo"), binaries.epp, commit_sha,
                                                  index_url=index_url, index=index, created=STABLE_CREATED)  # fmt: skip
            lowers["frontend"] = layers.lower
            return layers.image

        async def planner() -> dagger.Container:
            return await image.planner(await wheel_dist("dynamo"), commit_sha, index_url, index, STABLE_CREATED)

        go_stamp = await go._stamp(version, commit_sha)  # the version is resolved: nothing to read

        # The go stage's own binaries: their build chains (the EPP's C library and cgo checks) are not made twice.
        async def operator() -> dagger.Container:
            binaries: GoBinaries = await graph.need("go")
            return await go._operator_image(binaries.operator, *go_stamp, STABLE_CREATED)

        async def epp() -> dagger.Container:
            binaries: GoBinaries = await graph.need("go")
            return await go._epp_image(binaries.epp, *go_stamp, STABLE_CREATED)

        builds |= {"frontend": frontend, "dynamo-planner-cpu": planner, "operator": operator, "epp": epp}

        def image_stage(name: str, build: Callable[[], Awaitable[dagger.Container]]):
            async def run() -> dagger.Container:
                ctr = await build()
                image_bytes[name] = await files_bytes(ctr, probe_image)
                return ctr

            return run

        for name, build in builds.items():
            graph.add(f"image {name}", image_stage(name, build), lambda ctr: result_built_at(ctr.rootfs()))

        scans: dict[str, ScanReport] = {}
        if scan is not None:
            for name in builds:

                async def scanned(name: str = name) -> ScanReport:
                    report = await scan.image(await graph.need(f"image {name}"), name, lowers.get(name))
                    scans[name] = report
                    report.gate()  # the gate blocks: this stage fails naming the image
                    return report

                graph.add(f"scan {name}", scanned, lambda report: result_built_at(report.files()))

        results = await graph.wait()
        dist = dag.directory()
        steps = {}
        if "rust-build" in results:
            dist = dist.with_directory("rust", results["rust-build"].artifacts)
            steps["rust-build"] = BuildReport.from_json(results["rust-build"].report)
        if "rust-test" in results:
            steps["rust-test"] = BuildReport.from_json(results["rust-test"].report)
        for stage in by_features.values():
            if stage in results:
                # wheels/: dynamo's (checked); wheels/<framework>/: another feature set's.
                dist = dist.with_directory(stage.replace("-", "/", 1), results[stage].dist)
                steps[stage] = BuildReport.from_json(results[stage].report)
        if "go" in results:
            dist = dist.with_directory("go", results["go"].tree())
        steps |= {"go": go_report, "checks": checks}
        for name, report in scans.items():
            dist = (
                dist.with_file(f"sboms/{name}.cdx.json", report.sbom)
                .with_file(f"scans/{name}.trivy.json", report.report)
                .with_file(f"scans/{name}.sarif", report.sarif)
            )
        report = BuildReport.merge(steps)
        report.stages, report.image_bytes, report.session_start = graph.outcomes, image_bytes, session_start
        report.scans = {name: ScanSummary(scan.passed, scan.vulnerabilities_not_checked) for name, scan in scans.items()}
        report.wall_seconds = time.monotonic() - wall
        dist = dist.with_new_file("build-report.json", report.to_json()).with_new_file(
            "build-report.md", report.to_markdown()
        )
        images = [
            NamedImage(name=name, variants=[results[f"image {name}"].with_label(CREATED, created)])
            for name in builds
            if f"image {name}" in results
        ]
        return BuiltGraph(dist=dist, report=report, images=images)

    @function(cache="session")
    async def build_all(
        self,
        commit_sha: BuiltCommit = "",
        frameworks: Frameworks = None,
        trivy_db: TrivyDatabase = None,
        ignore_file: IgnoreFile = None,
        index_url: IndexUrl = "",
        index: IndexService = None,
        keep_going: Annotated[
            bool, Doc("Return dist/ (with the report naming the failed stages) even when a stage fails")
        ] = False,
        sccache_redis: SccacheRedisService = None,
        sccache_redis_password: SccacheRedisPassword = None,
        profile: BuildProfile = "release",
    ) -> dagger.Directory:
        """Build, test, check and scan everything: rust/, wheels/, go/, sboms/, scans/, build-report.json/.md.

        `dagger call build-all -o dist`. The Rust build and tests, the wheels and the Go binaries
        run at once; each image starts when its wheels or binaries are there (a runtime per
        framework, the frontend, the planner, the operator and the EPP) and is scanned as soon as
        it is built. A stage that fails is named and the others still finish; then build-all fails
        naming it, or with --keep-going returns dist/ whose report names it.
        """
        cache = {"sccache_redis": sccache_redis, "sccache_redis_password": sccache_redis_password}
        scan = self.scan(trivy_db, ignore_file)
        built = await self._graph(commit_sha, frameworks, index_url, index, scan, True, cache, profile)
        if built.report.failed and not keep_going:
            from .graph import failure_summary

            hint = "rerun with --keep-going to export dist/ with build-report.md"
            raise BuildFailed(failure_summary(built.report.stages, hint))
        return built.dist

    @function
    def scan(self, trivy_db: TrivyDatabase = None, ignore_file: IgnoreFile = None) -> Scan:
        """Trivy scans: `scan image --container=... --name=...`, `scan source-tree`; each has a `gate`."""
        return Scan(**self.inputs(), trivy_db=trivy_db, ignore_file=ignore_file)

    @function
    def publisher(
        self,
        registry: Registry = "",
        username: Username = "",
        password: Password = None,
        registry_service: RegistryService = None,
        sign_key: SignKey = None,
        sign_password: SignPassword = None,
        trivy_db: TrivyDatabase = None,
        ignore_file: IgnoreFile = None,
    ) -> Publish:
        """The publish stage with its registry, credentials and signing key (`images`, `promote`, `verify`)."""
        return Publish(
            **self.inputs(), registry=registry, username=username, password=password,
            registry_service=registry_service, sign_key=sign_key, sign_password=sign_password,
            trivy_db=trivy_db, ignore_file=ignore_file,
        )  # fmt: skip

    async def _built_images(
        self, sha: str, frameworks: list[str] | None = None, index_url: str = "", index: dagger.Service | None = None
    ) -> list[NamedImage]:
        """The images build-all builds from `sha`, named for the tag scheme (not scanned here: publish scans).

        Fails naming the image (or the wheels or binaries it needs) that did not build.
        """
        from .graph import failure_summary

        built = await self._graph(sha, frameworks, index_url, index, None, everything=False, cache={})
        if built.report.failed:
            raise BuildFailed(failure_summary(built.report.stages, "nothing was pushed"))
        return built.images

    @function(cache="never")
    async def publish(
        self,
        sha: Annotated[str, Doc("Git commit SHA the images were built from")],
        name: Annotated[str, Doc("Publish only this image: operator, epp, frontend, <framework>-<target>-cuda<X.Y>")] = "",
        variants: Annotated[list[dagger.Container] | None, Doc("That image, one container per platform")] = None,
        registry: Registry = "",
        username: Username = "",
        password: Password = None,
        registry_service: RegistryService = None,
        sign_key: SignKey = None,
        sign_password: SignPassword = None,
        trivy_db: TrivyDatabase = None,
        ignore_file: IgnoreFile = None,
        branch: Annotated[str, Doc("Branch built; 'main' adds the main-* aliases")] = "",
        dry_run: Annotated[bool, Doc("Scan and print what would be pushed; push and sign nothing")] = False,
        frameworks: Frameworks = None,
        index_url: IndexUrl = "",
        index: IndexService = None,
    ) -> Published:
        """Scan, then push in Dynamo's tag scheme (one manifest for all platforms), annotated and signed.

        Without --name, every image build-all builds (--frameworks, --index-url and --index as for
        build-all); nothing is pushed unless all pass the scan.
        """
        from .graph import SIDE_IMAGES, runtime_image_name

        if bool(name) != bool(variants):
            raise PipelineInputError("--name and --variants go together")
        publisher = self.publisher(
            registry, username, password, registry_service, sign_key, sign_password, trivy_db, ignore_file
        )
        names = [name] if name else [*(runtime_image_name(*runtime) for runtime in await self._runtimes(frameworks)),
                                     *SIDE_IMAGES]  # fmt: skip
        await publisher.refuse_unchecked(names)  # before anything is built
        if name:
            images = [NamedImage(name=name, variants=variants)]
        else:
            images = await self._built_images(sha, frameworks, index_url, index)
        return await publisher.images(images, sha, branch, dry_run=dry_run)

    @function(cache="never")
    async def promote(
        self,
        source: Annotated[str, Doc("Published image by digest: host/path@sha256:...")],
        target: Annotated[str, Doc("Where to copy it: host/path:tag")],
        username: Username = "",
        password: Password = None,
        registry_service: RegistryService = None,
    ) -> str:
        """Copy a published image and its signatures by digest to another tag (a release without a rebuild)."""
        publisher = self.publisher(username=username, password=password, registry_service=registry_service)
        return await publisher.promote(source, target)

    @function
    def compliance(self) -> Compliance:
        """Lock-file hygiene, cargo-deny (deny.toml) and attributions of the checkout."""
        return Compliance(**self.inputs())

    @function
    async def release(self) -> Release:
        """Release the checkout's version: next RC tag, notes, wheels checked for upload."""
        return Release(**self.inputs(), version=await self._workspace_version())

    @function
    async def preflight(
        self,
        trivy_db: TrivyDatabase = None,
        ignore_file: IgnoreFile = None,
        frameworks: Annotated[
            list[str] | None, Doc("Runtime images to build and scan, one per framework; default: dynamo")
        ] = None,
        index_url: IndexUrl = "",
        index: IndexService = None,
    ) -> str:
        """The pre-release checklist, every item at once: Rust tests, fmt, clippy, wheel contents, Go vet
        and tests, images build and scan (runtime, frontend, planner, operator, EPP), versions agree,
        lock files in sync, licenses allowed, attributions current. Fails listing each failed item with
        what to fix; returns one line per item that passed."""
        from .errors import CheckFailed
        from .preflight import run_checklist

        await self._runtimes(frameworks)  # an unknown framework is bad input, before any container runs
        compliance, rust, wheels, go = self.compliance(), self.rust(), self.wheels(), self.go()
        # build-all's image graph (wheels, binaries, every image, each scanned), shared by the two items.
        graph = asyncio.ensure_future(
            self._graph("", frameworks, index_url, index, self.scan(trivy_db, ignore_file), everything=False, cache={})
        )

        async def wheel_contents() -> str:
            return await wheels.check(await wheels.dist())

        async def images_build() -> None:
            stages = [stage for stage in (await graph).report.stages if not stage.name.startswith("scan ")]
            failed = [stage for stage in stages if stage.status == "failed"]
            if failed:
                raise CheckFailed("\n".join(
                    f"{stage.name} does not build (rerun `dagger call build-all --keep-going` to see the step): {stage.error}"
                    for stage in failed
                ))  # fmt: skip

        async def images_scan() -> None:
            scans = [stage for stage in (await graph).report.stages if stage.name.startswith("scan ")]
            blocked = [stage.error for stage in scans if stage.status == "failed"]
            unscanned = [stage.name.removeprefix("scan ") for stage in scans if stage.status == "skipped"]
            if blocked or unscanned:
                raise CheckFailed("\n".join(
                    blocked + [f"{name}: not scanned (it did not build)" for name in unscanned]
                    + ["update the base image or package named, or accept the ID in the context's "
                       "[scan] ignore_file (--ignore-file)"]
                ))  # fmt: skip

        return await run_checklist({
            "rust tests (cargo test --locked)": rust.test(),
            "cargo fmt --check": rust.fmt(),
            "clippy -D warnings": rust.clippy(),
            "wheel contents (tags, files, manylinux policy, import)": wheel_contents(),
            "operator go vet": go.operator_vet(),
            "operator go test": go.operator_test(),
            "EPP go vet": go.epp_vet(),
            "EPP go test": go.epp_test(),
            "images build (runtime, frontend, planner, operator, EPP)": images_build(),
            "images scan (Trivy, [scan] severity gate)": images_scan(),
            "versions agree": self.versions_agree(),
            "lock files present and in sync": compliance.lockfiles(),
            "licenses allowed (cargo-deny)": compliance.licenses(),
            "attributions current": compliance.attributions_current(),
        })
