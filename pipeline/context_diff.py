"""Drift between our context and upstream's container/context.yaml.

Upstream keeps its pins in `container/context.yaml`: per framework, per device key (`cuda12.9`, `xpu`, …)
an image split into `<x>_image` and `<x>_image_tag`, and flat keys (`nixl_ref`, `torch_version`, …). Each
upstream pin maps to one value of ours; the keys no stage here uses are listed in the context's
`[upstream_unused]` with the reason. Anything else upstream has is drift, as is a value that differs.

Plain Python on already-parsed data: the CLI parses the YAML (with PyYAML's BaseLoader, so every scalar is
the string upstream wrote), which keeps the module runtime free of a YAML library.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .context import Context, Framework, normalise_ref
from .errors import PipelineInputError

SAME, DIFFERS, MISSING, UNUSED, EXTRA, STALE = "same", "differs", "missing", "unused", "extra", "stale"
DRIFT = (DIFFERS, MISSING, EXTRA, STALE)
_FLAGS = ("enable_kvbm", "enable_media_ffmpeg", "enable_gpu_memory_service")
# Upstream image keys held as a `<name>` + `<name>_tag` pair (or a full reference when there is no tag).
_IMAGE_KEYS = ("base_image", "runtime_image")
# dynamo-level upstream keys and the image or tool of ours they pin.
_DYNAMO_IMAGES = {
    "epp_image": "epp_default",
    "frontend_image": "frontend",
    "planner_build_image": "python",
    "planner_runtime_image": "planner_runtime",
}
# Upstream writes tags ("v2.10.28"); [tools] holds the version the stages download.
_TOOLS_AS_TAGS = {"nats_version": "nats", "etcd_version": "etcd"}


@dataclass(frozen=True)
class Finding:
    """One upstream pin (or one of our keys) and how it compares."""

    key: str  # upstream's key path, e.g. "vllm.xpu.vllm_ref" or "dynamo.cuda12.9.base_image"
    status: str  # SAME, DIFFERS, MISSING, UNUSED, EXTRA or STALE
    upstream: str = ""
    ours: str = ""
    where: str = ""  # our key, e.g. "frameworks.vllm.device_versions.xpu", or the reason it is unused

    def __str__(self) -> str:
        if self.status == SAME:
            return f"same     {self.key} = {self.upstream} ({self.where})"
        if self.status == DIFFERS:
            return f"differs  {self.key}: upstream {self.upstream}, ours {self.ours} ({self.where})"
        if self.status == MISSING:
            return f"missing  {self.key} = {self.upstream}: no counterpart in our context"
        if self.status == UNUSED:
            return f"unused   {self.key} = {self.upstream}: {self.where}"
        if self.status == EXTRA:
            return f"extra    {self.where} = {self.ours}: upstream has no {self.key}"
        return f"stale    [upstream_unused] {self.key}: upstream has no such key"


def diff(ctx: Context, upstream: Any, *, source: str) -> list[Finding]:
    """Compare every pin of upstream's parsed context.yaml with ours; `source` names it in errors."""
    if not isinstance(upstream, Mapping):
        raise PipelineInputError(f"{source}: not a mapping of frameworks (is it upstream's container/context.yaml?)")
    findings: list[Finding] = []
    seen: set[str] = set()
    for framework, table in upstream.items():
        if not isinstance(table, Mapping):
            raise PipelineInputError(f"{source}: {framework!r} must be a mapping")
        fw = ctx.frameworks.get(framework)
        for key, value in table.items():
            if isinstance(value, Mapping):  # a device key: cuda12.9, xpu, cpu
                findings += _device(ctx, fw, framework, key, value, seen)
            elif not key.endswith("_tag") or key.removesuffix("_tag") not in table:
                path = f"{framework}.{key}"
                seen.add(path)
                findings.append(_scalar(ctx, fw, framework, key, table, path))
        if fw is not None:
            findings += _extra_device_keys(fw, framework, table)
            findings += [
                Finding(f"{framework}.{key}", EXTRA, ours=value, where=f"frameworks.{framework}.pins.{key}")
                for key, value in fw.pins.items()
                if key not in table
            ]
    findings += [
        Finding(f"dynamo.{key}", EXTRA, ours=value, where=f"native.{key}")
        for key, value in ctx.native.items()
        if key not in upstream.get("dynamo", {})
    ]
    findings += [Finding(key, STALE) for key in ctx.upstream_unused if key not in seen]
    return findings


