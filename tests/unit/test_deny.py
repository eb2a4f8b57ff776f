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


def test_advisory_lines_name_crate_and_advisory_id() -> None:
    from pipeline.deny import problems

    vulnerability = {"type": "diagnostic", "fields": {
        "severity": "error", "code": "vulnerability", "message": "Planted advisory for pyo3",
        "notes": ["ID: RUSTSEC-2099-0001", "Solution: Upgrade to >=99.0.0"],
        "graphs": [{"Krate": {"name": "pyo3", "version": "0.23.5"}}],
    }}
    assert problems(json.dumps(vulnerability), "lib/bindings/python") == [
        "lib/bindings/python: pyo3 0.23.5: Planted advisory for pyo3 [RUSTSEC-2099-0001] (vulnerability); "
        "upgrade the crate (`cargo update -p <crate>`) or list the advisory in deny.toml [advisories] ignore"
    ]


def test_advisory_db_replaces_only_the_advisories_table() -> None:
    import tomli

    from pipeline.deny import with_advisory_db

    config = (
        '[licenses]\nallow = ["MIT"]\n\n[advisories]\ndb-urls = ["https://github.com/rustsec/advisory-db"]\n'
        'ignore = [{ id = "RUSTSEC-2020-0001", reason = "not reachable" }, "RUSTSEC-2021-0002"]\nyanked = "warn"\n\n'
        '[bans]\ndeny = [{ name = "openssl-sys" }]\n'
    )
    parsed = tomli.loads(with_advisory_db(config, "git://advisory-db/advisory-db.git", "/var/cache/advisory-dbs"))
    assert parsed["advisories"] == {
        "db-urls": ["git://advisory-db/advisory-db.git"], "db-path": "/var/cache/advisory-dbs", "git-fetch-with-cli": True,
        "ignore": [{"id": "RUSTSEC-2020-0001", "reason": "not reachable"}, "RUSTSEC-2021-0002"], "yanked": "warn",
    }
    assert parsed["licenses"] == {"allow": ["MIT"]} and parsed["bans"] == {"deny": [{"name": "openssl-sys"}]}
    assert tomli.loads(with_advisory_db('[licenses]\nallow = ["MIT"]\n', "https://h/db", "/d"))["advisories"]["db-urls"] == ["https://h/db"]
