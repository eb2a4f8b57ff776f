"""Trivy in a container: images' root filesystems and source trees scanned offline against a given database.

Dynamo-agnostic. The vulnerability database is a Directory (trivy.db + metadata.json), so a scan's
cache key is the database's content: `download_database` refreshes it at most once a UTC day in
a locked cache volume; tests pass a small database they build themselves. Without a database
(`database=None`) a scan looks for secrets only, and still lists every package (the SBOM).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import dagger
from dagger import dag

CACHE_DIR = "/trivy"  # Trivy's --cache-dir: the database is read from <cache>/db
OUT = "/out"
ROOTFS = "/scan/rootfs"  # where an image's files are mounted to be scanned
REPORT_JSON = "report.json"
REPORT_SARIF = "report.sarif"
SBOM_CYCLONEDX = "sbom.cdx.json"

# Nothing reaches the network during a scan: the database is given, Java's and the version check skipped.
_OFFLINE = ["--cache-dir", CACHE_DIR, "--skip-db-update", "--skip-java-db-update", "--offline-scan",
            "--skip-version-check", "--quiet"]  # fmt: skip
# Trivy's default of 5 minutes is too short for an image carrying CUDA wheels (gigabytes) on a loaded
# machine: the frontend's secret scan timed out (`semaphore acquire: context deadline exceeded`).
SCAN_TIMEOUT = "30m"


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

    def _reports(self, ctr: dagger.Container, command: list[str]) -> dagger.Directory:
        """Run one scan to JSON (every package listed), then convert it to SARIF and CycloneDX."""
        ignore = ["--ignorefile", "/scan/trivyignore"] if self.ignore_file is not None else []
        scanners = "vuln,secret" if self.database is not None else "secret"
        scan = [*command, *_OFFLINE, "--timeout", SCAN_TIMEOUT, "--scanners", scanners, "--list-all-pkgs", *ignore,
                "--format", "json", "--output", f"{OUT}/{REPORT_JSON}"]  # fmt: skip
        return (
            ctr.with_exec(["mkdir", "-p", OUT])
            .with_exec(scan)
            .with_exec(["trivy", "convert", "--format", "sarif", "--output", f"{OUT}/{REPORT_SARIF}",
                        f"{OUT}/{REPORT_JSON}"])  # fmt: skip
            .with_exec(["trivy", "convert", "--format", "cyclonedx", "--output", f"{OUT}/{SBOM_CYCLONEDX}",
                        f"{OUT}/{REPORT_JSON}"])  # fmt: skip
            .directory(OUT)
        )

    def scan_rootfs(self, image: dagger.Container, name: str) -> dagger.Directory:
        """Scan an image's root filesystem (OS packages, language packages, secrets), reported as `name`;
        report.json, report.sarif, sbom.cdx.json. Paths in the reports are relative to the image's root.

        The mount is the image's own snapshot: no tarball is written. An image tarball would be another
        copy of the image (6 to 8 GB for a runtime image) kept by the engine for every image built, and
        the disk it takes makes the engine's GC evict the caches that matter. What this does not see is
        a file a lower layer adds and a later one deletes.
        """
        # Trivy names a root filesystem after its /etc/hostname (the build machine's, in a base image).
        hostname = dag.directory().with_new_file("hostname", f"{name}\n").file("hostname")
        ctr = (
            self._scanner()
            .with_mounted_directory(ROOTFS, image.rootfs())
            .with_mounted_file(f"{ROOTFS}/etc/hostname", hostname)
        )
        return self._reports(ctr, ["trivy", "rootfs", ROOTFS])

    def scan_directory(self, directory: dagger.Directory) -> dagger.Directory:
        """Scan a source tree: lock files for vulnerabilities, every file for secrets."""
        ctr = self._scanner().with_mounted_directory("/scan/src", directory)
        return self._reports(ctr, ["trivy", "filesystem", "/scan/src"])
