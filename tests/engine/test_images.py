"""The image stage on the real engine: every image builds from stand-in bases and a local package index.

The framework packages (vllm, sglang, tensorrt-llm, and torch/numpy that NIXL's wheel requires) are
small real wheels this test builds and serves as a PEP 503 index from a Dagger service; NIXL's own
wheels come from PyPI at the context's refs. No GPU is used: CUDA bases are stand-ins, imports only.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import dagger
import pytest

from pipeline.errors import PipelineInputError
from pipeline.image import Image

COMMIT = "0123abcd4567ef89"
VERSION = "1.1.0"
INDEX_URL = "http://package-index:8000/simple"

# Writes py3-none-any wheels (module with __version__, METADATA, WHEEL, RECORD) under /srv/simple/<name>/,
# which `python -m http.server` lists as a PEP 503 project page.
_MAKE_WHEELS = r'''
import base64, hashlib, os, re, sys, zipfile
for spec in sys.argv[1:]:
    dist, version, module = spec.split(":")
    stem = re.sub(r"[-_.]+", "_", dist)
    info = f"{stem}-{version}.dist-info"
    files = {
        f"{module}/__init__.py": f'"""Stand-in for {dist}, built by the pipeline tests."""\n__version__ = "{version}"\n',
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: dynamo-pipeline-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    project = f"/srv/simple/{re.sub(r'[-_.]+', '-', dist).lower()}"
    os.makedirs(project, exist_ok=True)
    with zipfile.ZipFile(f"{project}/{stem}-{version}-py3-none-any.whl", "w") as wheel:
        record = []
        for path, text in files.items():
            data = text.encode()
            wheel.writestr(path, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            record.append(f"{path},sha256={digest},{len(data)}")
        record.append(f"{info}/RECORD,,")
        wheel.writestr(f"{info}/RECORD", "\n".join(record) + "\n")
'''

# Who runs, where HOME is, what imports, which versions: one JSON line from inside the image.
_PROBE = r'''
import importlib, importlib.metadata as md, json, os, pwd, shutil, sys
module, dist = sys.argv[1], sys.argv[2]
import dynamo._core, dynamo.frontend
found = {}
for name in ("nixl", "nixl-cu12", "nixl-cu13", dist):
    try:
        found[name] = md.version(name)
    except md.PackageNotFoundError:
        pass
print(json.dumps({
    "uid": os.getuid(), "gid": os.getgid(), "user": pwd.getpwuid(os.getuid()).pw_name,
    "home": os.environ.get("HOME"), "passwd_home": pwd.getpwuid(os.getuid()).pw_dir,
    "python": sys.executable, "framework": importlib.import_module(module).__version__ if module else None,
    "dists": found, "toolchain": [tool for tool in ("gcc", "cc", "cargo", "rustc", "go") if shutil.which(tool)],
}))
'''


@pytest.fixture(scope="module")
def image(dynamo) -> Image:
    """The image stage object, as `dagger call image` builds it."""
    return dynamo.image()


@pytest.fixture(scope="module")
def index(dag, offline_context) -> dagger.Service:
    """A PEP 503 index of stand-in framework wheels, built here and served over HTTP."""
    specs = []
    for name in ("vllm", "sglang", "trtllm"):
        version = offline_context.framework(name).version
        dist, module = {"vllm": ("vllm", "vllm"), "sglang": ("sglang", "sglang"), "trtllm": ("tensorrt-llm", "tensorrt_llm")}[name]
        specs.append(f"{dist}:{version}:{module}")
    specs += ["torch:2.11.0:torch", "numpy:2.3.0:numpy"]  # what NIXL's wheel requires
    return (
        dag.container()
        .from_(offline_context.image("python").pinned)
        .with_exec(["python3", "-c", _MAKE_WHEELS, *specs])
        .with_workdir("/srv")
        .with_exposed_port(8000)
        .as_service(args=["python3", "-m", "http.server", "8000", "--bind", "0.0.0.0"])
    )


@pytest.fixture(scope="module")
async def wheels(dynamo) -> dagger.Directory:
    """The Wheels stage's dist, stamped with COMMIT."""
    return await dynamo.wheels().dist(commit_sha=COMMIT)


async def _probe(ctr: dagger.Container, module: str = "", dist: str = "ai-dynamo") -> dict:
    return json.loads(await ctr.with_exec(["python", "-c", _PROBE, module, dist]).stdout())


@pytest.mark.parametrize(
    ("framework", "cuda", "module", "dist", "nixl"),
    [
        ("vllm", "12.9", "vllm", "vllm", "nixl-cu12"),
        ("dynamo", "12.9", "", "ai-dynamo", "nixl-cu12"),
        ("trtllm", "13.1", "tensorrt_llm", "tensorrt-llm", "nixl-cu13"),
        ("sglang", "12.9", "sglang", "sglang", None),
    ],
)
async def test_runtime_image(image: Image, wheels, index, offline_context, framework, cuda, module, dist, nixl) -> None:
    """Builds; runs as dynamo (1000:0, HOME); imports dynamo and the framework at the context's version;
    NIXL where upstream ships it; labels; no compiler toolchain."""
    ctr = await image.runtime(
        framework, cuda_version=cuda, wheels=wheels, commit_sha=COMMIT, index_url=INDEX_URL, index=index
    )
    fw = offline_context.framework(framework)
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


async def test_planner_image_runs_as_dynamo(image: Image, wheels, index) -> None:
    ctr = await image.planner(wheels=wheels, commit_sha=COMMIT, index_url=INDEX_URL, index=index)
    facts = await _probe(ctr)
    assert (facts["uid"], facts["gid"], facts["user"], facts["home"]) == (1000, 0, "dynamo", "/home/dynamo")
    assert facts["toolchain"] == []
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
