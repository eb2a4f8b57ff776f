"""The wheel stage on the real engine against the example workspace."""

from __future__ import annotations

import json

import dagger
import pytest

from modules.wheels import WheelError, WheelName
from pipeline import Dynamo
from pipeline.errors import PipelineInputError

COMMIT = "0123abcd4567ef89"


async def test_wheels_build_validate_and_import(dynamo: Dynamo, offline_context) -> None:
    """Both wheels build, carry the right tags and files, and import in a clean Python."""
    built = await dynamo.wheels().build(commit_sha=COMMIT)
    pure, runtime = sorted(await built.dist.entries())
    policy = offline_context.tools["manylinux_policy"]
    assert pure == "ai_dynamo-1.1.0-py3-none-any.whl"
    # auditwheel keeps the lowest policy the wheel meets and adds the one asked for.
    runtime_name = WheelName.parse(runtime)
    assert (runtime_name.distribution, runtime_name.python, runtime_name.abi) == ("ai_dynamo_runtime", "cp310", "abi3")
    assert f"{policy}_x86_64" in runtime_name.platforms
    steps = {step["name"]: step for step in json.loads(built.report)["steps"]}
    assert {"maturin build", "auditwheel repair", "uv build --wheel"} <= set(steps)
    assert "sccache" not in steps["maturin build"]  # no shared backend given: rustc runs without sccache

    checked = await dynamo.wheels().check(built.dist, commit_sha=COMMIT)
    assert f"{policy}_x86_64" in checked
    assert "dynamo._core dynamo._core" in checked
    assert "dynamo.frontend._version" in checked


async def installed(dist, offline_context, dag, code: str) -> str:
    """Install the wheels in a clean Python and run `code` there."""
    return await (
        dag.container().from_(offline_context.image("python").pinned)
        .with_mounted_directory("/wheels", dist)
        .with_exec(["sh", "-c", "python3 -m pip install -q /wheels/*.whl"])
        .with_exec(["python3", "-c", code])
        .stdout()
    )


async def test_the_hatch_hook_gets_the_commit_from_git_without_a_repository(dynamo: Dynamo, dag, offline_context) -> None:
    """The example's hook, like upstream's, reads only `git rev-parse --short HEAD`: the build's git
    answers it, so the components say 1.1.0+<sha>."""
    hook = await dynamo.source.file("hatch_build.py").contents()
    assert "environ" not in hook  # no environment fallback, as upstream
    dist = await dynamo.wheels().dist(commit_sha=COMMIT)
    printed = await installed(dist, offline_context, dag,
                              "import dynamo.frontend._version as v, dynamo.common._version as c; print(v.__version__, c.__version__)")
    assert printed.split() == [f"1.1.0+{COMMIT[:7]}"] * 2


async def test_wheel_features_come_from_the_context(dynamo: Dynamo, dag, offline_context) -> None:
    """dynamo's wheel_features (kv-indexer) reach maturin: the extension reports them."""
    assert offline_context.framework("dynamo").wheel_features == ("kv-indexer",)
    dist = await dynamo.wheels().dist(commit_sha=COMMIT)
    printed = await installed(dist, offline_context, dag, "import dynamo._core as c; print(*c.built_features())")
    assert printed.split() == ["kv-indexer"]


async def test_media_ffmpeg_without_ffmpeg_is_named(dynamo: Dynamo, dag) -> None:
    """sglang asks for media-ffmpeg; an FFmpeg tree without the dev libraries is named before maturin."""
    with pytest.raises(dagger.ExecError) as raised:
        await dynamo.wheels().build(framework="sglang", ffmpeg=dag.directory())
    assert raised.value.stderr.strip() == (
        "wheel feature media-ffmpeg (sglang) needs FFmpeg's development libraries (ffmpeg-devel; apt: libavcodec-dev "
        "libavformat-dev libavutil-dev libswscale-dev libswresample-dev): pkg-config lacks some of "
        "libavcodec libavformat libavutil libswscale libswresample"
    )


async def test_unknown_wheel_feature_in_the_context_is_refused(dynamo: Dynamo, dag) -> None:
    from pipeline.context import DEFAULT_CONTEXT

    text = DEFAULT_CONTEXT.read_text().replace('wheel_features = ["kv-indexer"]', 'wheel_features = ["kv-indexr"]', 1)
    broken = Dynamo(source=dynamo.source, overlay=dynamo.overlay,
                    context_file=dag.directory().with_new_file("context.toml", text).file("context.toml"))
    with pytest.raises(PipelineInputError, match=r"\[frameworks\.dynamo\] wheel_features: .*no member has feature 'kv-indexr'"):
        await broken.wheels().build()
    with pytest.raises(PipelineInputError, match=r"unknown framework 'tensorflow'"):
        await dynamo.wheels().build(framework="tensorflow")


async def test_wheel_check_catches_a_missing_commit_stamp(dynamo: Dynamo) -> None:
    """Built without the commit, the pure wheel fails a check that expects it."""
    dist = await dynamo.wheels().dist()
    with pytest.raises(WheelError, match=r"lack \+0123abc"):
        await dynamo.wheels().check(dist, commit_sha=COMMIT)


