"""Trivy in a container: images' root filesystems and source trees scanned offline against a given database.

Dynamo-agnostic. The vulnerability database is a Directory (trivy.db + metadata.json), so a scan's
cache key is the database's content: `download_database` refreshes it at most once a UTC day in
a locked cache volume; tests pass a small database they build themselves. Without a database
(`database=None`) a scan looks for secrets only, and still lists every package (the SBOM).
"""

from __future__ import annotations

import asyncio
import datetime
import json
from dataclasses import dataclass

import dagger
from dagger import dag

from .trivy_layers import OS_FILES, OS_RELEASE_FILES, merge_layers, source_files

CACHE_DIR = "/trivy"  # Trivy's --cache-dir: the database is read from <cache>/db
OUT = "/out"
ROOTFS = "/scan/rootfs"  # where an image's files are mounted to be scanned
IMAGE = "/scan/image"  # the whole image, beside the files its upper layers add or change
LOWER = "/scan/lower"  # the image it was built on
REPORT_JSON = "report.json"
REPORT_SARIF = "report.sarif"
SBOM_CYCLONEDX = "sbom.cdx.json"

# Nothing reaches the network during a scan: the database is given, Java's and the version check skipped.
_OFFLINE = ["--cache-dir", CACHE_DIR, "--skip-db-update", "--skip-java-db-update", "--offline-scan",
            "--skip-version-check", "--quiet"]  # fmt: skip
# Trivy's default of 5 minutes is too short for an image carrying CUDA wheels (gigabytes) on a loaded
# machine: the frontend's secret scan timed out (`semaphore acquire: context deadline exceeded`).
SCAN_TIMEOUT = "30m"


# Lists which of the lower report's files (and the OS's) the upper layers changed (they are in the
# diff at ROOTFS) and which of the lower image's files the image no longer has (a report's name for
# several files, such as "Python", is neither), copies the image's OS release files in so Trivy
# names the OS, then runs the scan given as "$@". Package databases come only when they changed.
_SCAN_UPPER = f"""set -e
: > {OUT}/changed; : > {OUT}/gone
exists() {{ [ -e "$1" ] || [ -L "$1" ]; }}
while IFS= read -r path; do
  if exists "{ROOTFS}/$path"; then echo "$path" >> {OUT}/changed
  elif exists "{LOWER}/$path" && ! exists "{IMAGE}/$path"; then echo "$path" >> {OUT}/gone; fi
done < {OUT}/lower-files
for path in {" ".join(OS_RELEASE_FILES)}; do
  if [ ! -e "{ROOTFS}/$path" ] && [ -f "{IMAGE}/$path" ]; then
    mkdir -p "$(dirname "{ROOTFS}/$path")" && cp -P "{IMAGE}/$path" "{ROOTFS}/$path"
  fi
done
exec "$@"
"""

# What a failed download prints instead of Trivy's log: one line, then the exec fails.
DOWNLOAD_FAILED = "cannot download Trivy's vulnerability database from"


def download_database(trivy_image: str, repositories: str = "", day: str | None = None) -> dagger.Directory:
    """The vulnerability database, downloaded into a locked cache volume at most once per `day`.

    `repositories` is Trivy's --db-repository (comma-separated, in priority order; "": Trivy's
    default). `day` (default: today, UTC) is part of the exec, so the engine reuses the download all
    day and concurrent pipelines wait for one download instead of corrupting the volume. A failed
    download fails the exec with one line on stderr: DOWNLOAD_FAILED, the repositories, Trivy's last line.
    """
    day = day or datetime.datetime.now(datetime.UTC).date().isoformat()
    ctr = dag.container().from_(trivy_image)
    if repositories:
        ctr = ctr.with_env_variable("TRIVY_DB_REPOSITORY", repositories)  # Trivy's --db-repository
    return (
        ctr.with_mounted_cache("/cache", dag.cache_volume("trivy-db"), sharing=dagger.CacheSharingMode.LOCKED)
        .with_env_variable("TRIVY_DB_DAY", day)
        .with_exec(
            ["sh", "-c", "if ! trivy image --download-db-only --no-progress --cache-dir /cache >/tmp/log 2>&1; then "
             f'echo "{DOWNLOAD_FAILED} ${{TRIVY_DB_REPOSITORY:-the default repositories}}: '
             '$(grep . /tmp/log | tail -n 1 | sed "s/^[[:space:]*]*//" | cut -c1-300)" >&2; exit 1; fi; '
             "mkdir -p /out && cp -a /cache/db /out/db"]
        )  # fmt: skip
        .directory("/out/db")
    )


