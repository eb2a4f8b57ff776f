"""OCI image annotations (org.opencontainers.image.*) as labels on a container, and an image's size.

Dynamo-agnostic.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

import dagger
from dagger import dag

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


async def files_bytes(ctr: dagger.Container, tool_image: str) -> int:
    """The bytes of the container's files (`du -sb` of its root filesystem, mounted in a container of
    `tool_image`): its uncompressed size, without writing a tarball of it."""
    du = (
        dag.container()
        .from_(tool_image)
        .with_mounted_directory("/rootfs", ctr.rootfs())
        .with_exec(["sh", "-c", "du -sb /rootfs | cut -f1"])
    )
    return int((await du.stdout()).strip())
