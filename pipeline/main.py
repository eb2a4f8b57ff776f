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

from .compliance import Compliance
from .errors import PipelineInputError
from .go import Go
from .image import Image, IndexService, IndexUrl
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
from .report import BuildReport
from .rust import Rust, SccacheRedisPassword, SccacheRedisService
from .scan import IgnoreFile, Scan, TrivyDatabase
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

    @function
    async def build_all(
        self,
        commit_sha: BuiltCommit = "",
        sccache_redis: SccacheRedisService = None,
        sccache_redis_password: SccacheRedisPassword = None,
    ) -> dagger.Directory:
        """Build, test and check everything: rust/, wheels/ (checked), go/ (operator, EPP), build-report.json.

        `dagger call build-all -o dist`. The Rust build, the Rust tests, the wheels and the Go
        binaries run in parallel; the wheel check follows the wheels.
        """
        # A skewed checkout would ship wheels and charts that do not fit: refuse it before building.
        version = await self._workspace_version()
        cache = {"sccache_redis": sccache_redis, "sccache_redis_password": sccache_redis_password}
        rust, wheels, go = self.rust(), self.wheels(), self.go()
        go_report = BuildReport()

        async def go_binaries() -> dagger.Directory:
            # The version is known: the Go stage need not read the pin files again.
            operator = await go.operator_binaries(version, commit_sha)
            await go_report.timed("operator build", operator.sync())
            epp = await go.epp(version, commit_sha)
            await go_report.timed("epp build (cgo)", epp.sync())
            return operator.with_file("epp", epp)

        built, tests, wheel_build, go_dir = await asyncio.gather(
            rust.build(**cache), rust.test(**cache), wheels.build(commit_sha, **cache), go_binaries()
        )
        checks = BuildReport()
        await checks.timed("wheel check", wheels.check(wheel_build.dist, commit_sha))
        report = BuildReport.merge(
            {
                "rust-build": BuildReport.from_json(built.report),
                "rust-test": BuildReport.from_json(tests.report),
                "wheels": BuildReport.from_json(wheel_build.report),
                "go": go_report,
                "checks": checks,
            }
        )
        return (
            dag.directory()
            .with_directory("rust", built.artifacts)
            .with_directory("wheels", wheel_build.dist)
            .with_directory("go", go_dir)
            .with_new_file("build-report.json", report.to_json())
        )

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

    async def _built_images(self, sha: str) -> list[NamedImage]:
        """The images build-all builds, named for the tag scheme (none yet: build-all builds no image)."""
        raise PipelineInputError("build-all builds no images yet: pass --name and --variants")

    @function(cache="never")
    async def publish(
        self,
        sha: Annotated[str, Doc("Git commit SHA the images were built from")],
        name: Annotated[str, Doc("Publish only this image: operator, frontend, <framework>-<target>-cuda<X.Y>")] = "",
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
    ) -> Published:
        """Scan, then push in Dynamo's tag scheme (one manifest for all platforms), annotated and signed.

        Without --name, every image build-all builds; nothing is pushed unless all pass the scan.
        """
        if bool(name) != bool(variants):
            raise PipelineInputError("--name and --variants go together")
        images = [NamedImage(name=name, variants=variants)] if name else await self._built_images(sha)
        publisher = self.publisher(
            registry, username, password, registry_service, sign_key, sign_password, trivy_db, ignore_file
        )
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

    async def _preflight_images(
        self, frameworks: list[str], index_url: str, index: dagger.Service | None
    ) -> dict[str, dagger.Container]:
        """The images preflight builds and scans, by name: <framework>-runtime, frontend, planner,
        operator, epp. Local to preflight (build-all's list is `_built_images`)."""
        from datetime import datetime, timezone

        image, go = self.image(), self.go()
        # A creation label of today, not of this second: the same checkout gives the same image
        # tarballs all day, so their scans are cache hits (the vulnerability database is daily too).
        created = datetime.now(timezone.utc).strftime("%Y-%m-%dT00:00:00Z")
        args = {"index_url": index_url, "index": index, "created": created}
        builds = {f"{framework}-runtime": image.runtime(framework, **args) for framework in frameworks}
        builds |= {
            "frontend": image.frontend(**args),
            "planner": image.planner(**args),
            "operator": go.operator_image(created=created),
            "epp": go.epp_image(created=created),
        }
        return dict(zip(builds, await asyncio.gather(*builds.values()), strict=True))

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

        frameworks = frameworks or ["dynamo"]
        ctx = await self._context()
        for framework in frameworks:
            ctx.framework(framework)  # an unknown one is bad input, before any container runs
        compliance, rust, wheels, go = self.compliance(), self.rust(), self.wheels(), self.go()
        scan = self.scan(trivy_db, ignore_file)
        images = asyncio.ensure_future(self._preflight_images(frameworks, index_url, index))

        async def wheel_contents() -> str:
            return await wheels.check(await wheels.dist())

        async def images_build() -> None:
            built = await images
            results = await asyncio.gather(*(ctr.sync() for ctr in built.values()), return_exceptions=True)
            failed = [(name, result) for name, result in zip(built, results, strict=True) if isinstance(result, BaseException)]
            if failed:
                from .preflight import reason

                raise CheckFailed("\n".join(
                    f"{name} does not build (rerun `dagger call image ...`/`go ...-image` to see the step): {reason(error)}"
                    for name, error in failed
                ))  # fmt: skip

        async def images_scan() -> None:
            built = await images
            reports = await asyncio.gather(*(scan.image(ctr, name) for name, ctr in built.items()))
            blocked = [report.verdict for report in reports if not report.passed]
            if blocked:
                raise CheckFailed(
                    "\n".join(blocked) + "\nupdate the base image or package named, or accept the ID in the "
                    "context's [scan] ignore_file (--ignore-file)"
                )

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
