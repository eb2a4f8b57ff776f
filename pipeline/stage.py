"""What every stage object shares: the checkout, the context file and the overlay.

A stage is one file and one object (`pipeline/go.py` -> `dagger call go operator`). The main
object builds each stage from its own inputs with `Go(**self.inputs())`, so a stage never
re-reads arguments the user gave once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import dagger
from dagger import Doc

from .errors import PipelineInputError

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine

    from .context import Context

T = TypeVar("T")

# What stages read from their inputs before any container runs (the context, the checkout's version,
# its Cargo workspace), once per process: build-all builds a dozen stage objects from the same input
# objects, and every read is engine round trips (upstream's workspace: ~60 sequential ones). Keyed by
# the inputs' identity, an entry keeps them alive so that no id is reused. A read that failed fails
# the same way for every stage: the input is the same.
_READS: dict[tuple[Any, ...], tuple[tuple[object, ...], asyncio.Future[Any]]] = {}


async def read_once(what: str, inputs: tuple[object, ...], read: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """`await read()`, computed once per process for `what` of these very input objects (concurrent callers share it)."""
    loop = asyncio.get_running_loop()  # a future belongs to its loop (the CLI runs one per command)
    key = (what, id(loop), *(id(obj) for obj in inputs))
    if key not in _READS:
        _READS[key] = ((loop, *inputs), loop.create_task(read()))
    return await asyncio.shield(_READS[key][1])


@dataclasses.dataclass(kw_only=True)
class Stage:
    """Base of every stage object: a Dynamo checkout plus the context that pins its tools and images."""

    source: Annotated[dagger.Directory, Doc("Dynamo checkout")]
    context_file: Annotated[dagger.File | None, Doc("context.toml to use instead of the module's own")] = None
    overlay: Annotated[dagger.File | None, Doc("overlay TOML rewriting image references for a mirror")] = None

    def inputs(self) -> dict[str, Any]:
        """The constructor arguments a stage object built from this one takes."""
        return {"source": self.source, "context_file": self.context_file, "overlay": self.overlay}

    async def _context(self) -> Context:
        """The resolved context: the given or the module's context.toml, then the overlay."""
        return await read_once("context", (self.context_file, self.overlay), self._read_context)

    async def _read_context(self) -> Context:
        """What `_context` returns, read from the files (once per process)."""
        from .context import apply_overlay, load_context, parse_context

        if self.context_file is None:
            ctx = load_context()  # the module's own container/context.toml
        else:
            ctx = parse_context(await self.context_file.contents(), source=await self.context_file.name())
        if self.overlay is not None:
            ctx = apply_overlay(ctx, await self.overlay.contents(), source=await self.overlay.name())
        return ctx

    async def _workspace_version(self) -> str:
        """The checkout's one version, read from a local copy of its pin files (no container runs)."""
        return await read_once("version", tuple(self.inputs().values()), self._read_workspace_version)

    async def _read_workspace_version(self) -> str:
        """What `_workspace_version` returns, read from the checkout (once per process)."""
        from .versions import VERSION_FILE_NAMES, workspace_version

        policy = (await self._context()).versions
        paths = [path for name in VERSION_FILE_NAMES for path in await self.source.glob(f"**/{name}")]
        texts = await asyncio.gather(*(self.source.file(path).contents() for path in paths))
        with tempfile.TemporaryDirectory() as local:
            for path, text in zip(paths, texts, strict=True):
                (Path(local) / path).parent.mkdir(parents=True, exist_ok=True)
                (Path(local) / path).write_text(text)
            try:
                return workspace_version(Path(local), policy, label="the source directory")
            except PipelineInputError as error:
                # Name files as they are in the checkout, not in this temporary copy of it.
                message = str(error).replace(f"{local}/", "").replace(local, "the source directory")
                raise PipelineInputError(message) from None
