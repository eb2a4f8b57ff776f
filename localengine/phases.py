"""Phase timing for the engine tooling: every step prints its name and duration."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def phase(name: str) -> Iterator[None]:
    """Print `name` when it starts and its duration when it ends (also when it fails)."""
    print(f"[engine] {name} ...", file=sys.stderr, flush=True)
    started = time.monotonic()
    outcome = "failed"
    try:
        yield
        outcome = "done"
    finally:
        elapsed = time.monotonic() - started
        print(f"[engine] {name}: {outcome} in {elapsed:.1f}s", file=sys.stderr, flush=True)
