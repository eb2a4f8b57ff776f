"""The scan stage on the engine: Trivy (built from the Go module proxy) against a planted database.

The gate must block for real: the database holds a CRITICAL advisory for base-files, which the
Debian stand-in images really contain, and images and the source tree carry a planted fake AWS key.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import string

import dagger
import pytest

from pipeline.context import Context
from pipeline.findings import ScanBlocked, findings_from_trivy, sarif_summary
from pipeline.scan import Scan
from tests.conftest import EXAMPLE_WORKSPACE
from tests.engine.scan_fixtures import PLANTED_ID, PLANTED_PACKAGE


def fake_aws_key() -> str:
    """A credential shaped like an AWS access key ID, random so no allow-list knows it."""
    return "AKIA" + "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(16))


def scanner(dag, db: dagger.Directory, **kwargs) -> Scan:
    from pipeline.main import SOURCE_IGNORE

    source = kwargs.pop("source", None) or dag.host().directory(str(EXAMPLE_WORKSPACE), exclude=SOURCE_IGNORE)
    return Scan(source=source, overlay=dag.host().file(os.environ["DYNAMO_PIPELINE_OVERLAY"]), trivy_db=db, **kwargs)


def debian_image(dag, ctx: Context) -> dagger.Container:
    """A small image of our own on the Debian stand-in (base-files is installed)."""
    return dag.container().from_(ctx.image("python").pinned).with_new_file("/app/hello.txt", "hello\n")


async def test_gate_blocks_on_the_planted_advisory_and_names_the_image(dag, offline_context, planted_db) -> None:
    report = await scanner(dag, planted_db).image(debian_image(dag, offline_context), "hello-linux-amd64")
    assert not report.passed and report.threshold == "HIGH"
    assert report.verdict.startswith("scan of hello-linux-amd64: 1 finding(s) at or above HIGH block it")
    blocking_row = report.verdict.splitlines()[2].split()
    assert blocking_row[:4] == ["CRITICAL", "vulnerability", PLANTED_ID, PLANTED_PACKAGE]
    with pytest.raises(ScanBlocked, match="scan of hello-linux-amd64"):
        report.gate()
    # The three reports are real files: Trivy's JSON, SARIF with the rule, a CycloneDX SBOM with the package.
    trivy_json = json.loads(await report.report.contents())
    assert trivy_json["Metadata"]["OS"] == {"Family": "debian", "Name": trivy_json["Metadata"]["OS"]["Name"]}
    assert trivy_json["Metadata"]["OS"]["Name"].startswith("12")
    # Named after the image, not after the /etc/hostname its base was built with.
    assert trivy_json["ArtifactName"] == "hello-linux-amd64"
    assert trivy_json["Results"][0]["Target"].startswith("hello-linux-amd64 (debian 12")
    summary = sarif_summary(await report.sarif.contents())
    assert summary["rules"] == {PLANTED_ID: 1} and summary["tools"][0].startswith("Trivy")
    sbom = json.loads(await report.sbom.contents())
    assert sbom["bomFormat"] == "CycloneDX"
    purls = [component.get("purl", "") for component in sbom["components"]]
    assert any(purl.startswith(f"pkg:deb/debian/{PLANTED_PACKAGE}@") for purl in purls)
    assert len(purls) > 50  # every package of the image, not only the vulnerable one
    names = sorted(await report.files().entries())
    assert names == ["hello-linux-amd64.cdx.json", "hello-linux-amd64.sarif", "hello-linux-amd64.trivy.json"]


async def test_clean_database_passes_and_the_ignore_file_accepts_a_finding(
    dag, offline_context, planted_db, clean_db
) -> None:
    image = debian_image(dag, offline_context)
    clean = await scanner(dag, clean_db).image(image, "hello")
    assert clean.passed and clean.gate().startswith("scan of hello: passed at HIGH")
    ignore = dag.directory().with_new_file("trivyignore", f"{PLANTED_ID}\n").file("trivyignore")
    accepted = await scanner(dag, planted_db, ignore_file=ignore).image(image, "hello")
    assert accepted.passed and PLANTED_ID not in await accepted.report.contents()


async def test_secret_scanner_finds_a_planted_credential_in_an_image(dag, offline_context, clean_db) -> None:
    key = fake_aws_key()
    # An image of one file: the secret scanner reads every file, no OS needed (and the scan stays quick).
    image = dag.container().with_new_file("/app/credentials.env", f"AWS_ACCESS_KEY_ID={key}\n")
    report = await scanner(dag, clean_db).image(image, "leaky")
    assert not report.passed
    assert "secret  aws-access-key-id" in report.verdict and "app/credentials.env" in report.verdict
    for text in (report.verdict, await report.report.contents(), await report.sarif.contents()):
        assert key not in text  # Trivy censors the match; the report never repeats it


async def test_an_image_is_scanned_and_sized_from_its_files_as_its_layers_leave_them(
    dag, offline_context, clean_db
) -> None:
    """The scan reads the image's root filesystem (no tarball): a secret an upper layer overwrites is
    gone, one it adds is found; the size is the bytes of those files."""
    from modules.oci import files_bytes

    leaky = (
        dag.container()
        .with_new_file("/app/old.env", f"AWS_ACCESS_KEY_ID={fake_aws_key()}\n")
        .with_new_file("/app/old.env", "rotated\n")
        .with_new_file("/app/new.env", f"AWS_ACCESS_KEY_ID={fake_aws_key()}\n")
        .with_new_file("/app/blob.bin", "x" * 300_000)
    )  # fmt: skip
    report = await scanner(dag, clean_db).image(leaky, "layered")
    assert not report.passed and "app/new.env" in report.verdict and "app/old.env" not in report.verdict
    size = await files_bytes(leaky, offline_context.image("python").pinned)
    assert 300_000 + 2 * len("AWS_ACCESS_KEY_ID=") < size < 300_000 + 64 * 1024  # the files, and a few directories


def dist_info(name: str, version: str) -> tuple[str, str]:
    """A Python package as Trivy finds it in a root filesystem: its METADATA in a venv's site-packages."""
    return (f"/opt/venv/lib/python3.12/site-packages/{name}-{version}.dist-info/METADATA",
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")  # fmt: skip


def scanned_facts(report: dict) -> tuple[set, set]:
    """A report's packages (target, name, version, file) and findings (target, ID), without scan-time fields."""
    results = report.get("Results") or []
    packages = {(r["Target"], p["Name"], p["Version"], p.get("FilePath", ""))
                for r in results for p in r.get("Packages") or []}  # fmt: skip
    return packages, {(finding.target, finding.id) for finding in findings_from_trivy(report)}


async def test_an_image_scanned_on_its_lower_image_reports_what_a_whole_scan_does(
    dag, offline_context, planted_db
) -> None:
    """Upper layers that upgrade a package, rewrite and add secrets, add a package and an OS package:
    the report from the lower image's scan and the upper layers' is the whole image's report."""
    lower = (
        dag.container().from_(offline_context.image("python").pinned)
        .with_new_file(*dist_info("six", "1.16.0"))
        .with_new_file(*dist_info("torch", "2.7.0"))
        .with_new_file("/app/old.env", f"AWS_ACCESS_KEY_ID={fake_aws_key()}\n")
        .with_new_file("/app/kept.env", f"AWS_ACCESS_KEY_ID={fake_aws_key()}\n")
    )  # fmt: skip
    image = (
        lower.without_directory("/opt/venv/lib/python3.12/site-packages/six-1.16.0.dist-info")
        .with_new_file(*dist_info("six", "1.17.0"))
        .with_new_file(*dist_info("ai-dynamo", "1.0.0"))
        .with_new_file("/app/old.env", "rotated\n")
        .with_new_file("/app/new.env", f"AWS_ACCESS_KEY_ID={fake_aws_key()}\n")
        .with_exec(["sh", "-c", "printf 'Package: fake-tool\\nStatus: install ok installed\\nVersion: 1.0\\n"
                    "Architecture: all\\nMaintainer: x\\nDescription: x\\n\\n' >> /var/lib/dpkg/status"])
    )  # fmt: skip
    scan = scanner(dag, planted_db)
    whole, layered = await asyncio.gather(scan.image(image, "layers"), scan.image(image, "layers", lower))
    whole_facts = scanned_facts(json.loads(await whole.report.contents()))
    layered_report = json.loads(await layered.report.contents())
    packages, findings = scanned_facts(layered_report)
    assert (packages, findings) == whole_facts
    names = {(name, version) for _, name, version, _ in packages}
    assert {("six", "1.17.0"), ("torch", "2.7.0"), ("ai-dynamo", "1.0.0"), ("fake-tool", "1.0")} <= names
    assert ("six", "1.16.0") not in names
    assert {target for target, rule in findings if rule == "aws-access-key-id"} == {"app/kept.env", "app/new.env"}
    assert (f"layers (debian {layered_report['Metadata']['OS']['Name']})", PLANTED_ID) in findings
    assert layered.verdict == whole.verdict and not layered.passed
    sbom = json.loads(await layered.sbom.contents())
    assert "pkg:pypi/ai-dynamo@1.0.0" in {component.get("purl") for component in sbom["components"]}


async def test_source_tree_scan_finds_a_planted_credential(dag, offline_context, clean_db) -> None:
    from pipeline.main import SOURCE_IGNORE

    example = dag.host().directory(str(EXAMPLE_WORKSPACE), exclude=SOURCE_IGNORE)
    clean = await scanner(dag, clean_db, source=example).source_tree()
    assert clean.passed, clean.verdict
    lock_files = {result["Target"] for result in json.loads(await clean.report.contents()).get("Results", [])}
    assert "Cargo.lock" in lock_files  # the lock files were read for vulnerabilities
    leaky = example.with_new_file("deploy/credentials.env", f"AWS_ACCESS_KEY_ID={fake_aws_key()}\n")
    report = await scanner(dag, clean_db, source=leaky).source_tree()
    assert not report.passed and report.name == "source"
    assert "aws-access-key-id" in report.verdict and "deploy/credentials.env" in report.verdict
