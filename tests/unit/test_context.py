"""container/context.toml parsing, validation, overlays and overrides."""

from pathlib import Path

import pytest

from pipeline.context import DEFAULT_CONTEXT, apply_overlay, apply_overrides, load_context, normalise_ref, parse_context
from pipeline.errors import PipelineInputError

OFFLINE_OVERLAY = DEFAULT_CONTEXT.parent / "overlays" / "offline.toml"
DIGEST = "sha256:" + "ab" * 32


@pytest.fixture(scope="module")
def ctx():
    return load_context()


def test_shipped_context_has_pins_from_upstream(ctx):
    assert ctx.dagger_version == "0.21.8"
    assert ctx.tools["rust"] == "1.93.1"
    assert ctx.tools["maturin"] == "1.9.4"
    assert ctx.image("python").ref == "docker.io/library/python:3.12-slim"
    assert ctx.image("cuda_devel_12_9").pinned == "nvcr.io/nvidia/cuda-dl-base:25.06-cuda12.9-devel-ubuntu24.04"
    assert ctx.frameworks["vllm"].version == "0.19.1"
    assert ctx.workspace.epp == "deploy/inference-gateway/epp"


def test_pinned_appends_digest_only_when_known(ctx):
    pinned = apply_overrides(ctx, images={"redis": f"redis:7.4@{DIGEST}"}).image("redis")
    assert pinned.pinned == f"docker.io/library/redis:7.4@{DIGEST}"
    assert ctx.image("redis").pinned == "docker.io/library/redis:7.4"


def test_malformed_toml_names_file_and_line(tmp_path):
    bad = tmp_path / "context.toml"
    bad.write_text('[dagger]\nversion = "0.21.11"\n[tools\nrust = "1"\n')
    with pytest.raises(PipelineInputError, match=r"context\.toml: malformed TOML at line 3"):
        load_context(bad)


def test_missing_file_is_input_error(tmp_path):
    with pytest.raises(PipelineInputError, match="cannot read"):
        load_context(tmp_path / "absent.toml")


def test_unknown_top_level_key_lists_allowed():
    text = DEFAULT_CONTEXT.read_text() + '\n[extras]\nx = "1"\n'
    with pytest.raises(PipelineInputError, match=r"mem\.toml: unknown key 'extras'; allowed: dagger, tools"):
        parse_context(text, source="mem.toml")


def test_missing_required_tool_is_named():
    text = DEFAULT_CONTEXT.read_text().replace('sccache = "0.14.0"\n', "")
    with pytest.raises(PipelineInputError, match=r"\[tools\]: missing key\(s\) sccache"):
        parse_context(text, source="mem.toml")


def test_invented_digest_format_is_rejected():
    text = DEFAULT_CONTEXT.read_text().replace(
        'ref = "docker.io/library/redis:7.4"', 'ref = "docker.io/library/redis:7.4"\ndigest = "sha256:nothex"'
    )
    with pytest.raises(PipelineInputError, match=r"\[images\.redis\]: digest 'sha256:nothex'"):
        parse_context(text, source="mem.toml")


def test_untagged_image_is_rejected():
    text = DEFAULT_CONTEXT.read_text().replace('"docker.io/library/redis:7.4"', '"docker.io/library/redis"')
    with pytest.raises(PipelineInputError, match="has no tag"):
        parse_context(text, source="mem.toml")


def test_framework_image_key_must_exist():
    text = DEFAULT_CONTEXT.read_text().replace('base_image = { "cuda13.1" = "trtllm_base" }', 'base_image = { "cuda13.1" = "nope" }')
    with pytest.raises(PipelineInputError, match=r"frameworks\.trtllm\].*'nope' is not an \[images\] key"):
        parse_context(text, source="mem.toml")


def test_unknown_framework_names_allowed(ctx):
    with pytest.raises(PipelineInputError, match="unknown framework 'mlx'; allowed: dynamo, vllm, sglang, trtllm"):
        ctx.combination("mlx", "runtime", "cuda", "12.9")


