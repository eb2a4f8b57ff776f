"""The scan stage: Trivy over images' files and the source tree, gated by the context's [scan] policy.

`dagger call scan image --container=... --name=operator` returns a ScanReport (Trivy JSON, SARIF,
a CycloneDX SBOM, and the gate's verdict); `... gate` fails with a table of what blocks it.
Images are scanned from their root filesystems: nothing is pushed or exported to be scanned. The
vulnerability database is --trivy-db when given, else downloaded from [scan] vulnerability_db; with
`vulnerability_db = "none"` scans check secrets and list packages only, and their reports say
vulnerabilities were not checked.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import dagger
from dagger import Doc, dag, field, function, object_type

from modules.trivy import DOWNLOAD_FAILED, REPORT_JSON, REPORT_SARIF, SBOM_CYCLONEDX, Trivy, download_database

from .errors import DatabaseUnavailable, PipelineInputError
from .findings import ScanBlocked, findings_from_trivy, findings_table, gate
from .stage import Stage

MODULE_ROOT = Path(__file__).resolve().parent.parent

TrivyDatabase = Annotated[
    dagger.Directory | None,
    Doc("Trivy database (trivy.db and metadata.json); default: [scan] vulnerability_db's, refreshed at most daily"),
]
IgnoreFile = Annotated[dagger.File | None, Doc("Accepted findings (.trivyignore format); default: [scan] ignore_file")]


@object_type
class ScanReport:
    """One scan: Trivy's reports and the severity gate's verdict."""

    name: Annotated[str, Doc("What was scanned, e.g. the image name")] = field()
    threshold: Annotated[str, Doc("Severity at and above which findings block")] = field()
    passed: Annotated[bool, Doc("Whether nothing at or above the threshold was found")] = field()
    verdict: Annotated[str, Doc("One-line summary, or the table of blocking findings")] = field()
    findings: Annotated[str, Doc("Every finding as a table")] = field()
    report: Annotated[dagger.File, Doc("Trivy's JSON report (every package listed)")] = field()
    sarif: Annotated[dagger.File, Doc("The findings as SARIF (code-scanning upload)")] = field()
    sbom: Annotated[dagger.File, Doc("CycloneDX SBOM")] = field()
    vulnerabilities_not_checked: Annotated[
        str, Doc("Empty when vulnerabilities were checked; else why not (the [scan] setting and its file)")
    ] = field(default="")

    @function
    def gate(self) -> str:
        """Fail with the table of blocking findings and the scanned name; otherwise the summary."""
        if not self.passed:
            raise ScanBlocked(self.verdict)
        return self.verdict

    @function
    def files(self) -> dagger.Directory:
        """The reports named after what was scanned: <name>.trivy.json, <name>.sarif, <name>.cdx.json."""
        return (
            dag.directory()
            .with_file(f"{self.name}.trivy.json", self.report)
            .with_file(f"{self.name}.sarif", self.sarif)
            .with_file(f"{self.name}.cdx.json", self.sbom)
        )


@object_type
class Scan(Stage):
    """Trivy scans of images (their root filesystems) and of the source tree, gated by [scan] in the context."""

    trivy_db: TrivyDatabase = None
    ignore_file: IgnoreFile = None

    async def _trivy(self) -> tuple[Trivy, str, str]:
        """Trivy at the context's image, its database, the ignore file; the severity threshold; and, when
        there is no database, the line saying vulnerabilities are not checked."""
        ctx = await self._context()
        ignore = self.ignore_file
        if ignore is None and ctx.scan.ignore_file:
            path = MODULE_ROOT / ctx.scan.ignore_file
            if not path.is_file():
                raise PipelineInputError(f"{ctx.source} [scan] ignore_file: {ctx.scan.ignore_file} not found")
            ignore = dag.directory().with_new_file("trivyignore", path.read_text()).file("trivyignore")
        trivy_image = ctx.image("trivy").pinned
        if self.trivy_db is not None:  # a given database always wins
            return Trivy(trivy_image, self.trivy_db, ignore), ctx.scan.severity, ""
        if not ctx.scan.checks_vulnerabilities:
            return Trivy(trivy_image, None, ignore), ctx.scan.severity, ctx.scan.not_checked
        database = download_database(trivy_image, ctx.scan.vulnerability_db)
        try:
            await database.sync()
        except dagger.ExecError as err:
            lines = [line for line in err.stderr.splitlines() if line.startswith(DOWNLOAD_FAILED)]
            raise DatabaseUnavailable(
                f"{lines[0] if lines else DOWNLOAD_FAILED + ' ' + ctx.scan.vulnerability_db}; pass --trivy-db DIR "
                f"or set [scan] vulnerability_db (a mirror, or \"none\") in {ctx.scan.vulnerability_db_source or ctx.source}"
            ) from None
        return Trivy(trivy_image, database, ignore), ctx.scan.severity, ""

    @staticmethod
    async def _report(name: str, threshold: str, reports: dagger.Directory, not_checked: str) -> ScanReport:
        findings = findings_from_trivy(json.loads(await reports.file(REPORT_JSON).contents()))
        try:
            verdict, passed = gate(name, findings, threshold, not_checked), True
        except ScanBlocked as blocked:
            verdict, passed = str(blocked), False
        return ScanReport(
            name=name, threshold=threshold, passed=passed, verdict=verdict, findings=findings_table(findings),
            report=reports.file(REPORT_JSON), sarif=reports.file(REPORT_SARIF), sbom=reports.file(SBOM_CYCLONEDX),
            vulnerabilities_not_checked=not_checked,
        )  # fmt: skip

    @function(cache="24h")
    async def image(
        self,
        container: Annotated[dagger.Container, Doc("The image to scan (one platform)")],
        name: Annotated[str, Doc("Its name in reports and errors, e.g. vllm-runtime-cuda12.9")],
        lower: Annotated[
            dagger.Container | None,
            Doc("The image `container` was built on, e.g. `image runtime-venv`: its scan is reused while it "
                "is unchanged, and only the files `container` adds or changes are scanned again"),
        ] = None,
    ) -> ScanReport:
        """Scan one image's files: OS packages, language packages and secrets.

        Its root filesystem is mounted as it is, so no multi-gigabyte tarball is written and kept."""
        trivy, threshold, not_checked = await self._trivy()
        if lower is None:
            reports = trivy.scan_rootfs(container, name)
        else:
            reports = await trivy.scan_rootfs_on(container, lower, name)
        return await self._report(name, threshold, reports, not_checked)

    @function(cache="24h")
    async def source_tree(self) -> ScanReport:
        """Scan the checkout: lock files (Cargo.lock, uv.lock, go.sum) for vulnerabilities, every file for secrets."""
        trivy, threshold, not_checked = await self._trivy()
        return await self._report("source", threshold, trivy.scan_directory(self.source), not_checked)

    @function(cache="24h")
    async def database(self) -> dagger.Directory:
        """The vulnerability database scans read (the given one, or today's download); fails when there is none."""
        trivy, _, not_checked = await self._trivy()
        if trivy.database is None:
            raise PipelineInputError(f"no vulnerability database: {not_checked}")
        return trivy.database
