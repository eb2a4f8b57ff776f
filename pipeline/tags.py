"""Dynamo's image and release tag scheme, as upstream's workflows form it.

Every variant lives in the tag of one repository (.github/actions/build-flavor):
`<sha>-<fw>-<target>[-efa]-cuda<major>` (or `-cpu`), test image `<sha>-<fw>-<target>[-efa]-test-cuda<major>`.
On main, post-merge-ci.yml adds `extra_tags`, to which build-flavor appends the same `-cuda<major>`/`-cpu`
suffix: `main-<fw>[-efa]` and `main-<fw>[-efa]-<sha>` for runtime images, `main-planner` and
`main-planner-<sha>` for the planner. Releases (release.yml) promote by SHA: git tag `v<ver>-rc<n>` (rc0
first), NGC tag `<ver>rc<n>`, Helm chart version `<semver>-rc<n>`, and the images copied to NGC
repositories named in the context's `[release]`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from .context import Context, load_context
from .errors import PipelineInputError

_SHA = re.compile(r"[0-9a-f]{7,40}")
_VERSION = re.compile(r"\d+\.\d+\.\d+(?:[.-][0-9A-Za-z]+)*")
# Targets whose images get main-* aliases, and the alias stem (post-merge-ci.yml's extra_tags).
_MAIN_ALIAS_STEMS = {"runtime": "{framework}", "planner": "planner"}
# What release.yml copies to NGC: (framework, CUDA major, EFA, NGC tag suffix), in its order.
_PROMOTED_RUNTIMES = (
    ("vllm", "12", False, ""),
    ("sglang", "12", False, ""),
    ("vllm", "13", False, "-cuda13"),
    ("sglang", "13", False, "-cuda13"),
    ("trtllm", "13", False, "-cuda13"),
    ("vllm", "12", True, "-efa"),
    ("trtllm", "13", True, "-efa"),
)


def image_tags(
    sha: str,
    framework: str,
    target: str,
    cuda_version: str | None,
    efa: bool = False,
    branch: str | None = None,
    *,
    ctx: Context | None = None,
) -> list[str]:
    """Tags for a framework image; `cuda_version=None` means a CPU-only build (`-cpu`, like the planner).

    Only runtime and planner images get main aliases (post-merge CI gives the dev images none), so dev and
    runtime never overwrite each other, and the EFA alias keeps its `-efa` (`main-vllm-efa-<sha>-cuda12`).
    """
    efa_part, variant = _variant(sha, framework, target, cuda_version, efa, ctx)
    tags = [f"{sha}-{framework}-{target}{efa_part}-{variant}"]
    if branch == "main" and target in _MAIN_ALIAS_STEMS:
        stem = _MAIN_ALIAS_STEMS[target].format(framework=framework) + efa_part
        tags += [f"main-{stem}-{variant}", f"main-{stem}-{sha}-{variant}"]
    return tags


def image_test_tag(
    sha: str, framework: str, target: str, cuda_version: str | None, efa: bool = False, *, ctx: Context | None = None
) -> str:
    """The test image build-flavor pushes next to an image: `<sha>-<fw>-<target>[-efa]-test-<variant>`."""
    efa_part, variant = _variant(sha, framework, target, cuda_version, efa, ctx)
    return f"{sha}-{framework}-{target}{efa_part}-test-{variant}"


def frontend_tags(sha: str, branch: str | None = None, prefix: str = "") -> list[str]:
    """Tags for the frontend image: `<sha>-frontend`, `main-frontend[-<sha>]` on main, `<prefix>-frontend`."""
    check_sha(sha)
    tags = [f"{sha}-frontend"]
    if branch == "main":
        tags += ["main-frontend", f"main-frontend-{sha}"]
    if prefix:
        tags.append(f"{prefix}-frontend")
    return tags


def operator_tags(sha: str) -> list[str]:
    """Tags for the Kubernetes operator image."""
    check_sha(sha)
    return [f"{sha}-operator"]


def epp_tags(sha: str) -> list[str]:
    """Tags for the inference-gateway endpoint picker (EPP) image.

    Upstream pushes it to its own repository (`.../dynamo-epp:<sha>`); here every image shares one
    repository, so the name goes into the tag as for the operator.
    """
    check_sha(sha)
    return [f"{sha}-epp"]


def snapshot_agent_tags(sha: str) -> list[str]:
    """Tags for the snapshot (checkpoint/restore) agent image."""
    check_sha(sha)
    return [f"{sha}-snapshot-agent"]


@dataclass(frozen=True)
class ReleaseCandidate:
    """One release candidate of a version: its git tag, NGC tag and Helm chart version."""

    version: str
    rc: int

    @property
    def git_tag(self) -> str:
        """`v1.1.0-rc0`."""
        return f"v{self.version}-rc{self.rc}"

    @property
    def ngc_tag(self) -> str:
        """`1.1.0rc0`."""
        return f"{self.version}rc{self.rc}"

    @property
    def helm_chart_version(self) -> str:
        """SemVer for `helm package --version/--app-version`: X.Y.Z.suffix becomes X.Y.Z-suffix, then `-rc<n>`."""
        semver = re.sub(r"^(\d+\.\d+\.\d+)\.(.+)", r"\1-\2", self.version)
        return f"{semver}-rc{self.rc}"


@dataclass(frozen=True)
class Promotion:
    """One image copy of a release: from the CI registry's tag to `<ngc_namespace>/<repository>:<tag>`."""

    source: str  # tag in the CI repository, e.g. "<sha>-vllm-runtime-cuda12"
    target: str  # under nvcr.io/<org>/, e.g. "ai-dynamo/vllm-runtime:1.1.0rc0"

    def __str__(self) -> str:
        return f"{self.source} -> {self.target}"