def test_trtllm_rejects_cuda_12_9(ctx):
    with pytest.raises(PipelineInputError, match=r"CUDA version '12\.9' not allowed; allowed: 13\.1"):
        ctx.combination("trtllm", "runtime", "cuda", "12.9")


def test_sglang_has_no_framework_target(ctx):
    with pytest.raises(PipelineInputError, match=r"target 'framework' not allowed; allowed: runtime, dev"):
        ctx.combination("sglang", "framework", "cuda", "12.9")


def test_device_must_be_allowed(ctx):
    with pytest.raises(PipelineInputError, match="device 'xpu' not allowed; allowed: cuda"):
        ctx.combination("dynamo", "runtime", "xpu", None)


def test_valid_combination_resolves_images(ctx):
    combo = ctx.combination("vllm", "runtime", "cuda", "13.0")
    assert (combo.device_key, combo.cuda_major) == ("cuda13.0", "13")
    assert ctx.runtime_image(combo).key == "cuda_runtime_13_0"
    assert ctx.runtime_image(ctx.combination("dynamo", "runtime", "cuda", "12.9")) is None


def test_cpu_device_checks_then_drops_cuda_version(ctx):
    combo = ctx.combination("vllm", "runtime", "cpu", "12.9")
    assert combo.cuda is None and combo.device_key == "cpu"
    assert ctx.base_image(combo).key == "ubuntu"
    assert combo.framework_version == "0.16.0"
    # As upstream's validate_args: the CUDA value is checked on every device.
    with pytest.raises(PipelineInputError, match=r"CUDA version '13\.1' not allowed; allowed: 12\.9, 13\.0 \(checked for device cpu"):
        ctx.combination("vllm", "runtime", "cpu", "13.1")
    with pytest.raises(PipelineInputError, match="CUDA version None not allowed"):
        ctx.combination("vllm", "runtime", "xpu", None)


def test_upstream_pins_are_modelled(ctx):
    assert ctx.native == {
        "nixl_ucx_ref": "v1.20.x", "nixl_gdrcopy_ref": "v2.5.1", "nixl_libfabric_ref": "v2.3.0",
        "ffmpeg_version": "7.1", "efa_version": "1.47.0",
    }  # fmt: skip
    assert ctx.frameworks["vllm"].pins["flashinf_ref"] == "v0.6.6"
    assert ctx.frameworks["trtllm"].pins["torch_version"] == "2.11.0a0+eb65b36914.nv26.2"
    assert all(fw.enable_gpu_memory_service for fw in ctx.frameworks.values())
    assert ctx.frameworks["vllm"].device_versions == {"xpu": "0.17.1", "cpu": "0.16.0"}
    assert ctx.release.ngc_repositories["trtllm"] == "tensorrtllm-runtime"
    assert "vllm.modelexpress_ref" in ctx.upstream_unused


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('lmcache_ref = "0.4.2"\n', 'lmcache_ref = "0.4.2"\nlmcache = "0.4.2"\n',
         r"mem\.toml \[frameworks\.vllm\.pins\]: unknown key 'lmcache'; allowed: flashinf_ref"),
        ('torchdata_ver = "0.11.0"\n', "", r"\[frameworks\.trtllm\.pins\]: missing key\(s\) torchdata_ver"),
        ('efa_version = "1.47.0"\n', 'efa = "1.47.0"\n', r"mem\.toml \[native\]: unknown key 'efa'; allowed: nixl_ucx_ref"),
        ('device_versions = { "xpu" = "0.17.1", "cpu" = "0.16.0" }', 'device_versions = { "rocm" = "0.1" }',
         r"\[frameworks\.vllm\]: device_versions key 'rocm' is no valid device"),
        ('snapshot-agent = "snapshot-agent"\n', "", r"\[release\.ngc_repositories\]: missing key\(s\) snapshot-agent"),
        ('enable_kvbm = false\n', 'enable_kvbm = false\nenable_gpu = true\n',
         r"\[frameworks\.sglang\]: unknown key 'enable_gpu'"),
        ('independent = [\n', 'independent = "benchmarks"\nx = [\n', r"\[versions\]: unknown key 'x'"),
    ],
)
def test_new_sections_reject_unknown_and_missing_keys(old, new, message):
    text = DEFAULT_CONTEXT.read_text()
    assert old in text
    with pytest.raises(PipelineInputError, match=message):
        parse_context(text.replace(old, new, 1), source="mem.toml")


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("python:3.12-slim", "docker.io/library/python:3.12-slim"),
        ("aquasec/trivy:0.69.3", "docker.io/aquasec/trivy:0.69.3"),
        ("nvcr.io/nvidia/cuda:12.9.1-runtime-ubuntu24.04", "nvcr.io/nvidia/cuda:12.9.1-runtime-ubuntu24.04"),
        ("localhost:5000/x/y:1", "localhost:5000/x/y:1"),
        ("localhost/x:1", "localhost/x:1"),
    ],
)
def test_normalise_ref(ref, expected):
    assert normalise_ref(ref) == expected


