"""The image stage on the real engine: every image builds from stand-in bases and a local package index.

The framework packages are small real wheels built and served as a PEP 503 index from a Dagger
service (localengine/package_index.py); NIXL's own wheels come from PyPI at the context's refs.
No GPU is used: CUDA bases are stand-ins, imports only.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import dagger
import pytest

from pipeline.context import DEFAULT_CONTEXT as CONTEXT
from localengine.package_index import INDEX_URL, stand_in_index
from pipeline.errors import PipelineInputError
from pipeline.image import Image

COMMIT = "0123abcd4567ef89"
VERSION = "1.1.0"

# Who runs, where HOME is, what imports, which versions: one JSON line from inside the image.
_PROBE = r'''
import importlib, importlib.metadata as md, json, os, pwd, shutil, sys
module, dist = sys.argv[1], sys.argv[2]
import dynamo._core, dynamo.frontend
found = {}
ffmpeg = dynamo._core.ffmpeg_version() if hasattr(dynamo._core, "ffmpeg_version") else None
try:
    from gpu_memory_service.client.extensions import _allocator_ext
    gms = _allocator_ext.aligned_size(1)
except ImportError:
    gms = None
for name in ("nixl", "nixl-cu12", "nixl-cu13", "gpu-memory-service", dist):
    try:
        found[name] = md.version(name)
    except md.PackageNotFoundError:
        pass
print(json.dumps({
    "uid": os.getuid(), "gid": os.getgid(), "user": pwd.getpwuid(os.getuid()).pw_name,
    "home": os.environ.get("HOME"), "passwd_home": pwd.getpwuid(os.getuid()).pw_dir,
    "python": sys.executable, "framework": importlib.import_module(module).__version__ if module else None,
    "dists": found, "features": dynamo._core.built_features(), "ffmpeg": ffmpeg, "gms": gms, "toolchain": [tool for tool in ("gcc", "cc", "cargo", "rustc", "go") if shutil.which(tool)],
}))
'''


@pytest.fixture(scope="module")
def image(dynamo) -> Image:
    """The image stage object, as `dagger call image` builds it."""
    return dynamo.image()


@pytest.fixture(scope="module")
def index(dag, offline_context) -> dagger.Service:
    """A PEP 503 index of stand-in framework wheels, built and served by the engine."""
    return stand_in_index(offline_context)


@pytest.fixture(scope="module")
def small_ffmpeg_image(image: Image, dag) -> Image:
    """The image stage with a context whose FFmpeg builds only an H.264/HEVC/VP9/PNG decoder set.

    Its wheels (built when none are given) link that FFmpeg too.

    The same function and tarball as production; upstream's full flag set compiles all of FFmpeg's
    decoders, demuxers and filters, over an hour on this shared 2-core machine.
    """
    text = CONTEXT.read_text()
    small = text.replace(
        '"--enable-shared",\n]',
        '"--enable-shared", "--disable-everything", "--enable-decoder=h264,hevc,vp9,png",\n'
        '    "--enable-demuxer=mov,matroska,image2", "--enable-parser=h264,hevc,vp9", "--enable-protocol=file",\n]',
    )
    assert small != text
    context_file = dag.directory().with_new_file("context.toml", small).file("context.toml")
    return Image(source=image.source, context_file=context_file, overlay=image.overlay)


@pytest.fixture(scope="module")
async def wheels(dynamo) -> dagger.Directory:
    """The Wheels stage's dist, stamped with COMMIT."""
    return await dynamo.wheels().dist(commit_sha=COMMIT)


async def _probe(ctr: dagger.Container, module: str = "", dist: str = "ai-dynamo") -> dict:
    return json.loads(await ctr.with_exec(["python", "-c", _PROBE, module, dist]).stdout())


