"""build-all on the real engine: the whole graph (Rust, wheels, Go, images, scans), its reports, a planted
failure named while everything else is reported, and the client-mode command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import dagger
import pytest

from localengine.package_index import INDEX_URL, stand_in_index
from pipeline import Dynamo
from pipeline.errors import BuildFailed, PipelineInputError
from tests.conftest import EXAMPLE_WORKSPACE, REPO_ROOT
from tests.engine.scan_fixtures import PLANTED_ID

COMMIT = "89abcdef0123456"
IMAGES = ["dynamo-planner-cpu", "dynamo-runtime-cuda12.9", "epp", "frontend", "operator"]


@pytest.fixture(scope="module")
def index(dag, offline_context) -> dagger.Service:
    """The stand-in index: NIXL's dependencies (torch, numpy) as small real wheels, not gigabytes from PyPI."""
    return stand_in_index(offline_context)


@pytest.fixture(scope="module")
async def built(dynamo: Dynamo, clean_db, index) -> dict:
    """build-all once with a database that blocks nothing; its output and both reports."""
    out = await dynamo.build_all(commit_sha=COMMIT, trivy_db=clean_db, index_url=INDEX_URL, index=index)
    return {
        "out": out,
        "report": json.loads(await out.file("build-report.json").contents()),
        "markdown": await out.file("build-report.md").contents(),
    }


async def test_build_all_exports_artifacts_sboms_scans_and_both_reports(built, offline_context) -> None:
    """rust/, wheels/, go/, an SBOM and two scan reports per image, and one report whose stages and
    steps come from every part of the graph (the tests' step names the overlay's skipped tests)."""
    out = built["out"]
    assert sorted(await out.entries()) == [
        "build-report.json", "build-report.md", "go/", "rust/", "sboms/", "scans/", "wheels/"]
    assert {"dynamo-run", "libdynamo_llm_capi.a"} <= set(await out.entries(path="rust"))
    assert {"manager", "crd-apply", "epp"} <= set(await out.entries(path="go"))
    assert len(await out.glob("wheels/*.whl")) == 2
    assert sorted(await out.entries(path="sboms")) == [f"{name}.cdx.json" for name in IMAGES]
    assert sorted(await out.entries(path="scans")) == sorted(
        f"{name}.{kind}" for name in IMAGES for kind in ("trivy.json", "sarif"))
    # The runtime's SBOM is of the image built from these wheels: it lists them at the checkout's version.
    sbom = json.loads(await out.file("sboms/dynamo-runtime-cuda12.9.cdx.json").contents())
    assert sbom["bomFormat"] == "CycloneDX"
    components = {(c.get("name"), c.get("version")) for c in sbom.get("components", [])}
    assert ("ai-dynamo-runtime", "1.1.0") in components and ("ai-dynamo", "1.1.0") in components
    # The operator's and the EPP's images are made from the go stage's tree: each carries its own binaries.
    for name, binaries in (("operator", {"manager", "crd-apply"}), ("epp", {"epp"})):
        sbom = json.loads(await out.file(f"sboms/{name}.cdx.json").contents())
        assert {c["name"] for c in sbom["components"] if c.get("type") == "application"} == binaries, name

    report = built["report"]
    assert report["failed"] == []
    stages = {stage["name"]: stage for stage in report["stages"]}
    assert set(stages) == {"rust-build", "rust-test", "wheels", "go", "wheel-check",
                           *(f"image {name}" for name in IMAGES), *(f"scan {name}" for name in IMAGES)}
    assert all(stage["status"] == "ok" for stage in stages.values())
    assert sorted(report["images"]) == IMAGES
    assert all(image["bytes"] > 100_000 for image in report["images"].values())
    names = [step["name"] for step in report["steps"]]
    skipped = ", ".join(offline_context.rust_test_skip)
    for expected in ("rust-build/cargo build", f"rust-test/cargo test (skipping {skipped})", "wheels/maturin build",
                     "wheels/auditwheel repair", "wheels/uv build --wheel", "go/operator build",
                     "go/epp build (cgo)", "checks/wheel check"):
        assert expected in names
    # No shared backend given: the builds ran without sccache, and no step shows counters.
    assert "sccache" not in report and not any("sccache" in step for step in report["steps"])
    assert "| image dynamo-runtime-cuda12.9 | ok |" in built["markdown"]
    assert "Every stage passed." in built["markdown"]


