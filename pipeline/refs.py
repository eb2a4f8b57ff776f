"""Image references for publishing: which tags an image gets, and checked repository/digest refs.

Plain Python (no Dagger import). The tag scheme itself is pipeline/tags.py; this maps the
pipeline's image names onto it and checks what a release engineer types before anything runs.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass

from .context import Context
from .errors import PipelineInputError
from .tags import ReleaseCandidate, check_sha, epp_tags, frontend_tags, image_tags, operator_tags, promotions

# host[:port]/path, lowercase path components as the OCI distribution spec allows.
_REPOSITORY = re.compile(
    r"(?P<host>[a-zA-Z0-9.-]+(?::\d+)?)/(?P<path>[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*)"
)
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_VARIANT = re.compile(r"(?P<framework>[a-z]+)-(?P<target>[a-z_-]+?)(?P<efa>-efa)?-(?:cuda(?P<cuda>\d+\.\d+)|cpu)")

# Provenance annotations written on every published manifest (OCI image-spec keys where one exists).
SOURCE_ANNOTATION = "org.opencontainers.image.source"
REVISION_ANNOTATION = "org.opencontainers.image.revision"
CONTEXT_ANNOTATION = "dev.dynamo-pipeline.context-digest"
BUILDER_ANNOTATION = "dev.dynamo-pipeline.builder"


def check_repository(repository: str, *, what: str = "registry") -> str:
    """A repository reference `host[:port]/path` without tag or digest; returned unchanged."""
    if not _REPOSITORY.fullmatch(repository):
        raise PipelineInputError(
            f"{what} {repository!r} must be host[:port]/path (lowercase path, no tag or digest), "
            "e.g. nvcr.io/nvidia/ai-dynamo/dynamo"
        )
    return repository


def variant_tags(name: str, sha: str, branch: str | None, ctx: Context) -> list[str]:
    """Tags of the image called `name` in Dynamo's scheme (pipeline/tags.py).

    Names: `operator`, `epp`, `frontend`, or `<framework>-<target>[-efa]-cuda<X.Y>` / `<framework>-<target>-cpu`,
    e.g. `vllm-runtime-cuda12.9` -> `<sha>-vllm-runtime-cuda12` (+ main aliases on main).
    """
    check_sha(sha)
    if name == "operator":
        return operator_tags(sha)
    if name == "epp":
        return epp_tags(sha)
    if name == "frontend":
        return frontend_tags(sha, branch)
    match = _VARIANT.fullmatch(name)
    if not match:
        raise PipelineInputError(
            f"image name {name!r} unknown; allowed: operator, epp, frontend, "
            "<framework>-<target>[-efa]-cuda<X.Y> or <framework>-<target>-cpu (e.g. vllm-runtime-cuda12.9)"
        )
    return image_tags(
        sha, match["framework"], match["target"], match["cuda"], bool(match["efa"]), branch, ctx=ctx
    )


@dataclass(frozen=True)
class DigestRef:
    """`host/path@sha256:...`, the only form a promotion copies from."""

    repository: str
    digest: str

    @classmethod
    def parse(cls, ref: str) -> DigestRef:
        """Parse `repo@sha256:<64 hex>` or `repo:tag@sha256:<64 hex>` (the tag is dropped)."""
        name, at, digest = ref.partition("@")
        if not at or not _DIGEST.fullmatch(digest):
            raise PipelineInputError(f"image {ref!r} must be pinned by digest: repo@sha256:<64 hex digits>")
        repository = name.rsplit(":", 1)[0] if ":" in name.rsplit("/", 1)[-1] else name
        return cls(check_repository(repository, what="image repository"), digest)

    def __str__(self) -> str:
        return f"{self.repository}@{self.digest}"


def tagged(repository: str, tag: str) -> str:
    """`repository:tag`, both checked."""
    check_repository(repository)
    if not _TAG.fullmatch(tag):
        raise PipelineInputError(f"tag {tag!r} must be 1 to 128 of [A-Za-z0-9_.-], not starting with . or -")
    return f"{repository}:{tag}"


def split_target(target: str) -> tuple[str, str]:
    """`host/path:tag` -> (repository, tag) for a promotion target."""
    name, colon, tag = target.rpartition(":")
    if not colon or "/" in tag:
        raise PipelineInputError(f"promotion target {target!r} must be host[:port]/path:tag")
    tagged(name, tag)
    return name, tag


def context_digest(ctx: Context) -> str:
    """sha256 of the resolved context (versions and pinned images after overlays): which pins built it."""
    # Where the context, or one of its settings, was read is no pin: the same pins from another path agree.
    pins = {key: value for key, value in ctx.as_dict().items() if key != "source"}
    pins["scan"] = {key: value for key, value in pins["scan"].items() if key != "vulnerability_db_source"}
    text = json.dumps(pins, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def provenance(source_url: str, revision: str, ctx: Context, builder: str) -> dict[str, str]:
    """The OCI annotations a published manifest carries."""
    check_sha(revision)
    return {
        SOURCE_ANNOTATION: source_url,
        REVISION_ANNOTATION: revision,
        CONTEXT_ANNOTATION: context_digest(ctx),
        BUILDER_ANNOTATION: builder,
    }


def publish_plan(
    refs: list[str], platforms: list[str], annotations: dict[str, str], sign: bool, blocked_on: str
) -> str:
    """What a publish would do, one line per action: what `--dry-run` prints."""
    lines = [f"scan: block at {blocked_on} and above"]
    lines += [f"push {ref} ({', '.join(platforms)})" for ref in refs]
    lines += [f"annotate {key}={value}" for key, value in sorted(annotations.items())]
    lines.append("sign each digest with cosign (key)" if sign else "sign: no key given, not signed")
    return "\n".join(lines)


@dataclass(frozen=True)
class ReleaseCopy:
    """One promotion of a release: a published digest and the release tag it is copied to."""

    source: DigestRef
    target: str  # host[:port]/path:tag

    def __str__(self) -> str:
        return f"{self.source} -> {self.target}"


def split_published(ref: str) -> tuple[DigestRef, str]:
    """`repo:tag@sha256:...` (what publish returns) -> the digest ref and the tag it was pushed as."""
    digest_ref = DigestRef.parse(ref)
    name = ref.partition("@")[0]
    tag = name[len(digest_ref.repository) + 1:] if name != digest_ref.repository else ""
    if not tag:
        raise PipelineInputError(
            f"published image {ref!r} needs its tag to be released: repo:<sha>-<image>@sha256:... as publish returns it"
        )
    return digest_ref, tag


def release_copies(
    refs: list[str], candidate: ReleaseCandidate, target_prefix: str, ctx: Context
) -> tuple[list[ReleaseCopy], list[str]]:
    """The copies release.yml makes for these published refs (pipeline/tags.py `promotions`), to
    `<target_prefix>/<ngc_namespace>/<repository>:<ngc tag>`; and the release's images not among them."""
    if not refs:
        raise PipelineInputError("release needs at least one published image ref (repo:tag@sha256:...)")
    check_repository(target_prefix.rstrip("/") + "/x", what="release registry")
    published = [split_published(ref) for ref in refs]
    shas = sorted({tag.split("-", 1)[0] for _, tag in published})
    if len(shas) != 1:
        raise PipelineInputError(f"published images come from different commits ({', '.join(shas)}); release one commit")
    plan = promotions(shas[0], candidate, ctx=ctx)
    by_source = {promotion.source: promotion for promotion in plan}
    copies = []
    for digest_ref, tag in published:
        if tag not in by_source:
            raise PipelineInputError(
                f"{digest_ref.repository}:{tag} is not a release image; release.yml copies: "
                + ", ".join(by_source)
            )
        target = f"{target_prefix.rstrip('/')}/{by_source[tag].target}"
        split_target(target)
        copies.append(ReleaseCopy(digest_ref, target))
    given = {tag for _, tag in published}
    missing = [str(promotion) for promotion in plan if promotion.source not in given]
    return copies, missing