async def test_wheel_above_the_policy_names_its_symbols(dynamo: Dynamo, dag) -> None:
    """On the Debian stand-in the extension needs glibc 2.34+, so manylinux_2_28 must fail, naming symbols."""
    strict = dag.host().file(dynamo_overlay_path()).contents()
    overlay = (await strict).replace('manylinux_policy = "manylinux_2_36"', 'manylinux_policy = "manylinux_2_28"')
    assert 'manylinux_policy = "manylinux_2_28"' in overlay
    pinned = Dynamo(source=dynamo.source, overlay=dag.directory().with_new_file("o.toml", overlay).file("o.toml"))
    with pytest.raises(WheelError, match=r"cannot be manylinux_2_28_x86_64: it imports .*\(GLIBC_2\.(29|3\d)\)"):
        await pinned.wheels().build()


def dynamo_overlay_path() -> str:
    import os

    return os.environ["DYNAMO_PIPELINE_OVERLAY"]


async def test_missing_maturin_project_is_a_clear_error(dynamo: Dynamo) -> None:
    no_bindings = Dynamo(source=dynamo.source.without_directory("lib/bindings/python"), overlay=dynamo.overlay)
    with pytest.raises(PipelineInputError, match="lib/bindings/python/pyproject.toml: not found"):
        await no_bindings.wheels().dist()


async def test_bad_commit_sha_is_refused(dynamo: Dynamo) -> None:
    with pytest.raises(PipelineInputError, match="must be 7 to 40 lowercase hex digits"):
        await dynamo.wheels().dist(commit_sha="HEAD")


async def test_each_wheel_build_sees_only_what_it_packs(dynamo: Dynamo) -> None:
    """maturin's view keeps the bindings' Python sources and no pure package; uv build's keeps the
    pure package and its build files and no Rust (so an edit on one side leaves the other cached)."""
    from pipeline.rust import MATURIN_EXCLUDE
    from pipeline.wheels import PURE_WHEEL_EXCLUDE

    maturin_view = dynamo.source.filter(exclude=MATURIN_EXCLUDE)
    assert await maturin_view.exists("lib/bindings/python/src/dynamo/runtime/__init__.py")
    assert await maturin_view.exists("lib/bindings/python/pyproject.toml") and await maturin_view.exists("lib/llm/src/lib.rs")
    assert not await maturin_view.exists("components") and not await maturin_view.exists("pyproject.toml")
    pure_view = dynamo.source.filter(exclude=PURE_WHEEL_EXCLUDE)
    assert await pure_view.glob("**/*.rs") == [] and await pure_view.glob("**/Cargo.*") == []
    for kept in ("pyproject.toml", "hatch_build.py", "README.md", "components/src/dynamo/frontend/__init__.py"):
        assert await pure_view.exists(kept), kept


# The size of the extension in a wheel.
_EXTENSION_SIZE = """
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as wheel:
    print(next(info.file_size for info in wheel.infolist() if info.filename == "dynamo/_core.abi3.so"))
"""


async def test_the_wheel_profile_is_the_bindings_own(dynamo: Dynamo, dag, offline_context) -> None:
    """A profile only the bindings' Cargo.toml defines (upstream's profiling: release with debug info,
    unstripped) reaches maturin; one it does not define is refused before any container runs."""
    with pytest.raises(PipelineInputError, match=r"lib/bindings/python/Cargo\.toml: unknown profile 'profilng'; "
                                                 r"profiles: bench, dev, profiling, release, test"):
        await dynamo.wheels().build(profile="profilng")
    python = dag.container().from_(offline_context.image("python").pinned)

    async def extension_size(dist) -> int:
        runtime = next(name for name in await dist.entries() if name.startswith("ai_dynamo_runtime-"))
        return int(await python.with_mounted_directory("/wheels", dist)
                   .with_exec(["python3", "-c", _EXTENSION_SIZE, f"/wheels/{runtime}"]).stdout())

    profiling = await extension_size(await dynamo.wheels().dist(commit_sha=COMMIT, profile="profiling"))
    release = await extension_size(await dynamo.wheels().dist(commit_sha=COMMIT))
    assert profiling > 2 * release, (profiling, release)  # full debug info, unstripped


async def test_gpu_memory_service_wheel_builds_on_its_own(dynamo: Dynamo, dag, offline_context) -> None:
    """lib/gpu_memory_service (setuptools, the directory is the package, a C++ extension) becomes its own
    wheel for the context's Python; installed, its console script runs the extension."""
    dist = await dynamo.wheels().gpu_memory_service()
    python = offline_context.tools["python"].replace(".", "")
    assert await dist.entries() == [f"gpu_memory_service-0.9.0-cp{python}-cp{python}-linux_x86_64.whl"]
    printed = await (
        dag.container().from_(offline_context.image("python").pinned)
        .with_mounted_directory("/wheels", dist)
        .with_exec(["sh", "-c", "python3 -m pip install -q /wheels/*.whl && gpu-memory-service 3000000"])
        .stdout()
    )
    assert printed.strip() == "gpu-memory-service 0.9.0: 3000000 bytes -> 4194304 bytes"


async def test_missing_gpu_memory_service_is_named(dynamo: Dynamo) -> None:
    from pipeline.wheels import Wheels

    wheels = Wheels(**{**dynamo.wheels().inputs(), "source": dynamo.source.without_directory("lib/gpu_memory_service")})
    with pytest.raises(PipelineInputError, match=r"^lib/gpu_memory_service/pyproject.toml: not found in the source "
                                                 r"directory \(\[workspace\] gpu_memory_service in "):
        await wheels.gpu_memory_service()
