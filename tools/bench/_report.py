"""Shared printing and timing helpers for the bench scripts (not a test: figures, not verdicts)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import anyio


async def rate(call: Callable[[], Awaitable[object]], count: int, *, concurrency: int = 1) -> float:
    """Operations per second of ``call`` run ``count`` times by ``concurrency`` tasks."""
    per_task = count // concurrency

    async def worker() -> None:
        for _ in range(per_task):
            await call()

    start = time.perf_counter()
    async with anyio.create_task_group() as group:
        for _ in range(concurrency):
            group.start_soon(worker)
    return per_task * concurrency / (time.perf_counter() - start)


def row(label: str, ours: float, raw: float, target: float) -> str:
    """One line of the report: ops/s of ours and raw, the ratio and whether it meets the target."""
    ratio = ours / raw
    verdict = "ok" if ratio >= target else "BELOW TARGET"
    return (
        f"  {label:<44} ours {ours:>9,.0f}/s   raw {raw:>9,.0f}/s   "
        f"ratio {ratio:4.2f}x  (target >= {target}x: {verdict})"
    )
