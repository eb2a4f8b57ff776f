"""The publish stage: scan every image, then push it in Dynamo's tag scheme, sign it, and promote by digest.

Nothing is pushed unless every image passes the scan gate, and nothing at all where the scans cannot
check vulnerabilities ([scan] vulnerability_db = "none" and no --trivy-db). Each image goes out once per tag, as one
multi-platform manifest when it has more than one platform variant, annotated with its provenance
(source, revision, context digest, builder) and, given a key, signed with cosign. A promotion copies
a published digest to another repository or tag: a release without a rebuild.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import dagger
from dagger import Doc, dag, field, function, object_type

from modules.cosign import Cosign, build_cosign
from modules.registry import RegistryAccess, registry_host

from .errors import PipelineInputError
from .findings import ScanBlocked, publish_refusal
from .refs import DigestRef, check_repository, provenance, publish_plan, split_target, tagged, variant_tags
from .scan import IgnoreFile, Scan, ScanReport, TrivyDatabase
from .stage import Stage

DYNAMO_SOURCE_URL = "https://github.com/ai-dynamo/dynamo"

# Arguments shared by the main object's publish/promote and this stage.
Registry = Annotated[str, Doc("Repository to push to, host[:port]/path; default: [registry] default in the context")]
Username = Annotated[str, Doc("Registry user name")]
Password = Annotated[dagger.Secret | None, Doc("Registry password or token (e.g. env://REGISTRY_PASSWORD)")]
RegistryService = Annotated[
    dagger.Service | None, Doc("A registry running as a service, addressed as localhost:<port> in --registry")
]
SignKey = Annotated[dagger.Secret | None, Doc("cosign private key (e.g. file://cosign.key); no key, no signature")]
SignPassword = Annotated[dagger.Secret | None, Doc("Password of the cosign key")]


@object_type
class NamedImage:
    """An image to publish: its name in the tag scheme and one container per platform."""

    name: Annotated[str, Doc("operator, epp, frontend, or <framework>-<target>[-efa]-cuda<X.Y> / -cpu")] = field()
    variants: Annotated[list[dagger.Container], Doc("One container per platform")] = field()


@object_type
class Published:
    """What a publish did (or, in a dry run, would do)."""

    refs: Annotated[list[str], Doc("Every pushed tag as repo:tag@sha256:digest (empty in a dry run)")] = field()
    plan: Annotated[str, Doc("The actions, one per line")] = field()
    reports: Annotated[dagger.Directory, Doc("Scan reports and a CycloneDX SBOM per image and platform")] = field()


def _platform_slug(platform: str) -> str:
    return platform.replace("/", "-")


@object_type
class Publish(Stage):
    """Push images to a registry after the scan gate, signed and annotated; promote published digests."""

    registry: Registry = ""
    username: Username = ""
    password: Password = None
    registry_service: RegistryService = None
    sign_key: SignKey = None
    sign_password: SignPassword = None
    trivy_db: TrivyDatabase = None
    ignore_file: IgnoreFile = None

    async def _access(self, repository: str) -> RegistryAccess:
        if self.sign_key is not None and self.sign_password is None:
            raise PipelineInputError("--sign-key needs --sign-password (the key's password, as a Secret)")
        try:
            return RegistryAccess(registry_host(repository), self.username, self.password, self.registry_service)
        except ValueError as err:
            raise PipelineInputError(f"registry {repository!r}: {err}") from err

    async def _cosign(self) -> Cosign:
        ctx = await self._context()
        if "cosign" not in ctx.tools:
            raise PipelineInputError(f"{ctx.source} [tools]: no cosign version; add e.g. cosign = \"2.6.2\"")
        golang = ctx.image("golang_operator").pinned
        return Cosign(build_cosign(golang, ctx.tools["cosign"]), golang)

    async def refuse_unchecked(self, names: list[str]) -> None:
        """Fail naming the images and the setting when their scans would not check vulnerabilities."""
        ctx = await self._context()
        if self.trivy_db is None and not ctx.scan.checks_vulnerabilities:
            raise PipelineInputError(publish_refusal(names, ctx.scan.not_checked))

    async def _scan_all(self, images: list[NamedImage]) -> tuple[list[ScanReport], list[str]]:
        """Scan every variant of every image; the reports and each variant's platform."""
        scan = Scan(**self.inputs(), trivy_db=self.trivy_db, ignore_file=self.ignore_file)
        variants = [(image.name, variant) for image in images for variant in image.variants]
        platforms = [str(platform) for platform in await asyncio.gather(*(v.platform() for _, v in variants))]
        reports = await asyncio.gather(
            *(scan.image(variant, f"{name}-{_platform_slug(platform)}")
              for (name, variant), platform in zip(variants, platforms, strict=True))
        )  # fmt: skip
        return list(reports), platforms

    @function(cache="never")
    async def images(
        self,
        images: Annotated[list[NamedImage], Doc("The images to publish")],
        sha: Annotated[str, Doc("Git commit SHA they were built from (tags and the revision annotation)")],
        branch: Annotated[str, Doc("Branch built; 'main' adds the main-* aliases")] = "",
        source_url: Annotated[str, Doc("Source repository URL for the provenance annotation")] = DYNAMO_SOURCE_URL,
        dry_run: Annotated[bool, Doc("Scan and print what would be pushed; push and sign nothing")] = False,
    ) -> Published:
        """Scan every image (any blocking finding stops everything), then push, annotate and sign each."""
        ctx = await self._context()
        repository = check_repository(self.registry or ctx.registry)
        if not images or any(not image.variants for image in images):
            raise PipelineInputError("publish needs at least one image, each with at least one platform variant")
        refs = {image.name: [tagged(repository, tag) for tag in variant_tags(image.name, sha, branch or None, ctx)]
                for image in images}  # fmt: skip
        access = await self._access(repository)
        await self.refuse_unchecked([image.name for image in images])  # the gate must check for real
        reports, platforms = await self._scan_all(images)
        report_dir = dag.directory()
        for report in reports:
            report_dir = report_dir.with_directory(".", report.files())
        blocked = [report.verdict for report in reports if not report.passed]
        if blocked:
            raise ScanBlocked("nothing was pushed:\n" + "\n".join(blocked))
        annotations = provenance(source_url, sha, ctx, f"dagger {await dag.version()}")
        plan = publish_plan(
            [ref for image in images for ref in refs[image.name]], sorted(set(platforms)), annotations,
            self.sign_key is not None, ctx.scan.severity,
        )  # fmt: skip
        if dry_run:
            return Published(refs=[], plan=plan, reports=report_dir)
        cosign = await self._cosign() if self.sign_key is not None else None
        pushed = []
        for image in images:
            digest_refs = await self._push(image, refs[image.name], annotations, access)
            pushed += digest_refs
            if cosign is not None:
                await cosign.sign(
                    str(DigestRef.parse(digest_refs[0])), self.sign_key, self.sign_password, access,
                    {"revision": sha},
                )  # fmt: skip
        return Published(refs=pushed, plan=plan, reports=report_dir)

    async def _push(
        self, image: NamedImage, refs: list[str], annotations: dict[str, str], access: RegistryAccess
    ) -> list[str]:
        """Push one image to each of its tags; every tag must get the same digest."""
        variants = []
        for variant in image.variants:
            for key, value in annotations.items():
                variant = variant.with_annotation(key, value)
            variants.append(variant)
        first = access.engine_auth(variants[0])
        pushed = []
        for ref in refs:
            try:
                pushed.append(await first.publish(ref, platform_variants=variants[1:], **access.engine_route()))
            except dagger.QueryError as err:
                raise PipelineInputError(f"push of {image.name} to {ref} failed: {_first_line(err)}") from err
        digests = {ref.partition("@")[2] for ref in pushed}
        if len(digests) != 1:
            raise RuntimeError(f"{image.name}: tags got different digests: {', '.join(pushed)}")
        return [f"{ref}@{digests.pop()}" for ref in refs]

    @function(cache="never")
    async def promote(
        self,
        source: Annotated[str, Doc("Published image by digest: host/path@sha256:...")],
        target: Annotated[str, Doc("Where to copy it: host/path:tag (same or another repository)")],
    ) -> str:
        """Copy a published image and its signatures by digest to another tag: release without rebuild."""
        digest_ref = DigestRef.parse(source)
        target_repository, _ = split_target(target)
        if registry_host(target_repository) != registry_host(digest_ref.repository):
            raise PipelineInputError(f"promote copies within one registry; {source} and {target} differ")
        access = await self._access(digest_ref.repository)
        await (await self._cosign()).copy(str(digest_ref), target, access)
        return f"{target}@{digest_ref.digest}"

    @function
    async def verify(
        self,
        ref: Annotated[str, Doc("Published image by digest: host/path@sha256:...")],
        public_key: Annotated[dagger.File, Doc("cosign public key (cosign.pub)")],
    ) -> str:
        """Verify the image's cosign signature with the public key; the verified payloads as JSON."""
        digest_ref = DigestRef.parse(ref)
        access = await self._access(digest_ref.repository)
        return await (await self._cosign()).verify(str(digest_ref), public_key, access)


def _first_line(err: Exception) -> str:
    """The registry's answer, without the engine's stack of wrapped errors."""
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
