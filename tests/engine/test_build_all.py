"""build-all on the real engine: the Dagger function and the client-mode command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline import Dynamo
from pipeline.errors import PipelineInputError
from tests.conftest import EXAMPLE_WORKSPACE, REPO_ROOT

COMMIT = "89abcdef0123456"


async def test_build_all_outputs_artifacts_wheels_and_a_merged_report(dynamo: Dynamo) -> None:
    """rust/, wheels/, go/ and one report whose steps come from every stage."""
    out = await dynamo.build_all(commit_sha=COMMIT)
    assert sorted(await out.entries()) == ["build-report.json", "go/", "rust/", "wheels/"]
    assert {"dynamo-run", "libdynamo_llm_capi.a"} <= set(await out.entries(path="rust"))
    assert {"manager", "crd-apply", "epp"} <= set(await out.entries(path="go"))
    assert len(await out.glob("wheels/*.whl")) == 2
    report = json.loads(await out.file("build-report.json").contents())
    names = [step["name"] for step in report["steps"]]
    for expected in ("rust-build/cargo build", "rust-test/cargo test", "wheels/maturin build",
                     "wheels/auditwheel repair", "wheels/uv build --wheel", "go/operator build",
                     "go/epp build (cgo)", "checks/wheel check"):
        assert expected in names
    stage_misses = sum(step["sccache"]["misses"] for step in report["steps"] if "sccache" in step)
    assert report["sccache"]["misses"] == stage_misses


def test_build_all_command_exports_the_same_layout(engine_env: dict[str, str], tmp_path: Path) -> None:
    """`python -m pipeline build-all -o DIR` (the README's build command) writes the outputs."""
    result = subprocess.run(
        [sys.executable, "-m", "pipeline", "build-all", "--source", str(EXAMPLE_WORKSPACE),
         "--commit-sha", COMMIT, "-o", str(tmp_path / "dist")],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=1200,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    written = sorted(str(p.relative_to(tmp_path / "dist")) for p in (tmp_path / "dist").rglob("*") if p.is_file())
    assert "build-report.json" in written and "rust/dynamo-run" in written and "go/epp" in written
    assert sum(name.startswith("wheels/") and name.endswith(".whl") for name in written) == 2



async def test_build_all_refuses_version_skew_before_building(dynamo: Dynamo) -> None:
    """One pin bumped: build-all names it and stops before any container runs."""
    path = "lib/bindings/python/pyproject.toml"
    text = await dynamo.source.file(path).contents()
    skewed = Dynamo(source=dynamo.source.with_new_file(path, text.replace('version = "1.1.0"', 'version = "1.2.0"', 1)),
                    overlay=dynamo.overlay)
    assert await dynamo.version() == "1.1.0"
    with pytest.raises(PipelineInputError, match=r"lib/bindings/python/pyproject\.toml:project\.version = 1\.2\.0"):
        await skewed.build_all()
    with pytest.raises(PipelineInputError, match="version skew in the source directory"):
        await skewed.versions_agree()
