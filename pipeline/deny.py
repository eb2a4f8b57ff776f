"""cargo-deny's JSON diagnostics turned into one line per problem: the crate, the check, the fix.

Plain Python. cargo-deny (`--format json`) writes one JSON object per line to stderr:
`{"type": "diagnostic", "fields": {...}}` for each finding and a `summary`.
"""

from __future__ import annotations

import json

CHECKS = ("licenses", "bans", "sources")
ADVISORIES = "advisories"  # needs a RustSec database (a git URL with a host); run on its own

# What to change, by cargo-deny diagnostic code.
_FIX = {
    "rejected": "allow the license in deny.toml [licenses] allow, or drop the dependency",
    "unlicensed": "add a [[licenses.clarify]] entry for it in deny.toml",
    "banned": "remove the dependency (deny.toml [bans] deny lists it)",
    "source-not-allowed": "use crates.io or list the source in deny.toml [sources]",
    "vulnerability": "upgrade the crate (`cargo update -p <crate>`) or list the advisory in deny.toml [advisories] ignore",
    "unmaintained": "replace the crate or list the advisory in deny.toml [advisories] ignore",
    "unsound": "upgrade the crate or list the advisory in deny.toml [advisories] ignore",
    "notice": "read the advisory; list it in deny.toml [advisories] ignore once handled",
    "yanked": "update to a version that is not yanked (`cargo update -p <crate>`)",
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
        advisory = _advisory_id(fields)
        detail += f" [{advisory}]" if advisory else ""
        who = f"{crate}: " if crate else ""
        fix = f"; {_FIX[code]}" if code in _FIX else ""
        lines.append(f"{workspace}: {who}{fields.get('message', code)}{detail} ({code}){fix}")
    return lines


def _advisory_id(fields: dict) -> str:
    """The advisory a diagnostic reports (RUSTSEC-YYYY-NNNN), from its extra data or its `ID:` note."""
    advisory = fields.get("advisory") or {}
    if advisory.get("id"):
        return advisory["id"]
    return next((note[4:].strip() for note in fields.get("notes") or () if note.startswith("ID: ")), "")


def _toml_value(value: object) -> str:
    """A TOML literal for the values a cargo-deny table holds (strings, numbers, booleans, arrays, inline tables)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(key)} = {_toml_value(item)}" for key, item in value.items()) + " }"
    raise ValueError(f"cannot write {type(value).__name__} as TOML")


def with_advisory_db(config: str, db_url: str, db_path: str) -> str:
    """deny.toml with its [advisories] table pointed at one database: `db-urls = [db_url]`,
    `db-path = db_path`, fetched with the git CLI. The checkout's other [advisories] settings
    (ignore, yanked, ...) are kept; every other table is left as written."""
    import tomli

    advisories = dict(tomli.loads(config).get("advisories", {}))
    advisories.update({"db-urls": [db_url], "db-path": db_path, "git-fetch-with-cli": True})
    kept, skipping = [], False
    for line in config.splitlines():
        header = line.strip()
        if header.startswith("["):
            skipping = header.replace(" ", "") in ("[advisories]",) or header.replace(" ", "").startswith("[advisories.")
        if not skipping:
            kept.append(line)
    table = "\n".join(f"{json.dumps(key)} = {_toml_value(value)}" for key, value in advisories.items())
    return "\n".join(kept).rstrip("\n") + f"\n\n[advisories]\n{table}\n"
