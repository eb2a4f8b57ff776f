"""Smoke tests of the local engine: mirrors, egress, cache volumes, secrets, module types."""

from __future__ import annotations

import hashlib
import inspect
import subprocess
import sys
import tarfile
import time
import uuid
from pathlib import Path

import pytest

import dagger

from modules.cache import built_at
from pipeline.context import Context
from pipeline.report import is_cached
from localengine.layout import EngineLayout

# A short Docker Hub name: resolved through engine.json's docker.io mirror, not the overlay.
MIRRORED_PYTHON = "python:3.12-slim"


async def test_mirrored_image_runs_a_command(dag, offline_context: Context) -> None:
    """engine.json's docker.io mirror serves the Python stand-in (Debian's Python, as the overlay says)."""
    version = await (
        dag.container()
        .from_(MIRRORED_PYTHON)
        .with_exec(["python3", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"])
        .stdout()
    )
    assert version.strip() == offline_context.tools["python"]


async def test_overlay_reference_resolves_to_a_stand_in(dag, offline_context: Context) -> None:
    """The overlay rewrites the context's images to the local registry, digest dropped."""
    ref = offline_context.image("manylinux").pinned
    assert ref.startswith("localhost:5000/quay.io/pypa/manylinux_2_28_x86_64:") and "@" not in ref
    cargo = await dag.container().from_(ref).with_exec(["cargo", "--version"]).stdout()
    assert cargo.startswith(f"cargo {offline_context.tools['rust']}")


async def test_trivy_stand_in_runs_the_pinned_trivy(dag, offline_context: Context) -> None:
    """The Trivy stand-in carries Trivy built from tools/trivy at the context's version."""
    version = await (
        dag.container().from_(offline_context.image("trivy").pinned).with_exec(["--version"], use_entrypoint=True).stdout()
    )
    assert f"Version: {offline_context.tools['trivy']}" in version


async def test_container_fetches_an_index_page_over_tls(dag) -> None:
    """CNI NAT, DNS and the injected host CA: pip reads the package index over TLS."""
    listing = await (
        dag.container()
        .from_(MIRRORED_PYTHON)
        .with_env_variable("CACHE_BUSTER", uuid.uuid4().hex)
        .with_exec(["python3", "-m", "pip", "download", "--no-deps", "-q", "-d", "/wheels", "six==1.16.0"])
        .with_exec(["ls", "/wheels"])
        .stdout()
    )
    assert listing.split() == ["six-1.16.0-py2.py3-none-any.whl"]


CACHE_SESSION = """
import sys, anyio, dagger
from dagger import dag

async def main(volume: str, mode: str, token: str) -> None:
    async with dagger.connection(dagger.Config(log_output=sys.stderr)):
        ctr = (dag.container().from_("python:3.12-slim")
               .with_mounted_cache("/cache", dag.cache_volume(volume))
               .with_env_variable("SESSION_TOKEN", token))
        if mode == "write":
            await ctr.with_exec(["sh", "-c", "echo $SESSION_TOKEN > /cache/token"]).sync()
        else:
            print(await ctr.with_exec(["cat", "/cache/token"]).stdout(), end="")

anyio.run(main, *sys.argv[1:])
"""


def test_cache_volume_keeps_a_file_between_sessions(engine_env: dict[str, str]) -> None:
    """A file written to a cache volume in one session is read back in a second session.

    The engine's GC prunes idle cache volumes too when the shared disk falls below its minimum free
    space (seen in CI at 2 GB free, between the two sessions): a missing file is tried once more with
    a new volume. A volume that never outlives its session fails both times."""

    def session(volume: str, mode: str, token: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", CACHE_SESSION, volume, mode, token],
            capture_output=True, text=True, timeout=600,
        )

    for _attempt in range(2):
        volume, written = f"smoke-{uuid.uuid4().hex[:12]}", uuid.uuid4().hex
        wrote = session(volume, "write", written)
        assert wrote.returncode == 0, wrote.stderr[-3000:]
        read = session(volume, "read", uuid.uuid4().hex)
        if read.returncode == 0:
            assert read.stdout.strip() == written
            return
        assert "/cache/token: No such file or directory" in read.stderr, read.stderr[-3000:]
    pytest.fail(f"the file written to a cache volume was gone in the next session, twice:\n{read.stderr[-3000:]}")


def _engine_log(layout: EngineLayout) -> str:
    result = subprocess.run(["docker", "logs", layout.container], capture_output=True, text=True, check=True)
    return result.stdout + result.stderr


async def test_secret_reaches_neither_image_nor_logs(dag, tmp_path: Path) -> None:
    """A Secret is usable in an exec, scrubbed from its output, absent from layers and engine log."""
    plaintext = f"dynamo-smoke-secret-{uuid.uuid4().hex}"
    marker = f"layer-marker-{uuid.uuid4().hex}"
    secret = dag.set_secret(f"smoke-{uuid.uuid4().hex[:8]}", plaintext)
    check = (
        "import hashlib, os; token = os.environ['SMOKE_TOKEN'];"
        "assert hashlib.sha256(token.encode()).hexdigest() == os.environ['EXPECTED_SHA256'];"
        "print(token); open('/marker', 'w').write(os.environ['MARKER'])"
    )
    ctr = (
        dag.container()
        .from_(MIRRORED_PYTHON)
        .with_env_variable("EXPECTED_SHA256", hashlib.sha256(plaintext.encode()).hexdigest())
        .with_env_variable("MARKER", marker)
        .with_secret_variable("SMOKE_TOKEN", secret)
        .with_exec(["python3", "-c", check])
    )
    output = await ctr.stdout()
    assert plaintext not in output and "***" in output

    tarball = tmp_path / "image.tar"
    await ctr.export(str(tarball), forced_compression=dagger.ImageLayerCompression.Uncompressed)
    image_bytes = tarball.read_bytes()
    # The scan can see layer content: the marker written next to the secret's use is there.
    assert marker.encode() in image_bytes
    assert plaintext.encode() not in image_bytes
    with tarfile.open(tarball) as image:
        assert any(member.name.startswith("blobs/sha256/") for member in image.getmembers())

    engine_log = _engine_log(EngineLayout.from_environment())
    assert "SMOKE_TOKEN" in engine_log or len(engine_log) > 10_000  # the debug log is really there
    assert plaintext not in engine_log


async def test_module_types_register_with_the_engine(dag) -> None:
    """Every object, function, argument and field of the module survives registration with the engine."""
    from dagger.mod import default_module
    from dagger.mod._module import FUNCTION_DEF_KEY

    from pipeline import Dynamo
    from pipeline.compliance import Compliance
    from pipeline.release import Release
    from pipeline.go import Go
    from pipeline.image import Image
    from pipeline.native import Native
    from pipeline.rust import CargoRun, Rust
    from pipeline.wheels import WheelBuild, Wheels

    # The module runtime's registration step, with DAGGER_MAIN_OBJECT set by tests/conftest.py.
    registered = dag.load_module_from_id(dagger.ModuleID(await default_module()._typedefs()))
    objects = {}
    for typedef in await registered.objects():
        obj = typedef.as_object()
        functions = {await fn.name(): {await arg.name() for arg in await fn.args()} for fn in await obj.functions()}
        objects[await obj.name()] = (obj, functions, {await f.name() for f in await obj.fields()})

    def camel(name: str) -> str:
        head, *rest = name.split("_")
        return head + "".join(part.title() for part in rest)

    def declared_functions(cls: type) -> dict[str, set[str]]:
        return {
            camel(name): {camel(p) for p in inspect.signature(member).parameters if p != "self"}
            for klass in cls.__mro__
            for name, member in vars(klass).items()
            if callable(member) and hasattr(member, FUNCTION_DEF_KEY)
        }

    assert set(objects) >= {
        "Dynamo", "Rust", "Wheels", "CargoRun", "WheelBuild", "Scan", "ScanReport", "Publish", "NamedImage", "Image", "Published",
        "Compliance", "Release", "Go", "Native",
    }
    assert {"operator", "operatorImage", "epp", "eppImage", "operatorVet", "operatorTest", "eppVet", "eppTest"} <= set(
        objects["Go"][1]
    )
    assert {"cudaBase", "runtime", "frontend", "planner"} <= set(objects["Image"][1])
    assert objects["Image"][1]["runtime"] >= {"framework", "cudaVersion", "wheels", "indexUrl", "index"}
    main, functions, _ = objects["Dynamo"]
    assert {"context", "tags", "dockerfile", "buildAll", "rust", "wheels"} <= set(functions)
    assert {"build", "test", "cLibrary", "fmt", "clippy", "builder"} <= set(objects["Rust"][1])
    assert {"build", "dist", "check"} <= set(objects["Wheels"][1])
    for stage in (Dynamo, Rust, Wheels, Go, Image, Native):
        assert objects[stage.__name__][1] == declared_functions(stage)
    constructor_args = {await arg.name() for arg in await main.constructor().args()}
    assert constructor_args == {camel(name) for name in Dynamo.__dataclass_fields__}
    for stage in (Compliance, Release):
        assert set(objects[stage.__name__][1]) == {
            camel(name) for name, member in vars(stage).items() if hasattr(member, FUNCTION_DEF_KEY)
        }
    for result_type in (CargoRun, WheelBuild):
        assert objects[result_type.__name__][2] == {camel(name) for name in result_type.__dataclass_fields__}


async def test_module_function_runs_on_the_engine(dag) -> None:
    """Client mode: the Dynamo object renders a Dockerfile through the engine's API."""
    from pipeline import Dynamo
    from tests.conftest import EXAMPLE_WORKSPACE

    pipeline = Dynamo(source=dag.host().directory(str(EXAMPLE_WORKSPACE)))
    dockerfile = await pipeline.dockerfile("vllm", "runtime")
    assert await dockerfile.name() == "vllm-runtime-cuda12.9-amd64-rendered.Dockerfile"
    text = await dockerfile.contents()
    assert "FROM " in text and "AS wheel_builder" in text


async def test_a_result_probed_just_before_a_session_is_cached_in_it(dag, offline_context: Context) -> None:
    """The probe's stamp has sub-second precision: a result whose probe ran a moment before the next
    session started (build-all right after build-all, in the same second) is reported as cached there,
    and a result first probed after the session started is not (a CI run once failed on this)."""
    image = offline_context.image("python").pinned
    earlier = dag.directory().with_new_file("earlier", uuid.uuid4().hex)
    first = await built_at(image, earlier)
    session_start = time.time()
    later = dag.directory().with_new_file("later", uuid.uuid4().hex)
    assert first != int(first)  # not whole seconds
    assert await built_at(image, earlier) == first  # served from the cache: the first probe's stamp
    assert is_cached(first, session_start) is True
    assert is_cached(await built_at(image, later), session_start) is False
