"""`context diff`: our context against an upstream-shaped container/context.yaml."""

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.context import load_context
from pipeline.context_diff import DIFFERS, DRIFT, EXTRA, MISSING, SAME, STALE, UNUSED, diff
from pipeline.errors import PipelineInputError

UPSTREAM_CONTEXT = Path("/work/upstream/container/context.yaml")
# Shaped like upstream's file (image + tag pairs per device key, flat keys, every scalar a string as
# PyYAML's BaseLoader returns it), written for these tests with our context's values.
TRTLLM = {
    "cuda13.1": {
        "base_image": "nvcr.io/nvidia/pytorch",
        "base_image_tag": "26.02-py3",
        "runtime_image": "nvcr.io/nvidia/cuda-dl-base",
        "runtime_image_tag": "26.02-cuda13.1-runtime-ubuntu24.04",
    },
    "nixl_ref": "0.10.1",
    "enable_kvbm": "true",
    "python_version": "3.12",
    "pip_wheel": "tensorrt-llm==1.3.0rc11",
    "torch_version": "2.11.0a0+eb65b36914.nv26.2",
    "has_trtllm_context": "0",
}
VLLM = {
    "xpu": {"base_image": "intel/deep-learning-essentials", "base_image_tag": "2025.3.2-0-devel-ubuntu24.04",
            "vllm_ref": "v0.17.1"},
    "cpu": {"base_image": "ubuntu", "base_image_tag": "24.04", "vllm_ref": "v0.16.0"},
    "cuda12.9": {"vllm_ref": "v0.19.1"},
    "cuda13.0": {"vllm_ref": "v0.19.1"},
    "flashinf_ref": "v0.6.6",
}  # fmt: skip
DYNAMO = {"nats_version": "v2.10.28", "nixl_ucx_ref": "v1.20.x", "epp_image": "us-central1-docker.pkg.dev/"
          "k8s-staging-images/gateway-api-inference-extension/epp:v0.5.1", "planner_build_image": "python",
          "planner_build_image_tag": "3.12-slim", "cuda12.9": {"base_image": "nvcr.io/nvidia/cuda-dl-base",
          "base_image_tag": "25.06-cuda12.9-devel-ubuntu24.04"}}  # fmt: skip


@pytest.fixture(scope="module")
def ctx():
    return load_context()


def by_key(findings):
    return {finding.key: finding for finding in findings}


def test_agreeing_pins_are_same_and_unused_keys_are_explained(ctx):
    findings = by_key(diff(ctx, {"trtllm": TRTLLM, "vllm": VLLM, "dynamo": DYNAMO}, source="u.yaml"))
    for key in ("trtllm.cuda13.1.base_image", "trtllm.cuda13.1.runtime_image", "trtllm.pip_wheel",
                "trtllm.torch_version", "trtllm.python_version", "vllm.xpu.vllm_ref", "vllm.cpu.vllm_ref",
                "vllm.cpu.base_image", "vllm.flashinf_ref", "dynamo.nats_version", "dynamo.nixl_ucx_ref",
                "dynamo.epp_image", "dynamo.planner_build_image", "dynamo.cuda12.9.base_image"):  # fmt: skip
        assert findings[key].status == SAME, findings[key]
    assert findings["trtllm.has_trtllm_context"].status == UNUSED
    assert "base_image_tag" not in " ".join(findings)  # joined with its image


