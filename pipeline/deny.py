"""cargo-deny's JSON diagnostics turned into one line per problem: the crate, the check, the fix.

Plain Python. cargo-deny (`--format json`) writes one JSON object per line to stderr:
`{"type": "diagnostic", "fields": {...}}` for each finding and a `summary`.
"""

from __future__ import annotations

import json

CHECKS = ("licenses", "bans", "sources")

# What to change, by cargo-deny diagnostic code.
_FIX = {
    "rejected": "allow the license in deny.toml [licenses] allow, or drop the dependency",
    "unlicensed": "add a [[licenses.clarify]] entry for it in deny.toml",
    "banned": "remove the dependency (deny.toml [bans] deny lists it)",
    "source-not-allowed": "use crates.io or list the source in deny.toml [sources]",
}


def diagnostics(stderr: str) -> list[dict]:
    """The `fields` of every diagnostic in cargo-deny's JSON output (other lines are skipped)."""
    found = []
    for line in stderr.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if record.get("type") == "diagnostic":
            found.append(record.get("fields", {}))
    return found


def _crate(fields: dict) -> str:
    for graph in fields.get("graphs") or ():
        krate = graph.get("Krate") or {}
        if krate.get("name"):
            return f"{krate['name']} {krate.get('version', '')}".strip()
    return ""


def problems(stderr: str, workspace: str) -> list[str]:
    """One line per error diagnostic: workspace, crate, message, the license or item named, and the fix."""
    lines = []
    for fields in diagnostics(stderr):
        if fields.get("severity") != "error":
            continue
        code = fields.get("code") or ""
        crate = _crate(fields)
        named = sorted({
            label.get("span", "").strip()
            for label in fields.get("labels") or ()
            if "rejected" in (label.get("message") or "") or code != "rejected"
        } - {""})
        detail = f" [{', '.join(named)}]" if named and code == "rejected" else ""
        who = f"{crate}: " if crate else ""
        fix = f"; {_FIX[code]}" if code in _FIX else ""
        lines.append(f"{workspace}: {who}{fields.get('message', code)}{detail} ({code}){fix}")
    return lines
