"""Dynamo's image and release tag scheme (upstream CI: build-flavor, shared-build-image, release.yml).

Every variant lives in the tag of one repository: `<sha>-<fw>-<target>[-efa]-cuda<major>` (or `-cpu`),
with `main-*` aliases on the main branch. Releases promote by SHA: git tag `v<ver>-rc<n>`, NGC tag
`<ver>rc<n>`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .context import Context, load_context
from .errors import PipelineInputError

_SHA = re.compile(r"[0-9a-f]{7,40}")
_VERSION = re.compile(r"\d+\.\d+\.\d+(?:[.-][0-9A-Za-z]+)*")


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
    """Tags for a framework image; `cuda_version=None` means a CPU-only build (`-cpu`).

    Main aliases (`main-<fw>[-efa]-cuda<maj>`, `main-<fw>-<sha>-cuda<maj>`) carry no target, so only
    runtime images get them; otherwise dev and runtime would overwrite each other.
    """
    check_sha(sha)
    fw = (ctx or load_context()).framework(framework)
    if target not in fw.targets:
        raise PipelineInputError(f"target {target!r} not allowed for {framework}; allowed: {', '.join(fw.targets)}")
    if cuda_version is None:
        if efa:
            raise PipelineInputError("efa images need a CUDA version; EFA is not built for CPU-only images")
        variant = "cpu"
    elif cuda_version in fw.cuda_versions:
        variant = f"cuda{cuda_version.split('.')[0]}"
    else:
        raise PipelineInputError(
            f"CUDA version {cuda_version!r} not allowed for {framework}; allowed: {', '.join(fw.cuda_versions)}"
        )
    efa_part = "-efa" if efa else ""
    tags = [f"{sha}-{framework}-{target}{efa_part}-{variant}"]
    if branch == "main" and target == "runtime":
        tags += [f"main-{framework}{efa_part}-{variant}", f"main-{framework}-{sha}-{variant}"]
    return tags


def frontend_tags(sha: str, branch: str | None = None) -> list[str]:
    """Tags for the frontend image: `<sha>-frontend`, plus `main-frontend[-<sha>]` on main."""
    check_sha(sha)
    tags = [f"{sha}-frontend"]
    if branch == "main":
        tags += ["main-frontend", f"main-frontend-{sha}"]
    return tags


def operator_tags(sha: str) -> list[str]:
    """Tags for the Kubernetes operator image."""
    check_sha(sha)
    return [f"{sha}-operator"]


def rc_git_tag(version: str, n: int) -> str:
    """The release candidate's git tag: `v1.1.0-rc2`."""
    _check_release(version, n)
    return f"v{version}-rc{n}"


def ngc_tag(version: str, n: int) -> str:
    """The release candidate's NGC image tag: `1.1.0rc2`."""
    _check_release(version, n)
    return f"{version}rc{n}"


def next_rc(version: str, existing_tags: Iterable[str]) -> int:
    """The next RC number for `version`, given the repository's git tags (1 when there is none)."""
    _check_release(version, 1)
    pattern = re.compile(rf"^v{re.escape(version)}-rc(\d+)$")
    numbers = [int(match.group(1)) for tag in existing_tags if (match := pattern.match(tag.strip()))]
    return max(numbers, default=0) + 1


def check_sha(sha: str) -> None:
    """A git commit SHA: 7 to 40 lowercase hex digits (full match, no trailing newline)."""
    if not _SHA.fullmatch(sha):
        raise PipelineInputError(f"sha {sha!r} must be 7 to 40 lowercase hex digits")


def _check_release(version: str, n: int) -> None:
    if not _VERSION.fullmatch(version):
        raise PipelineInputError(f"version {version!r} must look like X.Y.Z (optionally with a suffix)")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise PipelineInputError(f"rc number {n!r} must be a positive integer")
