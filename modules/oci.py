"""OCI image annotations (org.opencontainers.image.*) as labels on a container.

Dynamo-agnostic.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

import dagger

CREATED = "org.opencontainers.image.created"


def oci_labels(version: str, revision: str, source: str, created: str = "") -> dict[str, str]:
    """version, revision, source and created (RFC 3339, default now) under their OCI names."""
    return {
        "org.opencontainers.image.version": version,
        "org.opencontainers.image.revision": revision or "unknown",
        "org.opencontainers.image.source": source,
        CREATED: created or datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def with_labels(labels: dict[str, str]) -> Callable[[dagger.Container], dagger.Container]:
    """A container transform (for `.with_()`) that sets every label."""

    def apply(ctr: dagger.Container) -> dagger.Container:
        for name, value in labels.items():
            ctr = ctr.with_label(name, value)
        return ctr

    return apply


def uncompressed_tarball(ctr: dagger.Container) -> dagger.File:
    """The container as an OCI tarball with uncompressed layers: for reading (a scan, a size), not for
    pushing. Gzip would cost minutes of one core per gigabyte-sized runtime image, for nothing."""
    return ctr.as_tarball(forced_compression=dagger.ImageLayerCompression.Uncompressed)
