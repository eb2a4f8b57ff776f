"""cargo-deny JSON diagnostics to one line per problem (the real output is exercised in tests/engine)."""

from __future__ import annotations

import json

from pipeline.deny import problems


def test_only_errors_become_lines_naming_crate_license_and_fix() -> None:
    rejected = {"type": "diagnostic", "fields": {
        "severity": "error", "code": "rejected", "message": "failed to satisfy license requirements",
        "labels": [{"message": "rejected: license is not explicitly allowed", "span": "GPL-3.0-only"}],
        "graphs": [{"Krate": {"name": "dynamo-llm", "version": "1.1.0"}}],
    }}
    warning = {"type": "diagnostic", "fields": {"severity": "warning", "code": "duplicate", "message": "dup"}}
    stderr = "\n".join(["not json", json.dumps(rejected), json.dumps(warning), json.dumps({"type": "summary"})])
    assert problems(stderr, ".") == [
        ".: dynamo-llm 1.1.0: failed to satisfy license requirements [GPL-3.0-only] (rejected); "
        "allow the license in deny.toml [licenses] allow, or drop the dependency"
    ]
    assert problems("", ".") == []
