"""Dynamo's tag scheme."""

import pytest

from pipeline.context import load_context
from pipeline.errors import PipelineInputError
from pipeline.tags import (
    frontend_tags,
    image_tags,
    image_test_tag,
    next_rc,
    operator_tags,
    promotions,
    release_candidate,
    snapshot_agent_tags,
)

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
    """post-merge-ci.yml: extra_tags main-vllm, main-vllm-<sha>; build-flavor appends -cuda<major>."""
    assert image_tags(SHA, "vllm", "runtime", "12.9", branch="main", ctx=ctx) == [
        f"{SHA}-vllm-runtime-cuda12",
        "main-vllm-cuda12",
        f"main-vllm-{SHA}-cuda12",
    ]


def test_efa_main_aliases_keep_efa(ctx):
    """The EFA pipeline's extra_tags are main-vllm-efa and main-vllm-efa-<sha>: never the non-EFA alias."""
    efa = image_tags(SHA, "vllm", "runtime", "12.9", efa=True, branch="main", ctx=ctx)
    assert efa == [f"{SHA}-vllm-runtime-efa-cuda12", "main-vllm-efa-cuda12", f"main-vllm-efa-{SHA}-cuda12"]
    assert not set(efa) & set(image_tags(SHA, "vllm", "runtime", "12.9", branch="main", ctx=ctx))
    assert image_tags(SHA, "trtllm", "runtime", "13.1", efa=True, branch="main", ctx=ctx)[1:] == [
        "main-trtllm-efa-cuda13",
        f"main-trtllm-efa-{SHA}-cuda13",
    ]


def test_planner_gets_its_main_aliases(ctx):
    """The planner pipeline (cpu_only) tags main-planner and main-planner-<sha>, with -cpu appended."""
    assert image_tags(SHA, "dynamo", "planner", None, branch="main", ctx=ctx) == [
        f"{SHA}-dynamo-planner-cpu",
        "main-planner-cpu",
        f"main-planner-{SHA}-cpu",
    ]


def test_test_image_tag(ctx):
    assert image_test_tag(SHA, "vllm", "runtime", "13.0", efa=False, ctx=ctx) == f"{SHA}-vllm-runtime-test-cuda13"
    assert image_test_tag(SHA, "trtllm", "runtime", "13.1", efa=True, ctx=ctx) == f"{SHA}-trtllm-runtime-efa-test-cuda13"


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


def test_frontend_operator_and_snapshot_tags():
    assert frontend_tags(SHA) == [f"{SHA}-frontend"]
    assert frontend_tags(SHA, branch="main") == [f"{SHA}-frontend", "main-frontend", f"main-frontend-{SHA}"]
    assert frontend_tags(SHA, prefix="release-1.1.0") == [f"{SHA}-frontend", "release-1.1.0-frontend"]
    assert operator_tags(SHA) == [f"{SHA}-operator"]
    assert snapshot_agent_tags(SHA) == [f"{SHA}-snapshot-agent"]
    with pytest.raises(PipelineInputError):
        operator_tags("HEAD")


def test_first_release_candidate_is_rc0():
    candidate = release_candidate("1.1.0", [])
    assert (candidate.git_tag, candidate.ngc_tag, candidate.helm_chart_version) == ("v1.1.0-rc0", "1.1.0rc0", "1.1.0-rc0")


def test_explicit_rc_number_wins():
    assert release_candidate("1.1.0", ["v1.1.0-rc0"], rc=5).git_tag == "v1.1.0-rc5"
    assert release_candidate("1.1.0", ["v1.1.0-rc4"], rc=0).ngc_tag == "1.1.0rc0"


def test_helm_chart_version_is_semver():
    """release.yml: X.Y.Z.suffix -> X.Y.Z-suffix, then -rc<n>."""
    assert release_candidate("1.1.0.post1", rc=2).helm_chart_version == "1.1.0-post1-rc2"
    assert release_candidate("1.1.0.post1", rc=2).ngc_tag == "1.1.0.post1rc2"
    assert release_candidate("1.1.0-hotfix", rc=1).helm_chart_version == "1.1.0-hotfix-rc1"


@pytest.mark.parametrize(("version", "rc"), [("1.1", 1), ("v1.1.0", 1), ("1.1.0", -1), ("1.1.0", True), ("1.1.0", "2")])
def test_bad_release_input(version, rc):
    with pytest.raises(PipelineInputError):
        release_candidate(version, rc=rc)


def test_next_rc():
    existing = ["v1.1.0-rc0", "v1.1.0-rc1", "v1.1.0-rc3", "v1.0.0-rc9", "v1.1.0-rc10x", "v1.1.0", "v1x1x0-rc7"]
    assert next_rc("1.1.0", existing) == 4
    assert next_rc("1.2.0", existing) == 0
    assert next_rc("1.1.0", ["v1.1.0-rc0"]) == 1
    with pytest.raises(PipelineInputError):
        next_rc("latest", existing)


def test_promotions_follow_release_yml(ctx):
    sha = "0123456789abcdef0123456789abcdef01234567"
    copies = [(copy.source, copy.target) for copy in promotions(sha, release_candidate("1.1.0", []), ctx=ctx)]
    assert copies == [
        (f"{sha}-vllm-runtime-cuda12", "ai-dynamo/vllm-runtime:1.1.0rc0"),
        (f"{sha}-sglang-runtime-cuda12", "ai-dynamo/sglang-runtime:1.1.0rc0"),
        (f"{sha}-vllm-runtime-cuda13", "ai-dynamo/vllm-runtime:1.1.0rc0-cuda13"),
        (f"{sha}-sglang-runtime-cuda13", "ai-dynamo/sglang-runtime:1.1.0rc0-cuda13"),
        (f"{sha}-trtllm-runtime-cuda13", "ai-dynamo/tensorrtllm-runtime:1.1.0rc0-cuda13"),
        (f"{sha}-vllm-runtime-efa-cuda12", "ai-dynamo/vllm-runtime:1.1.0rc0-efa"),
        (f"{sha}-trtllm-runtime-efa-cuda13", "ai-dynamo/tensorrtllm-runtime:1.1.0rc0-efa"),
        (f"{sha}-frontend", "ai-dynamo/dynamo-frontend:1.1.0rc0"),
        (f"{sha}-operator", "ai-dynamo/kubernetes-operator:1.1.0rc0"),
        # release.yml reads <sha>-dynamo-planner, which post-merge never pushes; the pushed tag is -cpu.
        (f"{sha}-dynamo-planner-cpu", "ai-dynamo/dynamo-planner:1.1.0rc0"),
        (f"{sha}-snapshot-agent", "ai-dynamo/snapshot-agent:1.1.0rc0"),
    ]


def test_ngc_repository_names_come_from_the_context(ctx):
    import dataclasses

    renamed = dataclasses.replace(
        ctx, release=dataclasses.replace(ctx.release, ngc_repositories={**ctx.release.ngc_repositories, "trtllm": "trt"})
    )
    targets = [copy.target for copy in promotions(SHA, release_candidate("2.0.0", rc=1), ctx=renamed)]
    assert "ai-dynamo/trt:2.0.0rc1-cuda13" in targets and "ai-dynamo/trt:2.0.0rc1-efa" in targets