def test_each_kind_of_drift_is_reported(ctx):
    vllm = {**VLLM, "xpu": {**VLLM["xpu"], "vllm_ref": "v0.18.0"}, "new_pin": "1.0"}
    trtllm = {key: value for key, value in TRTLLM.items() if key != "cuda13.1"}
    findings = by_key(diff(ctx, {"vllm": vllm, "trtllm": trtllm}, source="u.yaml"))
    assert findings["vllm.xpu.vllm_ref"].status == DIFFERS
    assert str(findings["vllm.xpu.vllm_ref"]) == (
        "differs  vllm.xpu.vllm_ref: upstream v0.18.0, ours v0.17.1 (frameworks.vllm.device_versions)"
    )
    assert str(findings["vllm.new_pin"]) == "missing  vllm.new_pin = 1.0: no counterpart in our context"
    # We build trtllm on cuda13.1 but upstream's file has no images for it.
    assert findings["trtllm.cuda13.1"].status == EXTRA
    # Pins of ours that this upstream file no longer has.
    assert str(findings["vllm.lmcache_ref"]) == "extra    frameworks.vllm.pins.lmcache_ref = 0.4.2: upstream has no vllm.lmcache_ref"
    assert findings["dynamo.efa_version"].status == EXTRA
    # [upstream_unused] names keys this upstream file does not have.
    assert findings["vllm.modelexpress_ref"].status == STALE
    assert findings["dynamo.nixl_ucx_efa_ref"].status == STALE


def test_a_changed_image_tag_differs(ctx):
    trtllm = {**TRTLLM, "cuda13.1": {**TRTLLM["cuda13.1"], "base_image_tag": "26.03-py3"}}
    finding = by_key(diff(ctx, {"trtllm": trtllm}, source="u.yaml"))["trtllm.cuda13.1.base_image"]
    assert (finding.status, finding.upstream, finding.ours) == (
        DIFFERS, "nvcr.io/nvidia/pytorch:26.03-py3", "nvcr.io/nvidia/pytorch:26.02-py3"
    )


def test_an_unknown_framework_is_missing(ctx):
    findings = diff(ctx, {"mlx": {"nixl_ref": "1"}}, source="u.yaml")
    assert [(f.key, f.status) for f in findings if f.key.startswith("mlx")] == [("mlx.nixl_ref", MISSING)]


@pytest.mark.parametrize("data", [["vllm"], "text", {"vllm": "v0.19.1"}])
def test_a_file_that_is_not_a_context_is_one_line(ctx, data):
    with pytest.raises(PipelineInputError, match="u.yaml"):
        diff(ctx, data, source="u.yaml")


def test_cli_exit_codes(tmp_path):
    runner = CliRunner()
    agreeing = tmp_path / "agreeing.yaml"
    agreeing.write_text(yaml.safe_dump({"trtllm": {k: v for k, v in TRTLLM.items() if k != "has_trtllm_context"}}))
    drifted = tmp_path / "drifted.yaml"
    drifted.write_text(yaml.safe_dump({"trtllm": {**TRTLLM, "torch_version": "2.12.0"}}))
    # trtllm alone still leaves the other frameworks' [upstream_unused] keys stale: 1 drift line per key.
    result = runner.invoke(app, ["context", "diff", str(drifted)])
    assert result.exit_code == 1
    assert "differs  trtllm.torch_version: upstream 2.12.0, ours 2.11.0a0+eb65b36914.nv26.2" in result.stdout
    result = runner.invoke(app, ["context", "diff", str(agreeing), "--all"])
    assert "same     trtllm.pip_wheel = tensorrt-llm==1.3.0rc11 (frameworks.trtllm.version)" in result.stdout
    malformed = tmp_path / "malformed.yaml"
    malformed.write_text("vllm: [\n")
    result = runner.invoke(app, ["context", "diff", str(malformed)])
    assert result.exit_code == 2 and result.stderr.startswith(f"error: {malformed}: malformed YAML at line")
    result = runner.invoke(app, ["context", "diff", str(tmp_path / "absent.yaml")])
    assert result.exit_code == 2 and "cannot read" in result.stderr


@pytest.mark.skipif(not UPSTREAM_CONTEXT.is_file(), reason="no upstream checkout on this machine")
def test_upstream_context_has_no_drift(ctx):
    """ai-dynamo/dynamo main's container/context.yaml (read only): every pin matched or explained."""
    findings = diff(ctx, yaml.load(UPSTREAM_CONTEXT.read_text(), Loader=yaml.BaseLoader), source="upstream")
    assert [str(finding) for finding in findings if finding.status in DRIFT] == []
    assert sum(finding.status == SAME for finding in findings) == 67
    assert sum(finding.status == UNUSED for finding in findings) == 6
