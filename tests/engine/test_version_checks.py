"""The module's version check reads the pins the plain-Python check reads, through Dagger."""

from __future__ import annotations

import pytest

from pipeline import Dynamo
from pipeline.errors import PipelineInputError


async def test_module_sees_lock_and_subchart_skew_and_allows_independent_packages(dynamo: Dynamo) -> None:
    """Cargo.lock and a chart's in-tree dependency are read from the checkout (not only manifests), and the
    independently versioned packages of the example (0.1.0, 0.9.0, chart 0.2.0) are no skew."""
    assert await dynamo.version() == "1.1.0"
    lock = await dynamo.source.file("Cargo.lock").contents()
    chart_path = "deploy/helm/charts/platform/Chart.yaml"
    chart = await dynamo.source.file(chart_path).contents()
    skewed_source = dynamo.source.with_new_file(
        "Cargo.lock", lock.replace('name = "dynamo-runtime"\nversion = "1.1.0"', 'name = "dynamo-runtime"\nversion = "1.0.0"')
    ).with_new_file(chart_path, chart.replace("dynamo-operator\n    version: 1.1.0", "dynamo-operator\n    version: 1.0.0"))
    skewed = Dynamo(source=skewed_source, overlay=dynamo.overlay)
    with pytest.raises(PipelineInputError) as raised:
        await skewed.versions_agree()
    message = str(raised.value)
    assert "2 pin(s) differ" in message
    assert "Cargo.lock:package[dynamo-runtime].version = 1.0.0 (expected 1.1.0)" in message
    assert f"{chart_path}:dependencies[dynamo-operator].version = 1.0.0 (expected 1.1.0)" in message
