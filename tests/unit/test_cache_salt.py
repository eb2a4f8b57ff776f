"""The cache salt: names change only while DYNAMO_PIPELINE_CACHE_SALT is set."""

from modules.cache import CACHE_SALT_ENV, cache_salt, salted_name


def test_names_are_unchanged_without_a_salt(monkeypatch):
    monkeypatch.delenv(CACHE_SALT_ENV, raising=False)
    assert cache_salt() == ""
    assert salted_name("cargo-registry") == "cargo-registry"


def test_a_salt_is_appended_to_every_name(monkeypatch):
    monkeypatch.setenv(CACHE_SALT_ENV, "bench-1a2b")
    assert salted_name("cargo-registry") == "cargo-registry-bench-1a2b"
    assert salted_name("uv-0.10.7") == "uv-0.10.7-bench-1a2b"
