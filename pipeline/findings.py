"""Scan findings: what Trivy's JSON report says, the severity gate, and a table a human reads.

Plain Python (no Dagger import): pipeline/scan.py runs Trivy, this decides what blocks a publish.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

from .context import SEVERITIES
from .errors import PipelineInputError


class ScanBlocked(Exception):
    """A scan found something at or above the context's severity threshold."""


@dataclass(frozen=True)
class Finding:
    """One vulnerability or secret Trivy reported."""

    kind: str  # "vulnerability" or "secret"
    id: str  # CVE-... or the secret rule, e.g. aws-access-key-id
    severity: str
    target: str  # what Trivy scanned: "debian 12.12", a lock file, a file with a secret
    package: str = ""  # the package, or the line of a secret
    installed: str = ""
    fixed: str = ""
    title: str = ""

    def at_least(self, threshold: str) -> bool:
        """Whether this finding is at or above `threshold` (UNKNOWN counts as below LOW)."""
        return severity_rank(self.severity) >= severity_rank(threshold)


def severity_rank(severity: str) -> int:
    """Position in UNKNOWN < LOW < MEDIUM < HIGH < CRITICAL; an unknown name is a one-line error."""
    if severity not in SEVERITIES:
        raise PipelineInputError(f"severity {severity!r} unknown; allowed: {', '.join(SEVERITIES)}")
    return SEVERITIES.index(severity)


def findings_from_trivy(report: dict[str, Any]) -> list[Finding]:
    """Every vulnerability and secret in a Trivy JSON report (`--format json`), worst first."""
    findings = []
    for result in report.get("Results") or []:
        target = result.get("Target", "")
        for vuln in result.get("Vulnerabilities") or []:
            findings.append(
                Finding(
                    "vulnerability", vuln["VulnerabilityID"], vuln.get("Severity", "UNKNOWN"), target,
                    vuln.get("PkgName", ""), vuln.get("InstalledVersion", ""), vuln.get("FixedVersion", ""),
                    vuln.get("Title", ""),
                )
            )  # fmt: skip
        for secret in result.get("Secrets") or []:
            # Trivy censors the match itself; only the rule and the line number are kept here.
            findings.append(
                Finding(
                    "secret", secret["RuleID"], secret.get("Severity", "UNKNOWN"), target,
                    f"line {secret.get('StartLine', '?')}", title=secret.get("Title", ""),
                )
            )  # fmt: skip
    return sorted(findings, key=lambda f: (-severity_rank(f.severity), f.kind, f.id, f.target))


def blocking(findings: list[Finding], threshold: str) -> list[Finding]:
    """The findings at or above the threshold."""
    severity_rank(threshold)
    return [finding for finding in findings if finding.at_least(threshold)]


def findings_table(findings: list[Finding]) -> str:
    """An aligned text table: severity, kind, ID, package or line, installed -> fixed, target."""
    header = ("SEVERITY", "KIND", "ID", "PACKAGE", "INSTALLED", "FIXED", "TARGET")
    rows = [header] + [
        (f.severity, f.kind, f.id, f.package, f.installed, f.fixed, f.target) for f in findings
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows)


def gate(name: str, findings: list[Finding], threshold: str, not_checked: str = "") -> str:
    """Raise ScanBlocked naming `name` and tabulating what blocks it; otherwise a one-line summary.

    `not_checked` (the line saying vulnerabilities were not checked, and why) ends the first line either way.
    """
    blocked = blocking(findings, threshold)
    counts = Counter(finding.severity for finding in findings)
    summary = ", ".join(f"{counts[s]} {s}" for s in reversed(SEVERITIES) if counts[s]) or "no findings"
    note = f"; {not_checked}" if not_checked else ""
    if blocked:
        raise ScanBlocked(
            f"scan of {name}: {len(blocked)} finding(s) at or above {threshold} block it "
            f"(accept one on purpose in the [scan] ignore_file){note}:\n{findings_table(blocked)}"
        )
    return f"scan of {name}: passed at {threshold} ({summary}){note}"


def publish_refusal(names: list[str], not_checked: str) -> str:
    """The one line publish fails with when the images' vulnerabilities would not be checked."""
    return (
        f"publish of {', '.join(names)} refused, nothing pushed: {not_checked}; "
        "pass --trivy-db DIR or point [scan] vulnerability_db at a database mirror"
    )


def sarif_summary(sarif_text: str) -> dict[str, Any]:
    """What a SARIF log holds: the tool, and result counts per level and per rule."""
    sarif = json.loads(sarif_text)
    levels: Counter[str] = Counter()
    rules: Counter[str] = Counter()
    tools = []
    for run in sarif.get("runs", []):
        driver = run.get("tool", {}).get("driver", {})
        tools.append(f"{driver.get('name', '?')} {driver.get('version', '')}".strip())
        for result in run.get("results", []):
            levels[result.get("level", "warning")] += 1
            rules[result.get("ruleId", "?")] += 1
    return {"tools": tools, "results": sum(levels.values()), "levels": dict(levels), "rules": dict(rules)}