@dataclass(frozen=True)
class Trivy:
    """Trivy at a pinned image, reading `database` (trivy.db + metadata.json) and an optional ignore file."""

    image: str
    database: dagger.Directory | None  # None: no vulnerability database, secrets and packages only
    ignore_file: dagger.File | None = None

    def _scanner(self) -> dagger.Container:
        ctr = dag.container().from_(self.image)
        if self.database is not None:
            ctr = ctr.with_directory(f"{CACHE_DIR}/db", self.database)
        if self.ignore_file is not None:
            ctr = ctr.with_file("/scan/trivyignore", self.ignore_file)
        return ctr

    def _scan_args(self) -> list[str]:
        """What follows `trivy <target> <path>`: offline, every package listed, JSON to OUT/REPORT_JSON."""
        ignore = ["--ignorefile", "/scan/trivyignore"] if self.ignore_file is not None else []
        scanners = "vuln,secret" if self.database is not None else "secret"
        return [*_OFFLINE, "--timeout", SCAN_TIMEOUT, "--scanners", scanners, "--list-all-pkgs", *ignore,
                "--format", "json", "--output", f"{OUT}/{REPORT_JSON}"]  # fmt: skip

    def _report(self, ctr: dagger.Container, command: list[str]) -> dagger.File:
        """Run one scan (`trivy <target> <path>`) to its JSON report, every package listed."""
        return ctr.with_exec(["mkdir", "-p", OUT]).with_exec([*command, *self._scan_args()]).file(f"{OUT}/{REPORT_JSON}")

    def converted(self, report: dagger.File) -> dagger.Directory:
        """A JSON report with its SARIF and CycloneDX conversions: report.json, report.sarif, sbom.cdx.json."""
        return (
            dag.container()
            .from_(self.image)
            .with_file(f"{OUT}/{REPORT_JSON}", report)
            .with_exec(["trivy", "convert", "--format", "sarif", "--output", f"{OUT}/{REPORT_SARIF}",
                        f"{OUT}/{REPORT_JSON}"])  # fmt: skip
            .with_exec(["trivy", "convert", "--format", "cyclonedx", "--output", f"{OUT}/{SBOM_CYCLONEDX}",
                        f"{OUT}/{REPORT_JSON}"])  # fmt: skip
            .directory(OUT)
        )

    def _rootfs_scanner(self, files: dagger.Directory, name: str) -> dagger.Container:
        """The scanner with `files` mounted as a root filesystem that Trivy names `name`."""
        # Trivy names a root filesystem after its /etc/hostname (the build machine's, in a base image).
        hostname = dag.directory().with_new_file("hostname", f"{name}\n").file("hostname")
        return (
            self._scanner()
            .with_mounted_directory(ROOTFS, files)
            .with_mounted_file(f"{ROOTFS}/etc/hostname", hostname)
        )

    def _rootfs_report(self, files: dagger.Directory, name: str) -> dagger.File:
        """The JSON report of `trivy rootfs` over `files`, named `name`."""
        return self._report(self._rootfs_scanner(files, name), ["trivy", "rootfs", ROOTFS])

    def scan_rootfs(self, image: dagger.Container, name: str) -> dagger.Directory:
        """Scan an image's root filesystem (OS packages, language packages, secrets), reported as `name`;
        report.json, report.sarif, sbom.cdx.json. Paths in the reports are relative to the image's root.

        The mount is the image's own snapshot: no tarball is written. An image tarball would be another
        copy of the image (6 to 8 GB for a runtime image) kept by the engine for every image built, and
        the disk it takes makes the engine's GC evict the caches that matter. What this does not see is
        a file a lower layer adds and a later one deletes.
        """
        return self.converted(self._rootfs_report(image.rootfs(), name))

    async def scan_rootfs_on(self, image: dagger.Container, lower: dagger.Container, name: str) -> dagger.Directory:
        """`scan_rootfs` of an image built on `lower`, from `lower`'s scan (the engine's cache keeps it
        while `lower` is unchanged) and a scan of only the files the upper layers add or change.

        The lower report keeps what it read from files the image still has unchanged; OS packages
        are rescanned whole when the upper layers change the package database (`trivy_layers`).
        """
        lower_report = json.loads(await self._rootfs_report(lower.rootfs(), name).contents())
        to_check = sorted(source_files(lower_report) | set(OS_FILES))
        upper = (
            self._rootfs_scanner(lower.rootfs().diff(image.rootfs()), name)
            .with_mounted_directory(IMAGE, image.rootfs())
            .with_mounted_directory(LOWER, lower.rootfs())
            .with_new_file(f"{OUT}/lower-files", "".join(f"{path}\n" for path in to_check))
            .with_exec(["sh", "-c", _SCAN_UPPER, "scan-upper", "trivy", "rootfs", ROOTFS, *self._scan_args()])
        )
        changed, gone, upper_report = await asyncio.gather(
            upper.file(f"{OUT}/changed").contents(), upper.file(f"{OUT}/gone").contents(),
            upper.file(f"{OUT}/{REPORT_JSON}").contents(),
        )  # fmt: skip
        merged = merge_layers(lower_report, json.loads(upper_report), set(changed.splitlines()), set(gone.splitlines()))
        return self.converted(dag.directory().with_new_file(REPORT_JSON, json.dumps(merged)).file(REPORT_JSON))

    def scan_directory(self, directory: dagger.Directory) -> dagger.Directory:
        """Scan a source tree: lock files for vulnerabilities, every file for secrets."""
        ctr = self._scanner().with_mounted_directory("/scan/src", directory)
        return self.converted(self._report(ctr, ["trivy", "filesystem", "/scan/src"]))
