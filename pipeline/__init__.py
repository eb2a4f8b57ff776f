"""Build NVIDIA Dynamo with Dagger.

One context.toml pins every toolchain and base image; functions render Dynamo's Dockerfiles and
name its images in upstream's tag scheme. Point it at a checkout with `--source=../dynamo`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .main import Dynamo as Dynamo


def __getattr__(name: str) -> object:
    # The main object loads dagger-io (about 2 s); only the module runtime and client mode need it,
    # not the command line's context, tags and render commands.
    if name == "Dynamo":
        from .main import Dynamo

        return Dynamo
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
