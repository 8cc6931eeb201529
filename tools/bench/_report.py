"""Shared timing and printing helpers for the bench scripts (figures, not verdicts)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import anyio

Call = Callable[[], Awaitable[object]]


async def _run(call: Call, count: int, concurrency: int) -> tuple[float, float]:
    per_task = max(1, count // concurrency)

    async def worker() -> None:
        for _ in range(per_task):
            await call()

    wall, cpu = time.perf_counter(), time.process_time()
    async with anyio.create_task_group() as group:
        for _ in range(concurrency):
            group.start_soon(worker)
    return time.perf_counter() - wall, time.process_time() - cpu


async def compare(
    ours: Call, raw: Call, count: int, *, concurrency: int = 1, rounds: int = 10
) -> tuple[float, float, float]:
    """Ops/s of ours and raw, interleaved in ``rounds`` chunks so that machine drift hits both alike.

    Returns ``(ours_rate, raw_rate, extra CPU µs per op of ours over raw)``.
    """
    chunk = max(concurrency, count // rounds)
    await _run(raw, chunk // 4 or 1, concurrency)  # warm up both
    await _run(ours, chunk // 4 or 1, concurrency)
    totals = {"ours": [0.0, 0.0], "raw": [0.0, 0.0]}
    for _ in range(rounds):
        for name, call in (("raw", raw), ("ours", ours)):
            wall, cpu = await _run(call, chunk, concurrency)
            totals[name][0] += wall
            totals[name][1] += cpu
    done = (chunk // concurrency) * concurrency * rounds
    extra_cpu = (totals["ours"][1] - totals["raw"][1]) / done * 1e6
    return done / totals["ours"][0], done / totals["raw"][0], extra_cpu


def row(label: str, ours: float, raw: float, target: float, extra_cpu_us: float | None = None) -> str:
    """One line of the report: ops/s of ours and raw, the ratio and whether it meets the target."""
    ratio = ours / raw
    verdict = "ok" if ratio >= target else "BELOW TARGET"
    cpu = "" if extra_cpu_us is None else f"  ours costs {extra_cpu_us:+.1f} µs CPU/op"
    return (
        f"  {label:<44} ours {ours:>9,.0f}/s   raw {raw:>9,.0f}/s   "
        f"ratio {ratio:4.2f}x  (target >= {target}x: {verdict}){cpu}"
    )


async def rate(call: Call, count: int, *, concurrency: int = 1) -> float:
    """Operations per second of ``call`` run ``count`` times by ``concurrency`` tasks."""
    wall, _ = await _run(call, count, concurrency)
    return (max(1, count // concurrency) * concurrency) / wall
