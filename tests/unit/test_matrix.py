"""The whole build matrix and every platform string, checked against upstream's render.py rules.

How the expected table was derived (upstream's code is neither imported nor copied): reading
ai-dynamo/dynamo main's container/render.py (2026-04-21),
- argparse admits --framework in {dynamo, vllm, sglang, trtllm}, --device in {cuda, xpu, cpu} and
  --cuda-version in {12.9, 13.0, 13.1}; --target is free text;
- validate_args then accepts a combination iff the target, the CUDA version AND the device are all in the
  framework's lists (UPSTREAM_RULES below, the table of dynamo-build.md section 3.1); the CUDA version is
  checked for every device, and only cleared afterwards for xpu and cpu;
- parse_platform splits on ",", strips each part, takes the text after the last "/" as the architecture,
  requires amd64 or arm64 for every part, and answers "multi" for more than one part.
Values outside argparse's choices (framework "mlx", device "rocm", CUDA "12.8", no CUDA at all) are
rejected upstream before validate_args runs, so they are expected to be rejected here too. A throw-away
script that ran upstream's validate_args and parse_platform over the same inputs agreed with this table.
"""

import itertools

import pytest

from pipeline.context import load_context
from pipeline.errors import PipelineInputError
from pipeline.render import dockerfile_name, normalise_platform, render

ARGPARSE_FRAMEWORKS = ("dynamo", "vllm", "sglang", "trtllm")
ARGPARSE_DEVICES = ("cuda", "xpu", "cpu")
ARGPARSE_CUDA = ("12.9", "13.0", "13.1")
UPSTREAM_RULES = {
    "vllm": {
        "device": ("cuda", "xpu", "cpu"),
        "target": ("runtime", "dev", "local-dev", "framework", "wheel_builder", "base"),
        "cuda": ("12.9", "13.0"),
    },
    "trtllm": {
        "device": ("cuda",),
        "target": ("runtime", "dev", "local-dev", "framework", "wheel_builder", "base"),
        "cuda": ("13.1",),
    },
    "sglang": {
        "device": ("cuda",),
        "target": ("runtime", "dev", "local-dev", "wheel_builder", "base"),
        "cuda": ("12.9", "13.0"),
    },
    "dynamo": {
        "device": ("cuda",),
        "target": ("runtime", "dev", "local-dev", "frontend", "planner", "wheel_builder", "base"),
        "cuda": ("12.9", "13.0"),
    },
}
FRAMEWORKS = ARGPARSE_FRAMEWORKS + ("mlx",)
DEVICES = ARGPARSE_DEVICES + ("rocm",)
TARGETS = ("runtime", "dev", "local-dev", "framework", "frontend", "planner", "wheel_builder", "base", "bogus")
CUDA_VALUES = ARGPARSE_CUDA + ("12.8", None)
MATRIX = list(itertools.product(FRAMEWORKS, TARGETS, DEVICES, CUDA_VALUES))

# Every platform string and what upstream's parse_platform makes of it (None: ValueError).
PLATFORMS = {
    "linux/amd64": "amd64",
    "linux/arm64": "arm64",
    "amd64": "amd64",
    "arm64": "arm64",
    "linux/amd64,linux/arm64": "multi",
    "linux/arm64,linux/amd64": "multi",
    " linux/amd64 , linux/arm64 ": "multi",
    "linux/amd64,linux/amd64": "multi",  # repeated: still more than one part
    "amd64,arm64": "multi",
    "windows/amd64": "amd64",  # only the architecture is read
    "linux/amd64,": None,  # the empty part has no architecture
    ",linux/arm64": None,
    "amd64,,arm64": None,
    "": None,
    "linux/": None,
    "linux/s390x": None,
    "linux/arm64/v8": None,
    "AMD64": None,
    "x86_64": None,
}


def upstream_accepts(framework, target, device, cuda) -> bool:
    """The expected verdict: argparse's choices, then validate_args's three list checks."""
    if framework not in ARGPARSE_FRAMEWORKS or device not in ARGPARSE_DEVICES or cuda not in ARGPARSE_CUDA:
        return False
    rules = UPSTREAM_RULES[framework]
    return target in rules["target"] and cuda in rules["cuda"] and device in rules["device"]


@pytest.fixture(scope="module")
def ctx():
    return load_context()


def ours_accepts(ctx, framework, target, device, cuda) -> bool:
    try:
        ctx.combination(framework, target, device, cuda)
    except PipelineInputError:
        return False
    return True


def test_whole_matrix_agrees_with_upstream(ctx):
    disagreements = [
        combo for combo in MATRIX if ours_accepts(ctx, *combo) != upstream_accepts(*combo)
    ]
    assert len(MATRIX) == 900
    assert sum(upstream_accepts(*combo) for combo in MATRIX) == 66
    assert disagreements == []


def test_every_valid_combination_renders_with_upstreams_file_name(ctx):
    for framework, target, device, cuda in MATRIX:
        if not upstream_accepts(framework, target, device, cuda):
            continue
        text = render(ctx, framework, target, device, cuda, "linux/amd64")
        assert text.startswith("# syntax=")
        # render.py's name: <fw>-<target>-<device><cuda, cleared off CUDA>-<platform>-rendered.Dockerfile
        suffix = cuda if device == "cuda" else ""
        assert dockerfile_name(ctx, framework, target, device, cuda, "linux/amd64,linux/arm64") == (
            f"{framework}-{target}-{device}{suffix}-multi-rendered.Dockerfile"
        )


@pytest.mark.parametrize(("platform", "expected"), PLATFORMS.items(), ids=[repr(p) for p in PLATFORMS])
def test_platform_parsing_agrees_with_upstream(platform, expected):
    if expected is None:
        with pytest.raises(PipelineInputError, match="not supported"):
            normalise_platform(platform)
    else:
        assert normalise_platform(platform) == expected
