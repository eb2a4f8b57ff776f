"""The release stage: the next RC tag, release notes, and wheels checked for an index upload.

`dagger call release next-tag --tags="$(git tag)"`, `... notes --log="$(git log --format='%h %s' v1.0.0..)"`,
`... wheels-ready --dist=dist`, `... promote --refs=<published refs> --rc-tag=v1.1.0-rc0`: the published
images copied by digest (signatures along, no rebuild) to their release tags, as release.yml does.
"""

from __future__ import annotations

import re
from typing import Annotated

import dagger
from dagger import Doc, ReturnType, dag, field, function, object_type

from modules.python_tools import PythonTools

from .errors import CheckFailed, PipelineInputError
from .publish import Password, RegistryService, Username
from .stage import Stage

NOTES_FILE = "RELEASE_NOTES.md"
DIST_DIR = "/dist"

ExistingTags = Annotated[str, Doc("The repository's git tags, whitespace- or comma-separated (`--tags=\"$(git tag)\"`)")]


def split_tags(tags: str) -> list[str]:
    """Tags from `git tag` output or a comma-separated list."""
    return [tag for tag in re.split(r"[\s,]+", tags) if tag]


@object_type
class Release(Stage):
    """Release a checkout: RC tag from existing tags, notes by commit type, wheels checked for upload."""

    version: str = field(default="")

    def _version(self, version: str) -> str:
        chosen = version or self.version
        if not chosen:
            raise PipelineInputError("release: no version; pass --version or build it from the main object")
        return chosen

    @function
    async def next_tag(
        self,
        tags: ExistingTags = "",
        version: Annotated[str, Doc("Release version X.Y.Z; defaults to the checkout's version")] = "",
    ) -> str:
        """The next release-candidate git tag for the version, e.g. v1.1.0-rc2 after v1.1.0-rc1."""
        from .tags import release_candidate

        return release_candidate(self._version(version), split_tags(tags)).git_tag

    @function
    async def ngc_tag(
        self,
        tags: ExistingTags = "",
        version: Annotated[str, Doc("Release version X.Y.Z; defaults to the checkout's version")] = "",
    ) -> str:
        """The NGC image tag of the next release candidate, e.g. 1.1.0rc2."""
        from .tags import release_candidate

        return release_candidate(self._version(version), split_tags(tags)).ngc_tag

    @function
    async def notes(
        self,
        log: Annotated[str, Doc("Commits since the last release: `git log --format='%h %s' <last-tag>..HEAD`")],
        tag: Annotated[str, Doc("Heading of the notes, e.g. v1.1.0-rc0; defaults to the version")] = "",
    ) -> dagger.File:
        """RELEASE_NOTES.md: the commits grouped like upstream's .github/release.yml (features, fixes,
        docs, build/CI/test/chores, other; `style` left out), breaking changes first."""
        from .notes import release_notes

        heading = tag or (f"v{self.version}" if self.version else "Release")
        return dag.directory().with_new_file(NOTES_FILE, release_notes(heading, log)).file(NOTES_FILE)

    @function
    async def wheels_ready(
        self,
        dist: Annotated[dagger.Directory, Doc("Directory holding the wheels (and sdists) to upload")],
    ) -> str:
        """`twine check --strict` of every wheel and sdist: metadata an index accepts and a README that
        renders. Returns twine's output; fails naming each file that would be rejected."""
        entries = [name for name in await dist.entries() if name.endswith((".whl", ".tar.gz"))]
        if not entries:
            raise PipelineInputError("dist: no .whl or .tar.gz files to check; build them with `wheels` first")
        ctx = await self._context()
        if "twine" not in ctx.tools:
            raise PipelineInputError(f"{ctx.source}: [tools] twine is not set; it pins the version to install")
        tools = PythonTools(uv_image=ctx.image("uv").pinned, uv_version=ctx.tools["uv"], python=ctx.tools["python"])
        ran = (
            dag.container()
            .from_(ctx.image("python").pinned)
            .with_(lambda ctr: tools.with_tools(ctr, [f"twine=={ctx.tools['twine']}"]))
            .with_directory(DIST_DIR, dist)
            .with_workdir(DIST_DIR)
            .with_exec(["twine", "--no-color", "check", "--strict", *sorted(entries)], expect=ReturnType.ANY)
        )
        output = (await ran.stdout()) + (await ran.stderr())
        if await ran.exit_code() != 0:
            failed = [line.strip() for line in output.splitlines() if "FAILED" in line or "ERROR" in line]
            raise CheckFailed("wheels not ready for upload (twine check --strict):\n" + "\n".join(failed or [output]))
        return output

    @function(cache="never")
    async def promote(
        self,
        refs: Annotated[list[str], Doc("Published images, repo:<sha>-<image>@sha256:... as `publish` returns them")],
        rc_tag: Annotated[str, Doc("The release candidate, v1.1.0-rc0 (`next-tag`) or NGC's 1.1.0rc0")],
        to: Annotated[
            str, Doc("Registry and path the release repositories live under, e.g. nvcr.io/<org>; default: the refs' registry")
        ] = "",
        username: Username = "",
        password: Password = None,
        registry_service: RegistryService = None,
        dry_run: Annotated[bool, Doc("Print the copies; copy nothing")] = False,
    ) -> str:
        """Copy each published image by digest, with its cosign signatures, to its release tag(s):
        `<to>/<[release] ngc_namespace>/<repository>:<ngc tag>` (pipeline/tags.py `promotions`).

        No rebuild: the release tag gets the very digest CI published and scanned. Returns one line
        per copy (`copied <source> -> <target>@<digest>`) and per release image not among the refs.
        """
        from .publish import Publish
        from .refs import release_copies
        from .tags import parse_release_candidate

        candidate = parse_release_candidate(rc_tag)
        if self.version and candidate.version != self.version:
            raise PipelineInputError(f"release tag {rc_tag} is for {candidate.version}, but the checkout is {self.version}")
        prefix = to or (refs[0].split("/", 1)[0] if refs else "")
        copies, missing = release_copies(refs, candidate, prefix, await self._context())
        skipped = [f"not published, not released: {line}" for line in missing]
        if dry_run:
            return "\n".join([f"copy {copy}" for copy in copies] + skipped)
        publisher = Publish(**self.inputs(), username=username, password=password, registry_service=registry_service)
        copied = [f"copied {copy.source} -> {await publisher.promote(str(copy.source), copy.target)}" for copy in copies]
        return "\n".join(copied + skipped)
