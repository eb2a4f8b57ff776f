"""What the image stages read from the context, and the labels they write (no engine)."""

from __future__ import annotations

import re

import pytest

from modules.oci import oci_labels
from pipeline.context import DEFAULT_CONTEXT, load_context, parse_context
from pipeline.errors import PipelineInputError
from pipeline.image import FRAMEWORK_PACKAGES


def test_packaging_section_pins_ffmpeg_and_the_indexes() -> None:
    packaging = load_context().packaging
    assert packaging is not None
    assert packaging.python_index == "https://pypi.org/simple"
    assert packaging.framework_indexes == {"trtllm": "https://pypi.nvidia.com"}
    assert re.fullmatch(r"[0-9a-f]{64}", packaging.ffmpeg.sha256)
    assert packaging.ffmpeg.url.endswith(f"ffmpeg_{packaging.ffmpeg.version}.orig.tar.xz")
    assert {"--disable-gpl", "--disable-nonfree", "--enable-shared"} <= set(packaging.ffmpeg.configure)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace('sha256 = "f0bf', 'sha256 = "F0BF'), r"\[packaging.ffmpeg\]: sha256 must be 64 lowercase hex digits"),
        (lambda t: t.replace("trtllm = \"https://pypi.nvidia.com\"", 'tgi = "https://x"'),
         r"\[packaging.framework_indexes\]: unknown framework 'tgi'"),
        (lambda t: t.replace('"--disable-gpl",', '"disable-gpl",'), r"configure must be a list of --flags"),
        (lambda t: t.replace("python_index =", "python_idx ="), r"\[packaging\]: unknown key 'python_idx'"),
        (lambda t: t.replace('version = "7.1.3"', 'version = "7.0.2"'),
         r"\[packaging.ffmpeg\]: version '7.0.2' is not a release of \[native\] ffmpeg_version '7.1'"),
    ],
)
def test_bad_packaging_is_one_line(edit, message: str) -> None:
    text = DEFAULT_CONTEXT.read_text()
    edited = edit(text)
    assert edited != text
    with pytest.raises(PipelineInputError, match=message):
        parse_context(edited, source="context.toml")


def test_every_framework_with_a_version_has_a_package() -> None:
    ctx = load_context()
    versioned = {name for name, fw in ctx.frameworks.items() if fw.version}
    assert versioned == set(FRAMEWORK_PACKAGES)


def test_oci_labels_default_created_to_now_in_rfc3339() -> None:
    labels = oci_labels("1.1.0", "", "https://github.com/ai-dynamo/dynamo")
    assert labels["org.opencontainers.image.revision"] == "unknown"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", labels["org.opencontainers.image.created"])
    assert oci_labels("1", "abc", "s", "2026-01-01T00:00:00Z")["org.opencontainers.image.created"] == "2026-01-01T00:00:00Z"
