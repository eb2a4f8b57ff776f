"""Trivy in a container: image tarballs and directories scanned offline against a given database.

Dynamo-agnostic. The vulnerability database is a Directory (trivy.db + metadata.json), so a scan's
cache key is the database's content: `download_database` refreshes it at most once a UTC day in
a locked cache volume; tests pass a small database they build themselves. Without a database
(`database=None`) a scan looks for secrets only, and still lists every package (the SBOM).
"""

from __future__ import annotations

import datetime
import hashlib
from dataclasses import dataclass

import dagger
from dagger import dag

from .cache import cache_volume

CACHE_DIR = "/trivy"  # Trivy's --cache-dir: the database is read from <cache>/db
LAYER_CACHE_DIR = f"{CACHE_DIR}/fanal"  # and its analysis of each layer kept in <cache>/fanal/fanal.db
OUT = "/out"
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

    def layer_cache(self, name: str) -> dagger.CacheVolume:
        """The cache volume holding this Trivy's analysis of the layers of the images scanned as `name`."""
        return cache_volume(f"trivy-layers-{hashlib.sha256(self.image.encode()).hexdigest()[:12]}-{name}")

    def scan_image(self, tarball: dagger.File, layer_cache: str = "") -> dagger.Directory:
        """Scan an OCI image tarball (no registry involved); report.json, report.sarif, sbom.cdx.json.

        With `layer_cache` (e.g. the image's name), Trivy keeps what it found in each layer (packages,
        secrets; keyed by the layer's digest and its analyzers' versions) in `layer_cache(name)`, so a
        later scan of that image analyses only the layers it has not seen: after a wheel change, the
        top ones, not gigabytes of CUDA libraries again. Vulnerabilities are still matched against the
        database on every scan. One volume per name: Trivy locks its cache file for a whole scan, and
        scans of different images run at once.
        """
        ctr = self._scanner().with_mounted_file("/scan/image.tar", tarball)
        if layer_cache:
            ctr = ctr.with_mounted_cache(LAYER_CACHE_DIR, self.layer_cache(layer_cache))
        return self._reports(ctr, ["trivy", "image", "--input", "/scan/image.tar"])

    def scan_directory(self, directory: dagger.Directory) -> dagger.Directory:
        """Scan a source tree: lock files for vulnerabilities, every file for secrets."""
        ctr = self._scanner().with_mounted_directory("/scan/src", directory)
        return self._reports(ctr, ["trivy", "filesystem", "/scan/src"])