def test_offline_overlay_prefixes_every_image_and_drops_digests():
    ctx = load_context(overlay=OFFLINE_OVERLAY)
    assert all(image.ref.startswith("localhost:5000/") for image in ctx.images.values())
    assert ctx.image("python").pinned == "localhost:5000/docker.io/library/python:3.12-slim"
    assert ctx.image("manylinux").pinned == "localhost:5000/quay.io/pypa/manylinux_2_28_x86_64:2025.09.28-1"


def test_mirror_drops_digests_unless_kept(ctx):
    pinned = apply_overrides(ctx, images={"redis": f"docker.io/library/redis:7.4@{DIGEST}"})
    dropped = apply_overlay(pinned, '[mirror]\nregistry = "m:5000"\n', source="o.toml")
    kept = apply_overlay(pinned, '[mirror]\nregistry = "m:5000"\nkeep_digests = true\n', source="o.toml")
    assert dropped.image("redis").pinned == "m:5000/docker.io/library/redis:7.4"
    assert kept.image("redis").pinned == f"m:5000/docker.io/library/redis:7.4@{DIGEST}"


def test_per_key_overlay_wins_over_mirror_and_tools_override(ctx):
    overlay = (
        '[mirror]\nregistry = "localhost:5000"\n'
        '[images.manylinux]\nref = "localhost:5000/stand-ins/manylinux:2_28"\n'
        '[tools]\nrust = "1.90.0"\n'
    )
    out = apply_overlay(ctx, overlay, source="o.toml")
    assert out.image("manylinux").pinned == "localhost:5000/stand-ins/manylinux:2_28"
    assert out.image("uv").pinned == "localhost:5000/ghcr.io/astral-sh/uv:0.10.7"
    assert out.tools["rust"] == "1.90.0"
    assert ctx.tools["rust"] == "1.93.1"


@pytest.mark.parametrize(
    ("overlay", "message"),
    [
        ('[images.nope]\nref = "a/b:1"\n', r"\[images\.nope\] is not in"),
        ('[tools]\ncobol = "1"\n', "unknown tool 'cobol'"),
        ('[mirror]\nregistry = "m"\nkeep_digests = "yes"\n', "keep_digests must be true or false"),
        ('[mirrors]\nregistry = "m"\n', "unknown key 'mirrors'; allowed: mirror, images, tools, scan, tests"),
        ('[tests]\nrust_skip = "test_a"\n', r"o\.toml \[tests\]: 'rust_skip' must be a list of names"),
        ('[tests]\nrust_skip = ["a; rm -rf /"]\n', r"o\.toml \[tests\]: 'rust_skip' must be a list of names"),
        ('[tests]\npython_skip = ["a"]\n', r"o\.toml \[tests\]: unknown key 'python_skip'; allowed: rust_skip"),
        ("[mirror\n", r"o\.toml: malformed TOML at line 1"),
    ],
)
def test_bad_overlay_is_named(ctx, overlay, message):
    with pytest.raises(PipelineInputError, match=message):
        apply_overlay(ctx, overlay, source="o.toml")


