"""A site with no vulnerability database ([scan] vulnerability_db = "none"), on the engine: scans still
write the SBOM and block planted secrets, say vulnerabilities were not checked, and publish refuses.
A --trivy-db still wins, and a database that cannot be downloaded is one line."""

from __future__ import annotations

import json
import os

import dagger
import pytest

from pipeline import Dynamo
from pipeline.errors import DatabaseUnavailable, PipelineInputError
from pipeline.findings import ScanBlocked
from pipeline.main import SOURCE_IGNORE
from pipeline.publish import NamedImage, Publish
from pipeline.scan import Scan
from tests.conftest import EXAMPLE_WORKSPACE
from tests.engine.scan_fixtures import PLANTED_ID, PLANTED_PACKAGE
from tests.engine.test_scan import debian_image, fake_aws_key

SHA = "0123abcd"


def overlay_with(dag, scan_table: str) -> dagger.File:
    """The engine's offline overlay with `scan_table` as its [scan] table (one it already has is dropped)."""
    kept, in_scan = [], False
    for line in open(os.environ["DYNAMO_PIPELINE_OVERLAY"]).read().splitlines():
        if line.startswith("["):
            in_scan = line.strip() == "[scan]"
        if not in_scan:
            kept.append(line)
    text = "\n".join(kept) + f"\n{scan_table}"
    return dag.directory().with_new_file("site-overlay.toml", text).file("site-overlay.toml")


@pytest.fixture(scope="module")
def no_db_overlay(dag) -> dagger.File:
    return overlay_with(dag, '[scan]\nvulnerability_db = "none"\n')


def inputs(dag, overlay: dagger.File) -> dict:
    return {"source": dag.host().directory(str(EXAMPLE_WORKSPACE), exclude=SOURCE_IGNORE), "overlay": overlay}


NOT_CHECKED = "vulnerabilities not checked: [scan] vulnerability_db = none (site-overlay.toml)"


async def test_without_a_database_the_scan_writes_the_sbom_and_says_vulnerabilities_were_not_checked(
    dag, offline_context, no_db_overlay
) -> None:
    report = await Scan(**inputs(dag, no_db_overlay)).image(debian_image(dag, offline_context), "hello")
    assert report.passed and report.vulnerabilities_not_checked == NOT_CHECKED
    assert report.verdict == f"scan of hello: passed at HIGH (no findings); {NOT_CHECKED}"
    sbom = json.loads(await report.sbom.contents())
    purls = [component.get("purl", "") for component in sbom["components"]]
    assert any(purl.startswith(f"pkg:deb/debian/{PLANTED_PACKAGE}@") for purl in purls) and len(purls) > 50
    results = json.loads(await report.report.contents())["Results"]
    assert all("Vulnerabilities" not in result for result in results)  # nothing was matched against a database


async def test_without_a_database_a_planted_secret_still_blocks(dag, no_db_overlay) -> None:
    image = dag.container().with_new_file("/app/credentials.env", f"AWS_ACCESS_KEY_ID={fake_aws_key()}\n")
    report = await Scan(**inputs(dag, no_db_overlay)).image(image, "leaky")
    assert not report.passed
    assert report.verdict.splitlines()[0].endswith(f"; {NOT_CHECKED}:")
    assert "secret  aws-access-key-id" in report.verdict and "app/credentials.env" in report.verdict
    with pytest.raises(ScanBlocked, match="scan of leaky"):
        report.gate()


async def test_a_given_database_wins_over_none(dag, offline_context, no_db_overlay, planted_db) -> None:
    report = await Scan(**inputs(dag, no_db_overlay), trivy_db=planted_db).image(debian_image(dag, offline_context), "hello")
    assert not report.passed and report.vulnerabilities_not_checked == ""
    assert PLANTED_ID in report.verdict and "not checked" not in report.verdict


async def test_publish_refuses_unchecked_images_before_touching_them(dag, no_db_overlay) -> None:
    # An image that cannot even be pulled: a publish that scanned or pushed it would fail differently.
    missing = dag.container().from_("localhost:5000/dynamo-pipeline/absent:1")
    stage = Publish(**inputs(dag, no_db_overlay), registry="localhost:5000/ai-dynamo/refused")
    for dry_run in (True, False):
        with pytest.raises(PipelineInputError) as refused:
            await stage.images([NamedImage(name="operator", variants=[missing])], SHA, dry_run=dry_run)
        assert str(refused.value) == (
            f"publish of operator refused, nothing pushed: {NOT_CHECKED}; "
            "pass --trivy-db DIR or point [scan] vulnerability_db at a database mirror"
        )


async def test_publish_of_everything_refuses_before_building(dag, no_db_overlay) -> None:
    dynamo = Dynamo(**inputs(dag, no_db_overlay))
    with pytest.raises(PipelineInputError) as refused:
        await dynamo.publish(sha=SHA, registry="localhost:5000/ai-dynamo/refused", dry_run=True)
    assert str(refused.value).startswith(
        "publish of dynamo-runtime-cuda12.9, frontend, dynamo-planner-cpu, operator, epp refused, nothing pushed: "
    )


async def test_a_given_database_lets_publish_scan(dag, offline_context, no_db_overlay, clean_db) -> None:
    image = dag.container().from_(offline_context.image("python").pinned)
    stage = Publish(**inputs(dag, no_db_overlay), registry="localhost:5000/ai-dynamo/dry", trivy_db=clean_db)
    result = await stage.images([NamedImage(name="operator", variants=[image])], SHA, dry_run=True)
    assert result.refs == [] and f"push localhost:5000/ai-dynamo/dry:{SHA}-operator (linux/amd64)" in result.plan


async def test_a_database_that_cannot_be_downloaded_is_one_line(dag, offline_context) -> None:
    nowhere = "localhost:5999/nowhere/trivy-db:2"  # nothing listens there
    overlay = overlay_with(dag, f'[scan]\nvulnerability_db = "{nowhere}"\n')
    with pytest.raises(DatabaseUnavailable) as unavailable:
        await Scan(**inputs(dag, overlay)).image(debian_image(dag, offline_context), "hello")
    message = str(unavailable.value)
    assert "\n" not in message
    assert message.startswith(f"cannot download Trivy's vulnerability database from {nowhere}: ")
    assert message.endswith(
        'pass --trivy-db DIR or set [scan] vulnerability_db (a mirror, or "none") in site-overlay.toml'
    )
