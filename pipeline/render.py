"""Render one multi-stage Dockerfile per (framework, target, device, CUDA, platform) from the Context.

Follows upstream's container/render.py: Jinja2 with StrictUndefined, trim_blocks off, lstrip_blocks
on, runs of three or more newlines collapsed; the same valid combinations (Context.combination).
"""

from __future__ import annotations

import re
from pathlib import Path

import jinja2

from .context import Combination, Context
from .errors import PipelineInputError

TEMPLATES = Path(__file__).resolve().parent.parent / "container" / "templates"

ARCHITECTURES = ("amd64", "arm64")

# Stages rendered after dynamo_base, in order; the target's stage is the last one.
_TARGET_STAGES = {
    "base": (),
    "wheel_builder": ("wheel_builder",),
    "framework": ("wheel_builder", "framework"),
    "runtime": ("wheel_builder", "framework", "runtime"),
    "dev": ("wheel_builder", "framework", "runtime", "dev"),
    "local-dev": ("wheel_builder", "framework", "runtime", "dev", "local-dev"),
    "frontend": ("wheel_builder", "frontend"),
    "planner": ("wheel_builder", "planner"),
}


def normalise_platform(platform: str) -> str:
    """"linux/amd64" -> "amd64", "linux/arm64" -> "arm64", a comma-separated list -> "multi".

    Upstream's render.py rules exactly: each comma-separated part's architecture is what follows its last
    "/", it must be amd64 or arm64 (so an empty part, as in "linux/amd64,", is an error), and more than one
    part is "multi" even when they repeat.
    """
    parts = [part.strip() for part in platform.split(",")]
    for part in parts:
        arch = part.split("/")[-1]
        if arch not in ARCHITECTURES:
            raise PipelineInputError(
                f"platform {platform!r}: architecture {arch!r} not supported; allowed: amd64, arm64 "
                "(linux/amd64, linux/arm64 or both comma-separated)"
            )
    return "multi" if len(parts) > 1 else parts[0].split("/")[-1]


def dockerfile_name(ctx: Context, framework: str, target: str, device: str, cuda: str | None, platform: str) -> str:
    """Upstream's long file name: `<fw>-<target>-<device><cuda>-<platform>-rendered.Dockerfile`."""
    combo = ctx.combination(framework, target, device, cuda)
    return f"{framework}-{target}-{combo.device_key}-{normalise_platform(platform)}-rendered.Dockerfile"


def render(ctx: Context, framework: str, target: str, device: str, cuda: str | None, platform: str) -> str:
    """The Dockerfile text for one build combination; build it from the Dynamo checkout's root."""
    combo = ctx.combination(framework, target, device, cuda)
    text = _environment().get_template("Dockerfile.j2").render(**_variables(ctx, combo, normalise_platform(platform)))
    return re.sub(r"\n{3,}", "\n\n", text)


def _variables(ctx: Context, combo: Combination, platform: str) -> dict[str, object]:
    runtime_image = ctx.runtime_image(combo)
    has_framework_stage = "framework" in combo.framework.targets
    return {
        "framework": combo.framework.name,
        "target": combo.target,
        "device": combo.device,
        "device_key": combo.device_key,
        "cuda": combo.cuda,
        "platform": platform,
        "fw": combo.framework,
        "framework_version": combo.framework_version,
        "tools": ctx.tools,
        "native": ctx.native,
        "workspace": ctx.workspace,
        "builder": {manager: list(ctx.builder_packages.get(manager, ())) for manager in ("dnf", "apt")},
        "python_index": ctx.packaging.python_index if ctx.packaging else "",
        "images": {key: image.pinned for key, image in ctx.images.items()},
        "base_image": ctx.base_image(combo).pinned,
        "runtime_image": runtime_image.pinned if runtime_image else "",
        "stages": [
            stage for stage in _TARGET_STAGES[combo.target] if stage != "framework" or has_framework_stage
        ],
    }


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        undefined=jinja2.StrictUndefined,
        trim_blocks=False,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