def release_candidate(version: str, existing_tags: Iterable[str] = (), rc: int | None = None) -> ReleaseCandidate:
    """The release candidate to make: `rc` when given (as release.yml's rc_number input), else the next one."""
    _check_version(version)
    if rc is None:
        rc = next_rc(version, existing_tags)
    if isinstance(rc, bool) or not isinstance(rc, int) or rc < 0:
        raise PipelineInputError(f"rc number {rc!r} must be a non-negative integer")
    return ReleaseCandidate(version, rc)


def parse_release_candidate(tag: str) -> ReleaseCandidate:
    """The candidate a tag names: the git tag `v1.1.0-rc0` or the NGC tag `1.1.0rc0`."""
    match = re.fullmatch(r"v(?P<version>.+)-rc(?P<rc>\d+)", tag) or re.fullmatch(r"(?P<version>[^v].*?)rc(?P<rc>\d+)", tag)
    if not match:
        raise PipelineInputError(f"release tag {tag!r} must be a release candidate: v<X.Y.Z>-rc<N> (or NGC's <X.Y.Z>rc<N>)")
    return release_candidate(match["version"], rc=int(match["rc"]))


def next_rc(version: str, existing_tags: Iterable[str]) -> int:
    """The next RC number for `version` given the repository's git tags: 0 when there is none (as release.yml)."""
    _check_version(version)
    pattern = re.compile(rf"^v{re.escape(version)}-rc(\d+)$")
    numbers = [int(match.group(1)) for tag in existing_tags if (match := pattern.match(tag.strip()))]
    return max(numbers) + 1 if numbers else 0


def promotions(sha: str, candidate: ReleaseCandidate, *, ctx: Context | None = None) -> list[Promotion]:
    """The image copies release.yml makes for `sha`, in its order, from the tags this pipeline pushes.

    release.yml names the planner's source `<sha>-dynamo-planner`, which post-merge CI never pushes (it
    pushes `<sha>-dynamo-planner-cpu`); this plan copies the tag that exists.
    """
    ctx = ctx or load_context()
    release = ctx.release
    repositories = release.ngc_repositories

    def target(image: str, suffix: str = "") -> str:
        return f"{release.ngc_namespace}/{repositories[image]}:{candidate.ngc_tag}{suffix}"

    copies = []
    for framework, major, efa, suffix in _PROMOTED_RUNTIMES:
        cuda = next((v for v in ctx.framework(framework).cuda_versions if v.split(".")[0] == major), None)
        if cuda is None:
            raise PipelineInputError(f"{ctx.source} [frameworks.{framework}]: no CUDA {major}.x version to release")
        copies.append(Promotion(image_tags(sha, framework, "runtime", cuda, efa, ctx=ctx)[0], target(framework, suffix)))
    copies.append(Promotion(frontend_tags(sha)[0], target("frontend")))
    copies.append(Promotion(operator_tags(sha)[0], target("operator")))
    copies.append(Promotion(image_tags(sha, "dynamo", "planner", None, ctx=ctx)[0], target("planner")))
    copies.append(Promotion(snapshot_agent_tags(sha)[0], target("snapshot-agent")))
    return copies


def check_sha(sha: str) -> None:
    """A git commit SHA: 7 to 40 lowercase hex digits (full match, no trailing newline)."""
    if not _SHA.fullmatch(sha):
        raise PipelineInputError(f"sha {sha!r} must be 7 to 40 lowercase hex digits")


def _variant(
    sha: str, framework: str, target: str, cuda_version: str | None, efa: bool, ctx: Context | None
) -> tuple[str, str]:
    """("-efa" or "", "cuda<major>" or "cpu") after checking the image's inputs."""
    check_sha(sha)
    fw = (ctx or load_context()).framework(framework)
    if target not in fw.targets:
        raise PipelineInputError(f"target {target!r} not allowed for {framework}; allowed: {', '.join(fw.targets)}")
    if cuda_version is None:
        if efa:
            raise PipelineInputError("efa images need a CUDA version; EFA is not built for CPU-only images")
        return "", "cpu"
    if cuda_version not in fw.cuda_versions:
        raise PipelineInputError(
            f"CUDA version {cuda_version!r} not allowed for {framework}; allowed: {', '.join(fw.cuda_versions)}"
        )
    return ("-efa" if efa else ""), f"cuda{cuda_version.split('.')[0]}"


def _check_version(version: str) -> None:
    if not _VERSION.fullmatch(version):
        raise PipelineInputError(f"version {version!r} must look like X.Y.Z (optionally with a suffix)")