async def _nats_etcd(ctr: dagger.Container, offline_context) -> None:
    """NATS and etcd at the context's versions run as uid 1000, from upstream's paths (PATH finds etcd's directory).

    Through Python: the planner's distroless base has no shell or `id`.
    """
    run = ("import os, subprocess, sys; print(os.getuid()); "
           "[print(subprocess.run(c.split(), capture_output=True, text=True, check=True).stdout.splitlines()[0]) "
           "for c in sys.argv[1:]]")
    out = await ctr.with_exec(["python", "-c", run, "nats-server --version", "etcd --version", "etcdctl version"]).stdout()
    etcd = offline_context.tools["etcd"]
    assert out.splitlines() == [
        "1000", f"nats-server: v{offline_context.tools['nats']}", f"etcd Version: {etcd}", f"etcdctl version: {etcd}",
    ]


@pytest.mark.parametrize(
    ("framework", "cuda", "module", "dist", "nixl"),
    [
        ("vllm", "12.9", "vllm", "vllm", "nixl-cu12"),
        ("dynamo", "12.9", "", "ai-dynamo", "nixl-cu12"),
        ("trtllm", "13.1", "tensorrt_llm", "tensorrt-llm", "nixl-cu13"),
        ("sglang", "12.9", "sglang", "sglang", None),
    ],
)
async def test_runtime_image(
    image: Image, small_ffmpeg_image: Image, wheels, index, offline_context, framework, cuda, module, dist, nixl
) -> None:
    """Builds; runs as dynamo (1000:0, HOME); imports dynamo and the framework at the context's version;
    NIXL where upstream ships it; FFmpeg where the context enables it, with the runtime wheel built
    against it (sglang: no wheels given, so the Wheels stage builds them with media-ffmpeg over the
    Native stage's FFmpeg); NATS and etcd; labels; no compiler toolchain."""
    fw = offline_context.framework(framework)
    if fw.enable_media_ffmpeg:
        image, wheels = small_ffmpeg_image, None
    ctr = await image.runtime(
        framework, cuda_version=cuda, wheels=wheels, commit_sha=COMMIT, index_url=INDEX_URL, index=index
    )
    facts = await _probe(ctr, module, dist)
    assert (facts["uid"], facts["gid"], facts["user"]) == (1000, 0, "dynamo")
    assert facts["home"] == facts["passwd_home"] == "/home/dynamo"
    assert facts["python"] == "/opt/dynamo/venv/bin/python"
    if module:
        assert facts["framework"] == fw.version
    if nixl:
        assert facts["dists"][nixl] == facts["dists"]["nixl"] == fw.nixl_ref.removeprefix("v")
    else:
        assert not any(name.startswith("nixl") for name in facts["dists"])
    assert facts["toolchain"] == []
    assert facts["features"] == list(fw.wheel_features)
    # FFmpeg 7.1's libavutil is 59.x, loaded by the extension from the wheel or /usr/local/lib.
    assert (facts["ffmpeg"] or "").startswith("59.") is fw.enable_media_ffmpeg
    # The GPU Memory Service wheel (built by the Wheels stage), its C++ extension loading.
    assert facts["dists"].get("gpu-memory-service") == ("0.9.0" if fw.enable_gpu_memory_service else None)
    assert facts["gms"] == (2 << 20 if fw.enable_gpu_memory_service else None)
    await _nats_etcd(ctr, offline_context)
    assert await ctr.user() == "dynamo"
    assert await ctr.label("org.opencontainers.image.version") == VERSION
    assert await ctr.label("org.opencontainers.image.revision") == COMMIT
    assert await ctr.label("org.opencontainers.image.source") == offline_context.packaging.source_url
    assert await ctr.label("org.opencontainers.image.created")
    assert await ctr.entrypoint() == ["/opt/dynamo/entrypoint.sh"]
    libs = await ctr.with_exec(["sh", "-c", "ls /usr/local/lib | grep -c '^libavcodec.so' || true"]).stdout()
    assert (int(libs) > 0) is fw.enable_media_ffmpeg


async def test_frontend_image_carries_the_epp_and_the_wheels(image: Image, wheels, index) -> None:
    ctr = await image.frontend(wheels=wheels, commit_sha=COMMIT, index_url=INDEX_URL, index=index)
    assert await ctr.entrypoint() == ["/epp"]
    out = await ctr.with_exec(["--version"], use_entrypoint=True).stdout()
    assert out.startswith(f"dynamo-epp {VERSION} (commit {COMMIT})")
    facts = await _probe(ctr)
    assert (facts["uid"], facts["user"], facts["dists"]["ai-dynamo"]) == (1000, "dynamo", VERSION)
    assert facts["dists"]["nixl-cu12"]
    assert (facts["dists"]["gpu-memory-service"], facts["gms"]) == ("0.9.0", 2 << 20)