async def test_a_second_build_all_marks_its_cached_results_as_cached(dynamo: Dynamo, built, clean_db, index) -> None:
    """Nothing changed: every step and stage that records when it was built says cached, with that
    time (a cached step's sccache counters, with a shared backend, are the unit tests' business)."""
    again = await dynamo.build_all(commit_sha=COMMIT, trivy_db=clean_db, index_url=INDEX_URL, index=index)
    report = json.loads(await again.file("build-report.json").contents())
    first = {stage["name"]: stage for stage in built["report"]["stages"]}
    stages = {stage["name"]: stage for stage in report["stages"]}
    recorded = [name for name, stage in stages.items() if "cached" in stage]
    assert {"rust-build", "rust-test", "wheels", "go", "image operator", "scan operator",
            "image dynamo-runtime-cuda12.9"} <= set(recorded)
    for name in recorded:
        assert stages[name]["cached"] is True, name
        assert stages[name]["built_at"] <= report["started"]
        if "built_at" in first[name]:
            assert stages[name]["built_at"] == first[name]["built_at"], name
    cargo = next(step for step in report["steps"] if step["name"] == "rust-build/cargo build")
    assert cargo["cached"] is True and "sccache" not in cargo
    markdown = await again.file("build-report.md").contents()
    assert "| rust-build/cargo build |" in markdown and "cached (built " in markdown


async def test_a_blocked_scan_is_named_and_every_other_stage_still_reported(dynamo: Dynamo, planted_db, index) -> None:
    """A planted CRITICAL advisory for base-files (in the Debian-based images) blocks their scans: build-all
    fails naming them; with --keep-going it returns dist/ whose report names them next to the stages that
    passed, with every image's SBOM and scan (the blocked ones too)."""
    with pytest.raises(BuildFailed) as failed:
        await dynamo.build_all(commit_sha=COMMIT, trivy_db=planted_db, index_url=INDEX_URL, index=index)
    message = str(failed.value)
    first_line = message.splitlines()[0]
    assert first_line.startswith("build-all: ") and "scan dynamo-runtime-cuda12.9" in first_line
    assert "rerun with --keep-going" in message and PLANTED_ID in message
    assert "passed: rust-build, rust-test, wheels, go, wheel-check, image " in message

    out = await dynamo.build_all(commit_sha=COMMIT, trivy_db=planted_db, index_url=INDEX_URL, index=index, keep_going=True)
    report = json.loads(await out.file("build-report.json").contents())
    stages = {stage["name"]: stage for stage in report["stages"]}
    assert "scan dynamo-runtime-cuda12.9" in report["failed"]
    assert report["failed"] == [name for name, stage in stages.items() if stage["status"] == "failed"]
    assert all(name.startswith("scan ") for name in report["failed"])
    assert PLANTED_ID in stages["scan dynamo-runtime-cuda12.9"]["error"]
    assert all(stages[name]["status"] == "ok" for name in ("rust-build", "rust-test", "wheels", "go", "wheel-check"))
    assert all(stages[f"image {name}"]["status"] == "ok" for name in IMAGES)
    assert sorted(await out.entries(path="sboms")) == [f"{name}.cdx.json" for name in IMAGES]
    scan = json.loads(await out.file("scans/dynamo-runtime-cuda12.9.trivy.json").contents())
    assert PLANTED_ID in json.dumps(scan)
    markdown = await out.file("build-report.md").contents()
    assert "**Failed: " in markdown and "### scan dynamo-runtime-cuda12.9 (failed)" in markdown


async def test_a_broken_go_file_fails_the_go_stage_and_skips_only_what_needs_it(dynamo: Dynamo, clean_db, index) -> None:
    """A syntax error in the operator's crd-apply tool: the go stage fails naming the file; the images made
    from its binaries (operator, EPP, frontend) and their scans are skipped; Rust, the wheels, the runtime
    and planner images and their scans still finish and are exported."""
    path = "deploy/operator/cmd/crd-apply/main.go"
    text = await dynamo.source.file(path).contents()
    broken = Dynamo(source=dynamo.source.with_new_file(path, text + "\nfunc broken( {\n"), overlay=dynamo.overlay)
    out = await broken.build_all(commit_sha=COMMIT, trivy_db=clean_db, index_url=INDEX_URL, index=index, keep_going=True)
    report = json.loads(await out.file("build-report.json").contents())
    stages = {stage["name"]: stage["status"] for stage in report["stages"]}
    assert report["failed"] == ["go"]
    go_error = next(stage["error"] for stage in report["stages"] if stage["name"] == "go")
    assert "crd-apply/main.go" in go_error
    needs_go = {f"{kind} {name}" for kind in ("image", "scan") for name in ("frontend", "operator", "epp")}
    assert {name for name, status in stages.items() if status == "skipped"} == needs_go
    assert {name for name, status in stages.items() if status == "ok"} == set(stages) - needs_go - {"go"}
    assert sorted(await out.entries()) == [
        "build-report.json", "build-report.md", "rust/", "sboms/", "scans/", "wheels/"]
    assert sorted(await out.entries(path="sboms")) == ["dynamo-planner-cpu.cdx.json", "dynamo-runtime-cuda12.9.cdx.json"]


