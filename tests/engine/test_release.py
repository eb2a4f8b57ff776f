"""The release stage: RC tags, release notes, wheels checked with twine, and preflight."""

from __future__ import annotations

import pytest

from pipeline import Dynamo
from pipeline.errors import CheckFailed, PipelineInputError

PYPROJECT = """\
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "demo-release"
version = "1.1.0"
readme = {{ text = "{readme}", content-type = "text/x-rst" }}

[tool.hatch.build.targets.wheel]
packages = ["demo_release"]
"""


async def test_next_tag_and_ngc_tag_follow_existing_tags(dynamo: Dynamo) -> None:
    release = await dynamo.release()
    tags = "v1.0.0\nv1.1.0-rc0\nv1.1.0-rc1\nv1.0.1-rc7"
    assert await release.next_tag(tags=tags) == "v1.1.0-rc2"  # the checkout's version, 1.1.0
    assert await release.ngc_tag(tags=tags) == "1.1.0rc2"
    assert await release.next_tag(tags="v1.0.1-rc7,v1.0.1-rc8", version="1.0.1") == "v1.0.1-rc9"
    with pytest.raises(PipelineInputError, match="version 'one' must look like X.Y.Z"):
        await release.next_tag(version="one")


async def test_notes_file(dynamo: Dynamo) -> None:
    release = await dynamo.release()
    notes = await (await release.notes(log="abc1234 feat: a\nbcd2345 fix(llm): b\n", tag="v1.1.0-rc0")).contents()
    assert notes.startswith("# v1.1.0-rc0\n")
    assert "## 🚀 Features & Improvements\n\n- a (abc1234)" in notes and "- **llm**: b (bcd2345)" in notes


async def built_wheel(dag, offline_context, readme: str):
    """A tiny wheel built with uv from a project whose README is `readme` (reStructuredText)."""
    project = (
        dag.directory()
        .with_new_file("pyproject.toml", PYPROJECT.format(readme=readme))
        .with_new_file("demo_release/__init__.py", "")
    )
    from modules.python_tools import PythonTools

    tools = PythonTools(offline_context.image("uv").pinned, offline_context.tools["uv"], offline_context.tools["python"])
    return (
        dag.container()
        .from_(offline_context.image("python").pinned)
        .with_(tools.with_uv)
        .with_directory("/p", project)
        .with_workdir("/p")
        .with_exec(["uv", "build", "--wheel", "--out-dir", "/dist"])
        .directory("/dist")
    )


async def test_wheels_ready_runs_twine_check(dynamo: Dynamo, dag, offline_context) -> None:
    release = await dynamo.release()
    good = await built_wheel(dag, offline_context, "Demo\\n====\\n\\nA package.")
    assert "PASSED" in await release.wheels_ready(good)
    bad = await built_wheel(dag, offline_context, "Demo\\n==\\n\\n`unclosed")
    with pytest.raises(CheckFailed, match=r"demo_release-1.1.0-\S+\.whl: FAILED"):
        await release.wheels_ready(bad)
    with pytest.raises(PipelineInputError, match="no .whl or .tar.gz"):
        await release.wheels_ready(dag.directory())


async def test_preflight_passes_on_the_example(dynamo: Dynamo, clean_db, package_index) -> None:
    report = await dynamo.preflight(trivy_db=clean_db, **package_index)
    assert "ok  licenses allowed (cargo-deny)" in report and "ok  lock files present and in sync" in report
    for item in ("wheel contents (tags, files, manylinux policy, import)", "operator go test", "EPP go vet",
                 "images build (runtime, frontend, planner, operator, EPP)", "images scan (Trivy, [scan] severity gate)"):
        assert f"ok  {item}" in report


async def test_preflight_scan_item_names_image_and_fix(dynamo: Dynamo, planted_db, package_index) -> None:
    """A CRITICAL advisory for base-files (in every Debian-based image): only the scan item fails,
    naming each image, the package and what to do."""
    with pytest.raises(CheckFailed) as failed:
        await dynamo.preflight(trivy_db=planted_db, **package_index)
    message = str(failed.value)
    assert message.startswith("1 of 14 preflight items failed:\n- images scan (Trivy, [scan] severity gate): ")
    for image in ("dynamo-runtime-cuda", "frontend: "):
        assert f"scan of {image}" in message
    assert "CVE-2099-0001" in message and "base-files" in message and "[scan] ignore_file" in message
    with pytest.raises(PipelineInputError, match="unknown framework 'tgi'"):
        await dynamo.preflight(trivy_db=planted_db, frameworks=["tgi"])