async def test_planner_image_runs_as_dynamo(image: Image, wheels, index, offline_context) -> None:
    ctr = await image.planner(wheels=wheels, commit_sha=COMMIT, index_url=INDEX_URL, index=index)
    facts = await _probe(ctr)
    assert (facts["uid"], facts["gid"], facts["user"], facts["home"]) == (1000, 0, "dynamo", "/home/dynamo")
    assert facts["toolchain"] == []
    assert "gpu-memory-service" not in facts["dists"]  # upstream's planner has no GMS
    await _nats_etcd(ctr, offline_context)
    assert await ctr.label("org.opencontainers.image.revision") == COMMIT


async def test_runtime_tarball_loads_into_docker_and_runs(image: Image, wheels, index, tmp_path: Path) -> None:
    """as_tarball exports an image `docker load` accepts; `docker run` goes through the entrypoint as dynamo."""
    ctr = await image.runtime("vllm", wheels=wheels, commit_sha=COMMIT, index_url=INDEX_URL, index=index)
    tarball = tmp_path / "vllm-runtime.tar"
    await ctr.as_tarball().export(str(tarball))
    loaded = subprocess.run(["docker", "load", "-i", str(tarball)], capture_output=True, text=True, check=True).stdout
    image_id = loaded.strip().rsplit(" ", 1)[-1]
    try:
        ran = subprocess.run(
            ["docker", "run", "--rm", "--network", "none", image_id, "python", "-c",
             "import os, dynamo._core, vllm; print(os.getuid(), vllm.__version__)"],
            capture_output=True, text=True, check=True,
        )
        assert ran.stdout.split() == ["1000", "0.19.1"]
        labels = json.loads(subprocess.run(
            ["docker", "image", "inspect", "-f", "{{json .Config.Labels}}", image_id],
            capture_output=True, text=True, check=True,
        ).stdout)
        assert labels["org.opencontainers.image.revision"] == COMMIT
    finally:
        subprocess.run(["docker", "rmi", "-f", image_id], capture_output=True)


async def test_unknown_framework_is_refused(image: Image) -> None:
    with pytest.raises(PipelineInputError, match=r"unknown framework 'tgi'; allowed: dynamo, vllm, sglang, trtllm"):
        await image.runtime("tgi")


async def test_forbidden_cuda_pair_is_refused(image: Image) -> None:
    with pytest.raises(PipelineInputError, match=r"\[frameworks.vllm\]: CUDA version '13.1' not allowed; allowed: 12.9, 13.0"):
        await image.runtime("vllm", cuda_version="13.1")


async def test_missing_wheel_is_refused(image: Image, wheels) -> None:
    runtime_wheels = [name for name in await wheels.entries() if name.startswith("ai_dynamo_runtime-")]
    only_pure = wheels.without_files(runtime_wheels)
    with pytest.raises(PipelineInputError, match=r"^wheels: no ai_dynamo_runtime-\*.whl \(has: ai_dynamo-1.1.0"):
        await image.runtime("vllm", wheels=only_pure)


async def test_cuda_base_has_the_dynamo_user_and_no_compiler(image: Image) -> None:
    base = await image.cuda_base("13.0")
    out = await base.with_exec(["sh", "-c", "id -u dynamo; id -g dynamo; getent passwd dynamo | cut -d: -f6; "
                                            "command -v gcc cc cargo || true"]).stdout()
    assert out.split() == ["1000", "0", "/home/dynamo"]
    assert await base.entrypoint() == ["/opt/dynamo/entrypoint.sh"]


async def test_cuda_base_without_a_runtime_image_is_refused(image: Image) -> None:
    with pytest.raises(PipelineInputError, match=r"no \[images.cuda_runtime_11_8\] for CUDA 11.8; CUDA runtimes: 12.9, 13.0"):
        await image.cuda_base("11.8")
