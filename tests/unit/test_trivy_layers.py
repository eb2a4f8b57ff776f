"""An image's report from its lower image's report and a scan of what its upper layers changed."""

from __future__ import annotations

from modules.trivy_layers import merge_layers, source_files
from pipeline.findings import findings_from_trivy

OS = {"Target": "img (debian 12.15)", "Class": "os-pkgs", "Type": "debian",
      "Packages": [{"Name": "base-files", "Version": "12.4"}],
      "Vulnerabilities": [{"VulnerabilityID": "CVE-OS", "PkgName": "base-files"}]}  # fmt: skip
SITE = "opt/venv/lib/python3.12/site-packages"


def python(*packages: tuple[str, str], vulnerable: str = "") -> dict:
    """A rootfs report's Python result: one package per (name, version), each from its METADATA."""
    paths = {name: f"{SITE}/{name}-{version}.dist-info/METADATA" for name, version in packages}
    listed = [{"Name": name, "Version": version, "FilePath": paths[name]} for name, version in packages]
    result = {"Target": "Python", "Class": "lang-pkgs", "Type": "python-pkg", "Packages": listed}
    if vulnerable:
        vuln = {"VulnerabilityID": f"CVE-{vulnerable}", "PkgName": vulnerable, "PkgPath": paths[vulnerable]}
        result["Vulnerabilities"] = [vuln]
    return result


def secret(path: str) -> dict:
    return {"Target": path, "Class": "secret", "Secrets": [{"RuleID": "aws-access-key-id", "Severity": "CRITICAL"}]}


def report(*results: dict, os: str = "12.15") -> dict:
    return {"SchemaVersion": 2, "ArtifactName": "img", "ArtifactType": "filesystem", "CreatedAt": "lower",
            "Metadata": {"OS": {"Family": "debian", "Name": os}}, "Results": list(results)}  # fmt: skip


LOWER = report(OS, python(("torch", "2.7.0"), ("six", "1.16.0"), vulnerable="six"), secret("app/old.env"),
               {"Target": "usr/bin/tool", "Class": "lang-pkgs", "Type": "gobinary",
                "Packages": [{"Name": "stdlib", "Version": "1.21.0"}]})  # fmt: skip


def packages(merged: dict) -> set[tuple[str, str, str]]:
    return {(r["Target"], p["Name"], p["Version"]) for r in merged["Results"] for p in r.get("Packages") or []}


def findings(merged: dict) -> set[tuple[str, str]]:
    return {(finding.target, finding.id) for finding in findings_from_trivy(merged)}


def test_source_files_are_each_packages_file_and_each_findings_target_but_not_the_os():
    assert source_files(LOWER) == {"Python", f"{SITE}/torch-2.7.0.dist-info/METADATA",
                                   f"{SITE}/six-1.16.0.dist-info/METADATA", "app/old.env", "usr/bin/tool"}  # fmt: skip


def test_unchanged_files_keep_the_lower_findings_and_the_upper_ones_are_added():
    upper = report(python(("ai-dynamo", "1.0.0")), secret("app/new.env"))
    upper["CreatedAt"] = "upper"
    merged = merge_layers(LOWER, upper, changed={f"{SITE}/ai-dynamo-1.0.0.dist-info/METADATA", "app/new.env"}, gone=set())
    assert packages(merged) == {("img (debian 12.15)", "base-files", "12.4"), ("Python", "torch", "2.7.0"),
                                ("Python", "six", "1.16.0"), ("Python", "ai-dynamo", "1.0.0"),
                                ("usr/bin/tool", "stdlib", "1.21.0")}  # fmt: skip
    assert findings(merged) == {("img (debian 12.15)", "CVE-OS"), ("Python", "CVE-six"), ("app/old.env", "aws-access-key-id"),
                                ("app/new.env", "aws-access-key-id")}  # fmt: skip
    assert [r["Target"] for r in merged["Results"]].count("Python") == 1  # one Python result, as a full scan has
    assert merged["CreatedAt"] == "upper" and merged["ArtifactName"] == "img"
    assert len(LOWER["Results"][1]["Packages"]) == 2  # the lower report is not changed in place


def test_what_the_upper_layers_replace_or_delete_leaves_the_report():
    # six upgraded (its old METADATA gone, the new one added), the secret file rewritten clean, the tool deleted.
    upper = report(python(("six", "1.17.0")))
    changed = {f"{SITE}/six-1.17.0.dist-info/METADATA", "app/old.env"}
    gone = {f"{SITE}/six-1.16.0.dist-info/METADATA", "usr/bin/tool"}
    merged = merge_layers(LOWER, upper, changed=changed, gone=gone)
    assert packages(merged) == {("img (debian 12.15)", "base-files", "12.4"), ("Python", "torch", "2.7.0"),
                                ("Python", "six", "1.17.0")}  # fmt: skip
    assert findings(merged) == {("img (debian 12.15)", "CVE-OS")}
    assert {r["Target"] for r in merged["Results"]} == {"img (debian 12.15)", "Python"}


def test_the_os_packages_come_from_the_upper_scan_only_when_the_package_database_changed():
    upper_os = {**OS, "Packages": [{"Name": "base-files", "Version": "12.4"}, {"Name": "curl", "Version": "7.88"}]}
    without_change = merge_layers(LOWER, report({**OS, "Packages": [], "Vulnerabilities": []}), changed=set(), gone=set())
    assert ("img (debian 12.15)", "CVE-OS") in findings(without_change)
    apt_installed = merge_layers(LOWER, report(upper_os, os="12.16"), changed={"var/lib/dpkg/status"}, gone=set())
    assert {p for p in packages(apt_installed) if p[0].startswith("img")} == {
        ("img (debian 12.15)", "base-files", "12.4"), ("img (debian 12.15)", "curl", "7.88")}
    assert [r["Class"] for r in apt_installed["Results"]].count("os-pkgs") == 1
    assert apt_installed["Metadata"]["OS"]["Name"] == "12.16"
