"""Fixtures the scan and publish tests share: Trivy databases built with trivy-db's own Go package.

The real database cannot be downloaded here, so tools/trivy-db (trivy-db at the version Trivy
requires) writes one with a planted advisory, built and run in the golang image from the Go
module proxy. The engine caches both, so only the first run builds it.
"""

from __future__ import annotations

import dagger
import pytest

from pipeline.context import Context
from tests.conftest import REPO_ROOT

PLANTED_ID = "CVE-2099-0001"
PLANTED_PACKAGE = "base-files"  # in every Debian image, so in the stand-ins (Debian 12)
ABSENT_PACKAGE = "dynamo-pipeline-absent"


def go_builder(dag, ctx: Context) -> dagger.Container:
    """The golang image with the module and build caches the pipeline's Go builds use."""
    return (
        dag.container()
        .from_(ctx.image("golang_operator").pinned)
        .with_mounted_cache("/go/pkg/mod", dag.cache_volume("go-mod"))
        .with_mounted_cache("/root/.cache/go-build", dag.cache_volume("go-build"))
        .with_env_variable("CGO_ENABLED", "0")
    )


def trivy_db(dag, ctx: Context, package: str) -> dagger.Directory:
    """A Trivy database (trivy.db, metadata.json) whose one advisory, CRITICAL, names `package`."""
    return (
        go_builder(dag, ctx)
        .with_directory("/src", dag.host().directory(str(REPO_ROOT / "tools" / "trivy-db")))
        .with_workdir("/src")
        .with_exec(["go", "build", "-trimpath", "-o", "/usr/local/bin/trivy-db-fixture", "."])
        .with_exec(["trivy-db-fixture", "-out", "/out", "-debian", "12", "-package", package,
                    "-id", PLANTED_ID, "-severity", "CRITICAL"])  # fmt: skip
        .directory("/out/db")
    )


@pytest.fixture(scope="session")
def planted_db(dag, offline_context: Context) -> dagger.Directory:
    """A database with a CRITICAL advisory for base-files, which every stand-in image contains."""
    return trivy_db(dag, offline_context, PLANTED_PACKAGE)


@pytest.fixture(scope="session")
def clean_db(dag, offline_context: Context) -> dagger.Directory:
    """A database whose only advisory names a package no image has: scans find no vulnerability."""
    return trivy_db(dag, offline_context, ABSENT_PACKAGE)