async def test_unknown_framework_is_refused_before_building(dynamo: Dynamo) -> None:
    with pytest.raises(PipelineInputError, match=r"unknown framework 'tgi'; allowed: dynamo, vllm, sglang, trtllm"):
        await dynamo.build_all(frameworks=["dynamo", "tgi"])


async def test_build_all_command_exports_what_was_built_and_exits_1_naming_the_failure(
    engine_env: dict[str, str], planted_db, tmp_path: Path
) -> None:
    """`python -m pipeline build-all -o DIR` (the README's command): with a blocking advisory it still
    writes every artifact and both reports, then exits 1 naming the blocked scans."""
    db_dir = tmp_path / "trivy-db"
    await planted_db.export(str(db_dir))
    result = subprocess.run(
        [sys.executable, "-m", "pipeline", "build-all", "--source", str(EXAMPLE_WORKSPACE), "--commit-sha", COMMIT,
         "--trivy-db", str(db_dir), "--stand-in-index", "-o", str(tmp_path / "dist")],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=3600,
    )
    assert result.returncode == 1, result.stderr[-3000:]
    assert "error: build-all: " in result.stderr and "scan dynamo-runtime-cuda12.9" in result.stderr
    assert f"{tmp_path / 'dist'}/build-report.md" in result.stderr
    written = sorted(str(p.relative_to(tmp_path / "dist")) for p in (tmp_path / "dist").rglob("*") if p.is_file())
    for expected in ("build-report.json", "build-report.md", "rust/dynamo-run", "go/epp",
                     "sboms/operator.cdx.json", "scans/dynamo-runtime-cuda12.9.sarif"):
        assert expected in written
    assert sum(name.startswith("wheels/") and name.endswith(".whl") for name in written) == 2
    report = json.loads((tmp_path / "dist" / "build-report.json").read_text())
    assert "scan dynamo-runtime-cuda12.9" in report["failed"]


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


async def test_build_all_refuses_an_unknown_profile_before_building(dynamo: Dynamo) -> None:
    with pytest.raises(PipelineInputError, match=r"^Cargo\.toml: unknown profile 'fastest'; profiles: .*dev.*release"):
        await dynamo.build_all(profile="fastest")


async def test_build_all_dev_profile_builds_every_rust_artifact_unoptimised(
    dynamo: Dynamo, clean_db, index, tmp_path: Path
) -> None:
    """--profile dev reaches the Rust build and the wheels (and the EPP's C library): the binary and
    the extension module carry the dev profile's debug info, many times release's, and the graph
    still ends in scanned images."""
    import zipfile

    out = await dynamo.build_all(commit_sha=COMMIT, trivy_db=clean_db, index_url=INDEX_URL, index=index, profile="dev")
    report = json.loads(await out.file("build-report.json").contents())
    assert report["failed"] == []
    # The EPP's dev C library is one stage, built once (the release graph uses the Go stage's own).
    assert [stage["status"] for stage in report["stages"] if stage["name"] == "c-library"] == ["ok"]
    assert sorted(await out.entries(path="sboms")) == [f"{name}.cdx.json" for name in IMAGES]
    released = await dynamo.build_all(commit_sha=COMMIT, trivy_db=clean_db, index_url=INDEX_URL, index=index)
    sizes = {}
    for profile, dist in (("dev", out), ("release", released)):
        local = Path(await dist.export(str(tmp_path / profile)))
        (runtime_wheel,) = local.glob("wheels/ai_dynamo_runtime-*.whl")
        with zipfile.ZipFile(runtime_wheel) as wheel:
            (extension,) = [name for name in wheel.namelist() if name.endswith(".so") and "/_core" in name]
            sizes[profile] = (debug_info_bytes((local / "rust" / "dynamo-run").read_bytes()),
                              debug_info_bytes(wheel.read(extension)))
    assert all(dev > 4 * release for dev, release in zip(sizes["dev"], sizes["release"])), sizes


def debug_info_bytes(elf: bytes) -> int:
    """The size of an ELF64 file's .debug_info section (0 without one), read from its section headers."""
    import struct

    shoff, = struct.unpack_from("<Q", elf, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", elf, 0x3A)
    headers = [struct.unpack_from("<IIQQQQ", elf, shoff + i * shentsize) for i in range(shnum)]
    names_offset = headers[shstrndx][4]
    for name, _type, _flags, _addr, _offset, size in headers:
        end = elf.index(b"\0", names_offset + name)
        if elf[names_offset + name:end] == b".debug_info":
            return size
    return 0
