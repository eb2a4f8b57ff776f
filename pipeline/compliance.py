"""The compliance stage: lock-file hygiene, cargo-deny, and third-party attributions.

`dagger call compliance lockfiles`, `... licenses`, `... attributions -o .`. The pure logic lives in
pipeline/lockfiles.py, pipeline/deny.py and pipeline/attributions.py; this file runs the tools.
"""

from __future__ import annotations

import asyncio
import json
import posixpath
from pathlib import Path
from typing import Annotated

import dagger
from dagger import Doc, ReturnType, check, dag, function, object_type

from modules.cache import cache_volume
from modules.python_tools import PythonTools
from modules.rust_toolchain import CARGO_HOME, RustToolchain
from modules.system_packages import with_system_packages

from . import attributions as attr
from .deny import ADVISORIES
from .errors import CheckFailed, PipelineInputError
from .image import Image, IndexService, IndexUrl
from .lockfiles import ERROR, Finding, Project, find_projects, report, static_findings
from .rust import DEFAULT_TARGET
from .stage import Stage

AttributedFrameworks = Annotated[list[str] | None, Doc("Runtime images to attribute, one per framework; default: dynamo")]

SOURCE_DIR = "/src"
DENY_CONFIG = "deny.toml"
DENY_ROOT = "/opt/cargo-deny"
DENY_TARGET_DIR = "/var/cache/cargo-deny-target"
ADVISORY_DB_PATH = "/tmp/advisory-dbs"  # cargo-deny clones each database into <path>/<host-derived name>
GOMODCACHE = "/go/pkg/mod"
PROBE = Path(__file__).resolve().parent / "installed_probe.py"
# First-party distributions and crates are not third-party attributions.
FIRST_PARTY_PYTHON = {"ai-dynamo", "ai-dynamo-runtime", "gpu-memory-service"}  # Dynamo's own distributions

# Prints each package's license files as \x1e<key>\x1f<file name>\n<text>, read from its source
# directory (on a cache volume, so within this exec). Input lines: key<TAB>directory[<TAB>extra file].
_DUMP_LICENSES = r"""
while IFS='	' read -r key dir extra; do
    for f in "$dir"/LICEN[CS]E* "$dir"/licen[cs]e* "$dir"/COPYING* "$dir"/NOTICE* "$dir"/UNLICENSE* ${extra:+"$dir/$extra"}; do
        [ -f "$f" ] || continue
        printf '\036%s\037%s\n' "$key" "${f##*/}"
        cat "$f"
    done
done < "$1"
"""


def parse_license_dump(dump: str) -> dict[str, list[tuple[str, str]]]:
    """Key -> [(file name, text)] from _DUMP_LICENSES output (duplicates of one file dropped)."""
    texts: dict[str, list[tuple[str, str]]] = {}
    for record in dump.split("\x1e")[1:]:
        header, _, text = record.partition("\n")
        key, _, name = header.partition("\x1f")
        if all(existing != name for existing, _ in texts.setdefault(key, [])):
            texts[key].append((name, text))
    return texts


