"""The pre-release checklist runner: every item concurrently, one report naming each failure and its fix.

Plain Python over awaitables, so `dagger check` (which runs each @check by itself) and `preflight`
(one call, one report) share the items without a second copy.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from .errors import CheckFailed


def reason(error: BaseException) -> str:
    """The first useful lines of a failure: our own messages whole, an exec error's command and tail."""
    text = str(error).strip()
    for attribute in ("stderr", "stdout"):
        tail = (getattr(error, attribute, "") or "").strip()
        if tail:
            last_lines = "\n".join(tail.splitlines()[-15:])
            text = f"{text}\n{last_lines}"
            break
    return text or type(error).__name__


async def run_checklist(items: dict[str, Awaitable[object]]) -> str:
    """Await every item concurrently; raise CheckFailed listing each failed item, else report passes."""
    names = list(items)
    results = await asyncio.gather(*items.values(), return_exceptions=True)
    failed = [(name, result) for name, result in zip(names, results, strict=True) if isinstance(result, BaseException)]
    if failed:
        lines = [f"{len(failed)} of {len(names)} preflight items failed:"]
        for name, error in failed:
            body = reason(error).replace("\n", "\n    ")
            lines.append(f"- {name}: {body}")
        raise CheckFailed("\n".join(lines))
    return "\n".join(f"ok  {name}" for name in names)
