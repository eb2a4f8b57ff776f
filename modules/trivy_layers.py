"""One image's Trivy report from two scans: its lower image's (reused while that is unchanged) and
the files its upper layers add or change. Plain Python: no engine.

Every finding and package in a root-filesystem report comes from one file: a package's FilePath (its
METADATA, its binary) or else its result's Target, a vulnerability's PkgPath or Target, a secret's
Target. The lower report's entries stay where their file is in the image unchanged; the rest come
from the upper scan. OS packages come from the package database as a whole: the lower's unless the
upper layers changed a file of it.
"""

from __future__ import annotations

from typing import Any

# The files Trivy reads an OS (Debian, Alpine, RPM-based) and then its packages from.
OS_RELEASE_FILES = (
    "etc/os-release", "usr/lib/os-release", "etc/debian_version", "etc/alpine-release", "etc/redhat-release",
)  # fmt: skip
OS_FILES = (*OS_RELEASE_FILES, "var/lib/dpkg/status", "var/lib/dpkg/status.d", "lib/apk/db/installed", "var/lib/rpm",
            "usr/lib/sysimage/rpm")  # fmt: skip
OS_CLASS = "os-pkgs"
# A result's entries and the key naming each one's file; an entry without it comes from the Target.
_ENTRY_FILE = (("Packages", "FilePath"), ("Vulnerabilities", "PkgPath"))


def source_files(report: dict[str, Any]) -> set[str]:
    """Every file the report's packages and findings were read from (relative to the image's root)."""
    files = set()
    for result in report.get("Results") or []:
        if result.get("Class") == OS_CLASS:
            continue
        target = result.get("Target", "")
        files.add(target)
        for key, file_key in _ENTRY_FILE:
            files |= {entry.get(file_key) or target for entry in result.get(key) or []}
    return files - {""}


def _still_there(result: dict[str, Any], stale: set[str]) -> dict[str, Any] | None:
    """The part of a lower result whose files the upper layers left alone; None when nothing is left."""
    target = result.get("Target", "")
    kept = dict(result)
    for key, file_key in _ENTRY_FILE:
        if key in result:
            kept[key] = [entry for entry in result[key] or [] if (entry.get(file_key) or target) not in stale]
    if "Secrets" in result and target in stale:
        kept["Secrets"] = []
    return kept if any(kept.get(key) for key in ("Packages", "Vulnerabilities", "Secrets")) else None


def merge_layers(lower: dict[str, Any], upper: dict[str, Any], changed: set[str], gone: set[str]) -> dict[str, Any]:
    """The report of the whole image from the lower image's report and the upper layers' scan.

    `changed`: files the upper layers add or change (scanned by `upper`); `gone`: the lower's files
    the image no longer has. What the lower report read from either is dropped.
    """
    stale = changed | gone
    os_changed = any(path in changed for path in OS_FILES)
    results = []
    for result in lower.get("Results") or []:
        if result.get("Class") == OS_CLASS:
            if not os_changed:
                results.append(result)
        elif (kept := _still_there(result, stale)) is not None:
            results.append(kept)
    by_key = {(r.get("Target"), r.get("Class"), r.get("Type")): r for r in results}
    for result in upper.get("Results") or []:
        if result.get("Class") == OS_CLASS and not os_changed:
            continue  # the upper scan sees the OS, not its unchanged package database
        key = (result.get("Target"), result.get("Class"), result.get("Type"))
        if key in by_key:  # e.g. "Python": the lower's packages still there, then the upper's
            into = by_key[key]
            for field in ("Packages", "Vulnerabilities", "Secrets"):
                if result.get(field):
                    into[field] = [*(into.get(field) or []), *result[field]]
        else:
            by_key[key] = result
            results.append(result)
    metadata = dict(lower.get("Metadata") or {})
    if os_changed and "OS" in (upper.get("Metadata") or {}):
        metadata["OS"] = upper["Metadata"]["OS"]
    return {**lower, **{k: upper[k] for k in ("ReportID", "CreatedAt") if k in upper}, "Metadata": metadata,
            "Results": results}  # fmt: skip
