"""Dynamo's tag scheme."""

import pytest

from pipeline.context import load_context
from pipeline.errors import PipelineInputError
from pipeline.tags import frontend_tags, image_tags, next_rc, ngc_tag, operator_tags, rc_git_tag

SHA = "0123abc"


@pytest.fixture(scope="module")
def ctx():
    return load_context()


def test_runtime_tag(ctx):
    assert image_tags(SHA, "vllm", "runtime", "12.9", ctx=ctx) == [f"{SHA}-vllm-runtime-cuda12"]


def test_efa_and_cuda13(ctx):
    assert image_tags(SHA, "trtllm", "runtime", "13.1", efa=True, ctx=ctx) == [f"{SHA}-trtllm-runtime-efa-cuda13"]


def test_cpu_when_no_cuda(ctx):
    assert image_tags(SHA, "dynamo", "planner", None, ctx=ctx) == [f"{SHA}-dynamo-planner-cpu"]


def test_main_aliases_for_runtime(ctx):
    assert image_tags(SHA, "sglang", "runtime", "13.0", efa=True, branch="main", ctx=ctx) == [
        f"{SHA}-sglang-runtime-efa-cuda13",
        "main-sglang-efa-cuda13",
        f"main-sglang-{SHA}-cuda13",
    ]


def test_main_aliases_skip_non_runtime_targets(ctx):
    assert image_tags(SHA, "vllm", "dev", "12.9", branch="main", ctx=ctx) == [f"{SHA}-vllm-dev-cuda12"]


def test_other_branches_get_no_aliases(ctx):
    assert len(image_tags(SHA, "vllm", "runtime", "12.9", branch="release/1.1.0", ctx=ctx)) == 1


def test_default_context_is_loaded_when_not_given():
    assert image_tags(SHA, "vllm", "runtime", "13.0") == [f"{SHA}-vllm-runtime-cuda13"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("xyz1234", "vllm", "runtime", "12.9"), "sha 'xyz1234'"),
        (("abc12", "vllm", "runtime", "12.9"), "7 to 40"),
        ((SHA, "mlx", "runtime", "12.9"), "unknown framework 'mlx'; allowed: dynamo"),
        ((SHA, "sglang", "framework", "12.9"), "target 'framework' not allowed for sglang"),
        ((SHA, "trtllm", "runtime", "12.9"), r"CUDA version '12\.9' not allowed for trtllm; allowed: 13\.1"),
    ],
)
def test_bad_image_tag_input(ctx, args, message):
    with pytest.raises(PipelineInputError, match=message):
        image_tags(*args, ctx=ctx)


def test_efa_needs_cuda(ctx):
    with pytest.raises(PipelineInputError, match="efa images need a CUDA version"):
        image_tags(SHA, "dynamo", "planner", None, efa=True, ctx=ctx)


def test_frontend_and_operator_tags():
    assert frontend_tags(SHA) == [f"{SHA}-frontend"]
    assert frontend_tags(SHA, branch="main") == [f"{SHA}-frontend", "main-frontend", f"main-frontend-{SHA}"]
    assert operator_tags(SHA) == [f"{SHA}-operator"]
    with pytest.raises(PipelineInputError):
        operator_tags("HEAD")


def test_release_tags():
    assert rc_git_tag("1.1.0", 2) == "v1.1.0-rc2"
    assert ngc_tag("1.1.0", 2) == "1.1.0rc2"


@pytest.mark.parametrize(("version", "n"), [("1.1", 1), ("v1.1.0", 1), ("1.1.0", 0), ("1.1.0", True)])
def test_bad_release_input(version, n):
    with pytest.raises(PipelineInputError):
        rc_git_tag(version, n)


def test_next_rc():
    existing = ["v1.1.0-rc1", "v1.1.0-rc3", "v1.0.0-rc9", "v1.1.0-rc10x", "v1.1.0"]
    assert next_rc("1.1.0", existing) == 4
    assert next_rc("1.2.0", existing) == 1
    with pytest.raises(PipelineInputError):
        next_rc("latest", existing)