def test_an_overlay_names_the_rust_tests_its_site_cannot_run(ctx):
    assert ctx.rust_test_skip == ()
    skipped = apply_overlay(ctx, '[tests]\nrust_skip = ["test_jailed_stream_harmony_parser", "needs_hub"]\n', source="o.toml")
    assert skipped.rust_test_skip == ("test_jailed_stream_harmony_parser", "needs_hub")
    # A later overlay without [tests] keeps them; the offline overlay names upstream's one.
    assert apply_overlay(skipped, '[mirror]\nregistry = "m:5000"\n', source="p.toml").rust_test_skip == skipped.rust_test_skip
    assert "test_jailed_stream_harmony_parser" in load_context(overlay=OFFLINE_OVERLAY).rust_test_skip


def test_overrides_reject_unknown_keys(ctx):
    with pytest.raises(PipelineInputError, match="unknown image key 'nope'"):
        apply_overrides(ctx, images={"nope": "a:1"})


def test_load_context_applies_overrides_last(tmp_path):
    overlay = tmp_path / "overlay.toml"
    overlay.write_text('[mirror]\nregistry = "localhost:5000"\n')
    ctx = load_context(overlay=overlay, image_overrides={"python": "python:3.13-slim"}, tool_overrides={"uv": "0.11.0"})
    assert ctx.image("python").pinned == "docker.io/library/python:3.13-slim"
    assert ctx.tools["uv"] == "0.11.0"


def test_as_dict_is_json_ready(ctx):
    import json

    data = json.loads(json.dumps(ctx.as_dict()))
    assert data["images"]["python"]["pinned"] == "docker.io/library/python:3.12-slim"
    assert data["frameworks"]["sglang"]["targets"][-1] == "base"
    assert Path(data["source"]).name == "context.toml"


def test_builder_packages_and_wheel_features(ctx):
    assert ctx.builder_packages == {"dnf": ("clang-devel",), "apt": ("clang", "libclang-dev")}
    assert ctx.framework("dynamo").wheel_features == ("kv-indexer",)
    assert ctx.framework("sglang").wheel_features == ("kv-indexer", "media-ffmpeg")
    assert ctx.tools["swagger_ui_integrity"].startswith("sha512-")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('apt = ["clang", "libclang-dev"]', 'apt = ["clang; rm -rf /"]', r"\[builder\]: 'apt' must be a list of names"),
        ('dnf = ["clang-devel"]', 'zypper = ["clang"]', r"\[builder\]: unknown key 'zypper'; allowed: dnf, apt"),
        ('wheel_features = ["kv-indexer"]', 'wheel_features = "kv-indexer"', r"\[frameworks\.dynamo\]: 'wheel_features' must be a list"),
    ],
)
def test_bad_builder_packages_and_wheel_features_are_named(old, new, message):
    text = DEFAULT_CONTEXT.read_text()
    assert old in text
    with pytest.raises(PipelineInputError, match=message):
        parse_context(text.replace(old, new, 1), source="mem.toml")


def test_gpu_memory_service_path_is_optional_and_overridable():
    text = DEFAULT_CONTEXT.read_text()
    line = next(row for row in text.splitlines() if row.startswith("gpu_memory_service = "))
    assert load_context().workspace.gpu_memory_service == "lib/gpu_memory_service"
    assert parse_context(text.replace(line, ""), source="mem.toml").workspace.gpu_memory_service == "lib/gpu_memory_service"
    moved = parse_context(text.replace(line, 'gpu_memory_service = "lib/gms"'), source="mem.toml")
    assert moved.workspace.gpu_memory_service == "lib/gms"
    with pytest.raises(PipelineInputError, match=r"mem.toml \[workspace\]: unknown key 'kvbm'; allowed: .*gpu_memory_service"):
        parse_context(text.replace(line, 'kvbm = "lib/bindings/kvbm"'), source="mem.toml")