def _finding(ctx: Context, path: str, upstream: str, ours: tuple[str, str] | None) -> Finding:
    if ours is None:
        if path in ctx.upstream_unused:
            return Finding(path, UNUSED, upstream, where=ctx.upstream_unused[path])
        return Finding(path, MISSING, upstream)
    value, where = ours
    return Finding(path, SAME if value == upstream else DIFFERS, upstream, value, where)


def _image_value(table: Mapping[str, Any], key: str) -> str:
    """An upstream image as one normalised reference: `<key>` joined with `<key>_tag` when present."""
    ref = str(table[key])
    if f"{key}_tag" in table:
        ref = f"{ref}:{table[f'{key}_tag']}"
    return normalise_ref(ref)


def _our_image(ctx: Context, image_key: str | None, via: str = "") -> tuple[str, str] | None:
    """Our image's reference (without digest) and its key, `via` the framework table that names it."""
    if image_key is None or image_key not in ctx.images:
        return None
    return ctx.images[image_key].ref, f"{via} -> images.{image_key}" if via else f"images.{image_key}"


def _device(
    ctx: Context, fw: Framework | None, framework: str, device_key: str, table: Mapping[str, Any], seen: set[str]
) -> list[Finding]:
    findings = []
    for key in table:
        if key.endswith("_tag") and key.removesuffix("_tag") in table:
            continue  # joined with its image
        path = f"{framework}.{device_key}.{key}"
        seen.add(path)
        ours: tuple[str, str] | None = None
        if key in _IMAGE_KEYS:
            upstream = _image_value(table, key)
            if fw is not None:
                image_table = fw.base_image if key == "base_image" else fw.runtime_image
                ours = _our_image(ctx, image_table.get(device_key), f"frameworks.{framework}.{key}.{device_key}")
        else:
            upstream = str(table[key])
            if fw is not None and key == f"{framework}_ref" and _has_device(fw, device_key):
                version = fw.device_versions.get(device_key, fw.version)
                where = "device_versions" if device_key in fw.device_versions else "version"
                ours = f"v{version}", f"frameworks.{framework}.{where}"
        findings.append(_finding(ctx, path, upstream, ours))
    return findings


def _has_device(fw: Framework, device_key: str) -> bool:
    return device_key in fw.base_image


def _scalar(
    ctx: Context, fw: Framework | None, framework: str, key: str, table: Mapping[str, Any], path: str
) -> Finding:
    upstream = _image_value(table, key) if f"{key}_tag" in table or key in _DYNAMO_IMAGES else str(table[key])
    return _finding(ctx, path, upstream, _our_scalar(ctx, fw, framework, key))


def _our_scalar(ctx: Context, fw: Framework | None, framework: str, key: str) -> tuple[str, str] | None:
    """Our value for upstream's `<framework>.<key>` and where it lives; None when we have none."""
    if fw is None:
        return None
    section = f"frameworks.{framework}"
    if key in fw.pins:
        return fw.pins[key], f"{section}.pins.{key}"
    if key == "nixl_ref":
        return fw.nixl_ref, f"{section}.nixl_ref"
    if key in _FLAGS:
        return str(getattr(fw, key)).lower(), f"{section}.{key}"
    if key == "python_version":
        return ctx.tools["python"], "tools.python"
    if framework == "trtllm" and key == "pip_wheel":
        return f"tensorrt-llm=={fw.version}", f"{section}.version"
    if framework == "dynamo":
        if key in ctx.native:
            return ctx.native[key], f"native.{key}"
        if key in _DYNAMO_IMAGES:
            return _our_image(ctx, _DYNAMO_IMAGES[key])
        if key in _TOOLS_AS_TAGS:
            tool = _TOOLS_AS_TAGS[key]
            return f"v{ctx.tools[tool]}", f"tools.{tool} (as a v-tag)"
    return None


def _extra_device_keys(fw: Framework, framework: str, table: Mapping[str, Any]) -> list[Finding]:
    """Device keys we build that upstream's context has no images for."""
    return [
        Finding(f"{framework}.{device_key}", EXTRA, ours=image_key, where=f"frameworks.{framework}.base_image.{device_key}")
        for device_key, image_key in fw.base_image.items()
        if not isinstance(table.get(device_key), Mapping)
    ]
