"""Scan findings, the severity gate, SARIF summaries, publish refs and provenance (no engine)."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest

from pipeline.context import load_context, parse_context
from pipeline.errors import PipelineInputError
from pipeline.findings import ScanBlocked, blocking, findings_from_trivy, findings_table, gate, sarif_summary
from pipeline.refs import (
    CONTEXT_ANNOTATION,
    REVISION_ANNOTATION,
    DigestRef,
    check_repository,
    context_digest,
    provenance,
    publish_plan,
    split_target,
    tagged,
    variant_tags,
)

REPO = Path(__file__).resolve().parents[2]
SHA = "0123abcd"
DIGEST = "sha256:" + "ab" * 32

# The shape of `trivy rootfs --format json` (Trivy 0.69) of an image scanned as "operator": OS packages,
# a lock file, a secret.
TRIVY_REPORT = {
    "SchemaVersion": 2,
    "ArtifactName": "operator",
    "Results": [
        {
            "Target": "operator (debian 12.12)",
            "Class": "os-pkgs",
            "Vulnerabilities": [
                {"VulnerabilityID": "CVE-2099-0001", "PkgName": "base-files", "InstalledVersion": "12.4+deb12u12",
                 "FixedVersion": "99:0", "Severity": "CRITICAL", "Title": "planted"},
                {"VulnerabilityID": "CVE-2024-1111", "PkgName": "zlib1g", "InstalledVersion": "1:1.2.13",
                 "Severity": "LOW"},
            ],
        },
        {"Target": "Cargo.lock", "Class": "lang-pkgs", "Vulnerabilities": None},
        {
            "Target": "app/leaked.env",
            "Class": "secret",
            "Secrets": [{"RuleID": "aws-access-key-id", "Severity": "CRITICAL", "Title": "AWS Access Key ID",
                         "StartLine": 2, "Match": "AWS_ACCESS_KEY_ID=********************"}],
        },
    ],
}  # fmt: skip


def test_findings_are_read_worst_first_with_secrets_censored() -> None:
    findings = findings_from_trivy(TRIVY_REPORT)
    assert [(f.severity, f.kind, f.id) for f in findings] == [
        ("CRITICAL", "secret", "aws-access-key-id"),
        ("CRITICAL", "vulnerability", "CVE-2099-0001"),
        ("LOW", "vulnerability", "CVE-2024-1111"),
    ]
    assert findings[0].package == "line 2" and "*" not in findings_table(findings)
    assert findings_from_trivy({"Results": None}) == []


def test_gate_blocks_at_the_threshold_and_names_the_image() -> None:
    findings = findings_from_trivy(TRIVY_REPORT)
    assert [f.id for f in blocking(findings, "HIGH")] == ["aws-access-key-id", "CVE-2099-0001"]
    with pytest.raises(ScanBlocked) as blocked:
        gate("operator-linux-amd64", findings, "HIGH")
    message = str(blocked.value)
    assert message.startswith("scan of operator-linux-amd64: 2 finding(s) at or above HIGH block it")
    table = message.splitlines()[1:]
    assert table[0].split() == ["SEVERITY", "KIND", "ID", "PACKAGE", "INSTALLED", "FIXED", "TARGET"]
    assert "CVE-2099-0001" in table[2] and "base-files" in table[2] and "99:0" in table[2]
    assert "CVE-2024-1111" not in message  # LOW is below the threshold: not in the blocking table
    low_only = [f for f in findings if f.severity == "LOW"]
    assert gate("x", low_only, "HIGH") == "scan of x: passed at HIGH (1 LOW)"
    assert gate("x", [], "CRITICAL") == "scan of x: passed at CRITICAL (no findings)"
    with pytest.raises(ScanBlocked):
        gate("x", low_only, "LOW")


def test_unknown_severity_is_one_clear_line() -> None:
    with pytest.raises(PipelineInputError, match="severity 'SEVERE' unknown; allowed: UNKNOWN, LOW, MEDIUM, HIGH, CRITICAL"):
        blocking([], "SEVERE")


def test_sarif_summary_counts_levels_and_rules() -> None:
    sarif = {"runs": [{"tool": {"driver": {"name": "Trivy", "version": "0.69.3"}},
                       "results": [{"ruleId": "CVE-2099-0001", "level": "error"},
                                   {"ruleId": "CVE-2024-1111", "level": "note"},
                                   {"ruleId": "CVE-2099-0001", "level": "error"}]}]}  # fmt: skip
    summary = sarif_summary(json.dumps(sarif))
    assert summary == {
        "tools": ["Trivy 0.69.3"], "results": 3, "levels": {"error": 2, "note": 1},
        "rules": {"CVE-2099-0001": 2, "CVE-2024-1111": 1},
    }  # fmt: skip


def test_scan_policy_comes_from_the_context() -> None:
    ctx = load_context()
    assert ctx.scan.severity == "HIGH"
    assert (REPO / ctx.scan.ignore_file).is_file()
    assert re.fullmatch(r"\d+\.\d+\.\d+", ctx.tools["cosign"])
    text = (REPO / "container" / "context.toml").read_text()
    with pytest.raises(PipelineInputError, match=r"c.toml \[scan\]: severity 'SEVERE' unknown; allowed: UNKNOWN"):
        parse_context(text.replace('severity = "HIGH"', 'severity = "SEVERE"'), source="c.toml")
    with pytest.raises(PipelineInputError, match=r"c.toml \[scan\]: unknown key 'threshold'; allowed: severity"):
        parse_context(text.replace('severity = "HIGH"', 'threshold = "HIGH"'), source="c.toml")
    without = text.split("\n[scan]")[0]
    assert parse_context(without, source="c.toml").scan.severity == "HIGH"  # the section is optional


def test_variant_names_map_onto_the_tag_scheme() -> None:
    ctx = load_context()
    assert variant_tags("operator", SHA, None, ctx) == [f"{SHA}-operator"]
    assert variant_tags("epp", SHA, "main", ctx) == [f"{SHA}-epp"]
    assert variant_tags("dynamo-planner-cpu", SHA, "main", ctx) == [
        f"{SHA}-dynamo-planner-cpu", "main-planner-cpu", f"main-planner-{SHA}-cpu"]
    assert variant_tags("frontend", SHA, "main", ctx) == [f"{SHA}-frontend", "main-frontend", f"main-frontend-{SHA}"]
    assert variant_tags("vllm-runtime-cuda12.9", SHA, None, ctx) == [f"{SHA}-vllm-runtime-cuda12"]
    assert variant_tags("vllm-local-dev-cuda13.0", SHA, None, ctx) == [f"{SHA}-vllm-local-dev-cuda13"]
    assert variant_tags("vllm-runtime-cpu", SHA, None, ctx) == [f"{SHA}-vllm-runtime-cpu"]
    assert variant_tags("trtllm-runtime-efa-cuda13.1", SHA, "main", ctx)[0] == f"{SHA}-trtllm-runtime-efa-cuda13"
    with pytest.raises(PipelineInputError, match="image name 'vllm' unknown; allowed: operator, epp, frontend"):
        variant_tags("vllm", SHA, None, ctx)
    with pytest.raises(PipelineInputError, match="CUDA version '11.8' not allowed for vllm"):
        variant_tags("vllm-runtime-cuda11.8", SHA, None, ctx)
    with pytest.raises(PipelineInputError, match="sha 'HEAD' must be 7 to 40"):
        variant_tags("operator", "HEAD", None, ctx)


def test_repository_tag_and_digest_refs_are_checked() -> None:
    assert check_repository("localhost:5001/ai-dynamo/dynamo") == "localhost:5001/ai-dynamo/dynamo"
    for bad in ("dynamo", "nvcr.io/Ai-Dynamo/x", "nvcr.io/x:tag", "nvcr.io/x@" + DIGEST, "nvcr.io/x/"):
        with pytest.raises(PipelineInputError, match="must be host\\[:port\\]/path"):
            check_repository(bad)
    assert tagged("nvcr.io/x", "1.1.0rc2") == "nvcr.io/x:1.1.0rc2"
    with pytest.raises(PipelineInputError, match="tag '-x' must be"):
        tagged("nvcr.io/x", "-x")
    ref = DigestRef.parse(f"localhost:5001/ai-dynamo/dynamo:{SHA}-operator@{DIGEST}")
    assert (ref.repository, ref.digest) == ("localhost:5001/ai-dynamo/dynamo", DIGEST)
    assert str(ref) == f"localhost:5001/ai-dynamo/dynamo@{DIGEST}"
    for bad in ("localhost:5001/x:tag", "localhost:5001/x@sha256:abc"):
        with pytest.raises(PipelineInputError, match="must be pinned by digest"):
            DigestRef.parse(bad)
    assert split_target("nvcr.io/nvidia/dynamo:1.1.0rc2") == ("nvcr.io/nvidia/dynamo", "1.1.0rc2")
    with pytest.raises(PipelineInputError, match="promotion target 'nvcr.io/x' must be host"):
        split_target("nvcr.io/x")


def test_provenance_names_source_revision_context_and_builder() -> None:
    ctx = load_context()
    annotations = provenance("https://github.com/ai-dynamo/dynamo", SHA, ctx, "dagger v0.21.8")
    assert annotations[REVISION_ANNOTATION] == SHA
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", annotations[CONTEXT_ANNOTATION])
    overlaid = load_context(overlay=REPO / "container" / "overlays" / "offline.toml")
    assert context_digest(overlaid) != context_digest(ctx)  # other pins, another digest
    assert context_digest(dataclasses.replace(ctx, source="elsewhere.toml")) == context_digest(ctx)
    # The same overlay read from another path (the module reads its copy): the same pins, the same digest.
    moved = dataclasses.replace(overlaid, scan=dataclasses.replace(overlaid.scan, vulnerability_db_source="/copy.toml"))
    assert context_digest(moved) == context_digest(overlaid)
    plan = publish_plan(["r/x:a", "r/x:b"], ["linux/amd64", "linux/arm64"], annotations, False, "HIGH")
    assert "push r/x:a (linux/amd64, linux/arm64)" in plan.splitlines()
    assert f"annotate {REVISION_ANNOTATION}={SHA}" in plan.splitlines()
    assert plan.splitlines()[-1] == "sign: no key given, not signed"


def test_trivy_db_fixture_pins_the_trivy_db_that_trivy_requires() -> None:
    def required(go_mod: str) -> str:
        match = re.search(r"github.com/aquasecurity/trivy-db (\S+)", (REPO / "tools" / go_mod / "go.mod").read_text())
        assert match, go_mod
        return match.group(1)

    assert required("trivy-db") == required("trivy")