async def _failed(ctr: dagger.Container) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of an exec run with expect=ANY."""
    return await ctr.exit_code(), await ctr.stdout(), await ctr.stderr()


@object_type
class Compliance(Stage):
    """Lock files, dependency policy (cargo-deny) and license attributions of a Dynamo checkout."""

    # --- Reading the checkout (no container runs).

    async def _text(self, path: str) -> str | None:
        return await self.source.file(path).contents() if await self.source.exists(path) else None

    async def _projects(self) -> tuple[list[Project], dict[str, str]]:
        """The checkout's Cargo workspaces, Go modules and Python project, and the text of each
        manifest and lock file that exists."""
        manifests = {}
        for pattern in ("**/Cargo.toml", "**/go.mod", "pyproject.toml"):
            for path in await self.source.glob(pattern):
                manifests[path] = await self.source.file(path).contents()
        projects = find_projects(manifests)
        files = dict(manifests)
        for project in projects:
            text = await self._text(project.lock_path)
            if text is not None:
                files[project.lock_path] = text
        return projects, files

    async def _cargo_workspaces(self) -> list[Project]:
        """Cargo workspaces, each with its Cargo.lock (a missing one is bad input for the Rust tools)."""
        projects, files = await self._projects()
        workspaces = [p for p in projects if p.kind == "cargo"]
        if not workspaces:
            raise PipelineInputError("Cargo.toml: no Cargo workspace in the source directory; is --source a Dynamo checkout?")
        for project in workspaces:
            if project.lock_path not in files:
                raise PipelineInputError(
                    f"{project.lock_path}: not found; run `cargo generate-lockfile` in {project.directory} and commit it"
                )
        return workspaces

    async def _go_modules(self) -> list[Project]:
        """Go modules; parsing each go.mod first, so a malformed one is one clear line."""
        from .lockfiles import parse_go_mod

        projects, files = await self._projects()
        modules = [p for p in projects if p.kind == "go"]
        for project in modules:
            parse_go_mod(files[project.manifest_path], project.manifest_path)
        return modules

    # --- Tool containers.

    async def _rust_toolchain(self) -> dagger.Container:
        """The Rust image from the context with the pinned toolchain and cargo's registry caches."""
        ctx = await self._context()
        toolchain = RustToolchain(ctx.tools["rust"], ctx.tools["rustup"], DEFAULT_TARGET)
        return dag.container().from_(ctx.image("rust").pinned).with_(toolchain.install)

    async def _rust(self) -> dagger.Container:
        """The Rust toolchain for reading workspaces (cargo metadata, cargo-deny)."""
        # Its own registry volume, one exec at a time: concurrent cargo processes on a shared
        # registry volume do not share cargo's package-cache lock (it lives in CARGO_HOME), and
        # their downloads collided on upstream ("failed to download ...").
        return (
            (await self._rust_toolchain())
            .with_mounted_cache(f"{CARGO_HOME}/registry", dag.cache_volume("cargo-registry-compliance"),
                                sharing=dagger.CacheSharingMode.LOCKED)
        )

    async def _tool_version(self, key: str) -> str:
        ctx = await self._context()
        if key not in ctx.tools:
            raise PipelineInputError(f"{ctx.source}: [tools] {key} is not set; it pins the version to install")
        return ctx.tools[key]

    @function
    async def cargo_deny_binary(self) -> dagger.File:
        """cargo-deny, built from crates.io at the context's version (`cargo install --locked`).

        The install is an exec result: the engine caches it, so only the first run compiles; its
        target directory is a cache volume, so a rebuild after the engine pruned that result only links."""
        version = await self._tool_version("cargo_deny")
        rust = (await self._context()).tools["rust"]
        installed = (
            (await self._rust_toolchain())
            .with_mounted_cache(DENY_TARGET_DIR, cache_volume(f"cargo-deny-target-{version}-rust-{rust}"))
            .with_env_variable("CARGO_TARGET_DIR", DENY_TARGET_DIR)
            # cargo-deny's own release profile is fat LTO in one codegen unit, most of its cold build
            # on two cores; cargo's default release profile builds the same checker much sooner.
            .with_env_variable("CARGO_PROFILE_RELEASE_LTO", "false")
            .with_env_variable("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "16")
            .with_exec(["cargo", "install", "cargo-deny", "--locked", "--version", version, "--root", DENY_ROOT])
        )
        return installed.file(f"{DENY_ROOT}/bin/cargo-deny")

    async def _go(self) -> dagger.Container:
        """The Go image from the context with a module cache volume."""
        ctx = await self._context()
        return (
            dag.container()
            .from_(ctx.image("golang_operator").pinned)
            .with_mounted_cache(GOMODCACHE, dag.cache_volume("gomod-compliance"))
            .with_env_variable("GOMODCACHE", GOMODCACHE)
            .with_env_variable("GOFLAGS", "-modcacherw")
        )

    async def _python_tools(self, requirements: list[str]) -> dagger.Container:
        ctx = await self._context()
        tools = PythonTools(uv_image=ctx.image("uv").pinned, uv_version=ctx.tools["uv"], python=ctx.tools["python"])
        base = dag.container().from_(ctx.image("python").pinned)
        return tools.with_tools(base, requirements) if requirements else tools.with_uv(base)

    # --- Lock files.

    async def _lock_findings(self) -> list[Finding]:
        projects, files = await self._projects()
        findings = static_findings(projects, files)
        missing = {f.path for f in findings}
        present = [p for p in projects if p.lock_path not in missing and p.lock_path in files]
        cargo = [p for p in present if p.kind == "cargo"]

        async def cargo_in_turn() -> list[Finding]:
            # One at a time (see _rust): the registry volume is locked per exec anyway.
            found = []
            for project in cargo:
                found += await self._cargo_locked(project)
            return found

        runs = [cargo_in_turn()]
        runs += [self._go_tidy(p) if p.kind == "go" else self._uv_locked(p) for p in present if p.kind != "cargo"]
        for found in await asyncio.gather(*runs):
            findings.extend(found)
        return findings

    async def _cargo_locked(self, project: Project) -> list[Finding]:
        ran = (
            (await self._rust())
            .with_directory(SOURCE_DIR, self.source)
            .with_workdir(posixpath.join(SOURCE_DIR, project.directory))
            .with_exec(["cargo", "metadata", "--locked", "--all-features", "--format-version", "1"],
                       redirect_stdout="/tmp/cargo-metadata.json", expect=ReturnType.ANY)
        )
        code, _, stderr = await _failed(ran)
        if code == 0:
            return []
        if "--locked was passed" in stderr:
            return [Finding(ERROR, project.lock_path,
                            f"out of sync with {project.manifest_path}; run `cargo update --workspace` in {project.directory}")]
        # Not a stale lock (a download or manifest error): say what cargo said.
        lines = [line.strip() for line in stderr.splitlines() if line.strip()]
        first = next((line for line in lines if line.startswith("error")), lines[0] if lines else "no output")
        cause = lines[-1] if lines and lines[-1] != first else ""
        return [Finding(ERROR, project.lock_path,
                        f"`cargo metadata --locked` failed in {project.directory}: {first}{f' ({cause})' if cause else ''}")]

    async def _go_tidy(self, project: Project) -> list[Finding]:
        ran = (
            (await self._go())
            .with_directory(SOURCE_DIR, self.source)
            .with_workdir(posixpath.join(SOURCE_DIR, project.directory))
            .with_exec(["go", "mod", "tidy", "-diff"], expect=ReturnType.ANY)
        )
        code, stdout, stderr = await _failed(ran)
        if code == 0:
            return []
        changed = [line[1:].strip() for line in stdout.splitlines()
                   if line[:1] in "+-" and not line.startswith(("+++", "---"))]
        what = "; ".join(changed[:6]) or (stderr.strip().splitlines() or ["differs"])[-1]
        return [Finding(ERROR, project.lock_path,
                        f"go.mod/go.sum not tidy ({what}); run `go mod tidy` in {project.directory}")]

    async def _uv_locked(self, project: Project) -> list[Finding]:
        ran = (
            (await self._python_tools([]))
            .with_directory(SOURCE_DIR, self.source)
            .with_workdir(posixpath.join(SOURCE_DIR, project.directory))
            .with_exec(["uv", "lock", "--locked"], expect=ReturnType.ANY)
        )
        code, _, stderr = await _failed(ran)
        if code == 0:
            return []
        reason = stderr.strip().splitlines()[-1] if stderr.strip() else "uv lock --locked failed"
        return [Finding(ERROR, project.lock_path, f"out of sync with pyproject.toml ({reason}); run `uv lock`")]

    @function
    async def lockfiles_report(self) -> str:
        """Every lock-file finding, one line each ("error: ..." or "warning: ..."); empty when clean."""
        return report(await self._lock_findings())

    @function
    @check
    async def lockfiles(
        self,
        require_uv_lock: Annotated[bool, Doc("Fail on a missing uv.lock too (otherwise only reported)")] = False,
    ) -> None:
        """Fail unless Cargo.lock, each go.sum (and uv.lock when present) exist and match their manifests."""
        findings = await self._lock_findings()
        failing = [f for f in findings if f.severity == ERROR or (require_uv_lock and f.path.endswith("uv.lock"))]
        if failing:
            raise CheckFailed("lock files:\n" + "\n".join(f.line() for f in failing))

    # --- cargo-deny.

    async def _advisory_db(self, url: str, service: dagger.Service | None) -> tuple[str, str | None]:
        """The RustSec database URL to fetch (given, else the context's [scan] rust_advisory_db) and the
        host name a service serving it is bound as. cargo-deny names its clone after the URL's host,
        so a file:// URL is refused by it ("doesn't have a domain name"): check that first."""
        from urllib.parse import urlsplit

        url = url or (await self._context()).scan.rust_advisory_db
        parts = urlsplit(url)
        if parts.scheme not in ("https", "http", "git", "ssh") or not parts.hostname:
            raise PipelineInputError(
                f"advisory database {url!r}: cargo-deny needs a git URL with a host (https://, http://, git://, ssh://); "
                "serve a local copy with `git daemon` or a git HTTP server (and pass it as --advisory-db-service)"
            )
        return url, parts.hostname if service is not None else None

    @function
    async def deny(
        self,
        checks: Annotated[list[str] | None, Doc("cargo-deny checks: licenses, bans, sources, advisories")] = None,
        advisory_db: Annotated[
            str, Doc("RustSec advisory database (git URL) for `advisories`; default: [scan] rust_advisory_db")
        ] = "",
        advisory_db_service: Annotated[
            dagger.Service | None, Doc("A git server serving that database, reached under the URL's host name")
        ] = None,
    ) -> str:
        """Run cargo-deny over every Cargo workspace with the root deny.toml; the problems, one per line.

        `advisories` fetches the RustSec database with git (at most once a UTC day, or whenever the
        serving service changes) into the clone cargo-deny keeps, and names each crate and advisory ID."""
        from .deny import CHECKS, problems, with_advisory_db

        checks = checks or list(CHECKS)
        unknown = [c for c in checks if c not in (*CHECKS, ADVISORIES)]
        if unknown:
            raise PipelineInputError(f"cargo-deny check {unknown[0]!r} unknown; checks: {', '.join((*CHECKS, ADVISORIES))}")
        if not await self.source.exists(DENY_CONFIG):
            raise PipelineInputError(f"{DENY_CONFIG}: not found at the root of the source directory; cargo-deny needs its policy")
        config = await self.source.file(DENY_CONFIG).contents()
        ctr = await self._rust()
        if ADVISORIES in checks:
            import datetime

            url, host = await self._advisory_db(advisory_db, advisory_db_service)
            config = with_advisory_db(config, url, ADVISORY_DB_PATH)
            ctr = ctr.with_(lambda c: with_system_packages(c, {"apt": ("git",), "dnf": ("git",)}))
            if host is not None:
                ctr = ctr.with_service_binding(host, advisory_db_service)
            # The database changes upstream: fetch again each UTC day (a service's content is in its key).
            ctr = ctr.with_env_variable("ADVISORY_DB_DAY", datetime.datetime.now(datetime.timezone.utc).date().isoformat())
        workspaces = await self._cargo_workspaces()
        ctr = ctr.with_file("/usr/local/bin/cargo-deny", await self.cargo_deny_binary())
        ctr = ctr.with_directory(SOURCE_DIR, self.source).with_new_file("/tmp/deny.toml", config)

        async def run(project: Project) -> list[str]:
            ran = ctr.with_workdir(posixpath.join(SOURCE_DIR, project.directory)).with_exec(
                ["cargo-deny", "--format", "json", "-L", "error", "--all-features",
                 "check", "--config", "/tmp/deny.toml", *checks],
                expect=ReturnType.ANY,
            )
            code, _, stderr = await _failed(ran)
            found = problems(stderr, project.directory)
            if code != 0 and not found:
                found = [f"{project.directory}: cargo-deny failed: {stderr.strip()[-500:]}"]
            return found

        # One workspace at a time with advisories: each run fetches into the one database clone.
        if ADVISORIES in checks:
            results = [await run(project) for project in workspaces]
        else:
            results = await asyncio.gather(*(run(project) for project in workspaces))
        return "\n".join(line for lines in results for line in lines)

    @function
    @check
    async def advisories(
        self,
        advisory_db: Annotated[
            str, Doc("RustSec advisory database (git URL); default: [scan] rust_advisory_db")
        ] = "",
        advisory_db_service: Annotated[
            dagger.Service | None, Doc("A git server serving that database, reached under the URL's host name")
        ] = None,
    ) -> None:
        """Fail when a crate in a Cargo.lock has a RustSec advisory (vulnerable, unsound, unmaintained, yanked)."""
        found = await self.deny([ADVISORIES], advisory_db, advisory_db_service)
        if found:
            raise CheckFailed("cargo-deny advisories:\n" + found)

    @function
    @check
    async def licenses(self) -> None:
        """Fail when cargo-deny finds a disallowed license, a banned crate or a disallowed source."""
        found = await self.deny()
        if found:
            raise CheckFailed("cargo-deny (deny.toml):\n" + found)

    # --- Attributions.

    async def _rust_dependencies(self) -> list[attr.Dependency]:
        deps: list[attr.Dependency] = []
        rust = (await self._rust()).with_directory(SOURCE_DIR, self.source)
        for project in await self._cargo_workspaces():
            in_ws = rust.with_workdir(posixpath.join(SOURCE_DIR, project.directory))
            metadata_run = in_ws.with_exec(["cargo", "metadata", "--locked", "--all-features", "--format-version", "1"])
            metadata = json.loads(await metadata_run.stdout())
            listing = "".join(
                f"{pkg['id']}\t{posixpath.dirname(pkg['manifest_path'])}\t{pkg.get('license_file') or ''}\n"
                for pkg in metadata["packages"] if pkg.get("source")
            )
            dump = await (
                metadata_run.with_new_file("/tmp/packages.tsv", listing)
                .with_new_file("/tmp/dump-licenses.sh", _DUMP_LICENSES)
                .with_exec(["sh", "/tmp/dump-licenses.sh", "/tmp/packages.tsv"])
                .stdout()
            )
            deps += attr.rust_dependencies(metadata, parse_license_dump(dump))
        return deps

    @function
    async def rust_attributions(self) -> dagger.File:
        """ATTRIBUTIONS-Rust.md: every third-party crate of every Cargo workspace, with its license texts."""
        text = attr.render([("Rust crates", await self._rust_dependencies())])
        return dag.directory().with_new_file(attr.RUST, text).file(attr.RUST)

    async def _go_dependencies(self) -> list[attr.Dependency]:
        template = ('{{with .Module}}{{if not .Main}}{{.Path}}{{"\\t"}}{{.Version}}{{"\\t"}}'
                    '{{if .Replace}}{{.Replace.Version}}{{"\\t"}}{{.Replace.Dir}}{{else}}-{{"\\t"}}{{.Dir}}{{end}}{{end}}{{end}}')
        go = (await self._go()).with_directory(SOURCE_DIR, self.source)
        deps: list[attr.Dependency] = []
        for project in await self._go_modules():
            listed = go.with_workdir(posixpath.join(SOURCE_DIR, project.directory)).with_exec(
                ["go", "list", "-deps", "-f", template, "./..."]
            )
            modules: dict[str, dict] = {}
            listing = ""
            for line in (await listed.stdout()).splitlines():
                fields = line.split("\t")
                if len(fields) != 4 or fields[0] in modules:
                    continue
                path, version, replace_version, directory = fields
                if replace_version == "":  # replaced by a local directory: first-party code
                    continue
                modules[path] = {"Path": path, "Version": version}
                listing += f"{path}\t{directory}\t\n"
            dump = await (
                listed.with_new_file("/tmp/modules.tsv", listing)
                .with_new_file("/tmp/dump-licenses.sh", _DUMP_LICENSES)
                .with_exec(["sh", "/tmp/dump-licenses.sh", "/tmp/modules.tsv"])
                .stdout()
            )
            deps += attr.go_dependencies(list(modules.values()), parse_license_dump(dump))
        return deps

    @function
    async def go_attributions(self) -> dagger.File:
        """ATTRIBUTIONS-Go.md: the modules each Go module links (`go list -deps`), with license texts."""
        text = attr.render([("Go modules", await self._go_dependencies())])
        return dag.directory().with_new_file(attr.GO, text).file(attr.GO)

    async def _installed(self, image: dagger.Container) -> dict:
        """Debian packages and Python distributions of an image, read from its rootfs by the probe."""
        ctx = await self._context()
        probe = (
            dag.container()
            .from_(ctx.image("python").pinned)
            .with_mounted_directory("/target", image.rootfs())
            .with_new_file("/probe.py", PROBE.read_text())
            .with_exec(["python3", "/probe.py", "/target"])
        )
        return json.loads(await probe.stdout())

    @function
    async def python_attributions(
        self,
        images: Annotated[list[dagger.Container], Doc("Runtime images whose installed distributions are attributed")],
    ) -> dagger.File:
        """ATTRIBUTIONS-Python.md: the Python distributions installed in the given images (first-party left out)."""
        if not images:
            raise PipelineInputError("python-attributions needs at least one image (--images)")
        installed = await asyncio.gather(*(self._installed(image) for image in images))
        deps = [dep for found in installed for dep in attr.python_dependencies(found["python"], FIRST_PARTY_PYTHON)]
        text = attr.render([("Python packages", deps)])
        return dag.directory().with_new_file(attr.PYTHON, text).file(attr.PYTHON)

    @function
    async def container_attributions(
        self,
        image: Annotated[dagger.Container, Doc("The container image to attribute")],
        name: Annotated[str, Doc("Its name in the file name, e.g. frontend -> ATTRIBUTIONS-container-frontend.md")],
    ) -> dagger.File:
        """ATTRIBUTIONS-container-<name>.md: the image's OS packages (dpkg) and Python distributions."""
        try:
            file_name = attr.container_file(name)
        except ValueError as error:
            raise PipelineInputError(str(error)) from None
        found = await self._installed(image)
        text = attr.render([
            ("OS packages", attr.debian_dependencies(found["dpkg"])),
            ("Python packages", attr.python_dependencies(found["python"], FIRST_PARTY_PYTHON)),
        ])
        return dag.directory().with_new_file(file_name, text).file(file_name)

    async def _attributed_images(
        self, frameworks: list[str] | None, index_url: str, index: dagger.Service | None
    ) -> dict[str, dagger.Container]:
        """The images whose attributions are committed: one runtime per framework (default: dynamo)
        and the frontend, built by the Image stage, by container name (<framework>-runtime, frontend)."""

        ctx = await self._context()
        frameworks = frameworks or ["dynamo"]
        for framework in frameworks:
            ctx.framework(framework)  # an unknown one is bad input, before any container runs
        image = Image(**self.inputs())
        builds = {f"{fw}-runtime": image.runtime(fw, index_url=index_url, index=index) for fw in frameworks}
        builds["frontend"] = image.frontend(index_url=index_url, index=index)
        return dict(zip(builds, await asyncio.gather(*builds.values()), strict=True))

    @function
    async def image_attributions(
        self,
        frameworks: AttributedFrameworks = None,
        index_url: IndexUrl = "",
        index: IndexService = None,
    ) -> dagger.Directory:
        """ATTRIBUTIONS-Python.md (the Python distributions of the runtime images) and
        ATTRIBUTIONS-container-<name>.md (OS and Python packages) of each runtime image and the
        frontend, from the images the Image stage builds of this checkout (export with `-o .`)."""
        images = await self._attributed_images(frameworks, index_url, index)
        runtimes = [ctr for name, ctr in images.items() if name.endswith("-runtime")]
        directory = dag.directory().with_file(attr.PYTHON, await self.python_attributions(runtimes))
        files = await asyncio.gather(*(self.container_attributions(ctr, name) for name, ctr in images.items()))
        for file in files:
            directory = directory.with_file(await file.name(), file)
        return directory

    @function
    async def image_attribution_changes(
        self,
        frameworks: AttributedFrameworks = None,
        index_url: IndexUrl = "",
        index: IndexService = None,
    ) -> str:
        """What differs between the committed ATTRIBUTIONS-Python.md / ATTRIBUTIONS-container-*.md and
        the images as built now, one line per package."""
        generated = await self.image_attributions(frameworks, index_url, index)
        return await self._changes(generated, "image-attributions")

    @function
    @check
    async def image_attributions_current(
        self,
        frameworks: AttributedFrameworks = None,
        index_url: IndexUrl = "",
        index: IndexService = None,
    ) -> None:
        """Fail when a committed Python or container attribution file differs from the images, naming each package."""
        changed = await self.image_attribution_changes(frameworks, index_url, index)
        if changed:
            raise CheckFailed(
                f"image attributions are stale; regenerate with `dagger call compliance image-attributions -o .`:\n{changed}"
            )

    async def _changes(self, generated: dagger.Directory, command: str) -> str:
        """Per file of `generated`: what the committed copy lacks or has differently, one line each."""
        lines = []
        for name in sorted(await generated.entries()):
            committed = await self._text(name)
            if committed is None:
                lines.append(f"{name}: not committed; generate it with `compliance {command} -o .`")
                continue
            lines += [f"{name}: {change}" for change in attr.changes(committed, await generated.file(name).contents())]
        return "\n".join(lines)

    @function
    async def attributions(self) -> dagger.Directory:
        """ATTRIBUTIONS-Rust.md and ATTRIBUTIONS-Go.md for the checkout (export with `-o .`)."""
        rust, go = await asyncio.gather(self.rust_attributions(), self.go_attributions())
        return dag.directory().with_file(attr.RUST, rust).with_file(attr.GO, go)

    @function
    async def attribution_changes(self) -> str:
        """What differs between the committed ATTRIBUTIONS-{Rust,Go}.md and fresh ones, one line each."""
        return await self._changes(await self.attributions(), "attributions")

    @function
    @check
    async def attributions_current(self) -> None:
        """Fail when a committed attribution file differs from what the lock files give, naming each package."""
        changed = await self.attribution_changes()
        if changed:
            raise CheckFailed(f"attributions are stale; regenerate with `dagger call compliance attributions -o .`:\n{changed}")
