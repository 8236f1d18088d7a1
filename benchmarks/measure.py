"""Timing loops shared by every benchmark, ours and LiteLLM's (standard library only).

LiteLLM's side runs in its own virtual environment, which has none of our packages: it imports
this file by path, so both sides are measured by the very same loops.
"""

from __future__ import annotations

import asyncio
import math
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

Call = Callable[[], Awaitable[Any]]


def percentile(samples: Sequence[float], fraction: float) -> float:
    """The `fraction` quantile (0..1) of `samples`, nearest rank."""
    ordered = sorted(samples)
    if not ordered:
        return math.nan
    rank = max(math.ceil(fraction * len(ordered)) - 1, 0)
    return ordered[min(rank, len(ordered) - 1)]


def summary(samples: Sequence[float]) -> dict[str, float]:
    """Median, p99 and mean of `samples` (seconds), and how many there were."""
    return {
        "n": len(samples),
        "median": statistics.median(samples) if samples else math.nan,
        "p99": percentile(samples, 0.99),
        "mean": statistics.fmean(samples) if samples else math.nan,
    }


async def sequential(call: Call, count: int, *, warmup: int = 50) -> list[float]:
    """Seconds taken by each of `count` calls made one after the other (after `warmup`)."""
    for _ in range(warmup):
        await call()
    timings = []
    clock = time.perf_counter
    for _ in range(count):
        started = clock()
        await call()
        timings.append(clock() - started)
    return timings


async def interleaved(calls: dict[str, Call], rounds: int, *, warmup: int = 50) -> dict[str, list]:
    """Per-call seconds of each named call, alternating between them call by call.

    Alternating puts every side under the same machine noise: a burst of load from a neighbour
    hits both, so the per-round difference and ratio are fair even on a shared machine."""
    for call in calls.values():
        for _ in range(warmup):
            await call()
    timings: dict[str, list[float]] = {name: [] for name in calls}
    clock = time.perf_counter
    for _ in range(rounds):
        for name, call in calls.items():
            started = clock()
            await call()
            timings[name].append(clock() - started)
    return timings


async def concurrent(call: Call, concurrency: int, total: int) -> dict[str, float]:
    """`total` calls by `concurrency` workers: calls/s, and median and p99 latency (seconds)."""
    latencies: list[float] = []
    remaining = total
    clock = time.perf_counter

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            started = clock()
            await call()
            latencies.append(clock() - started)

    warm = [asyncio.ensure_future(call()) for _ in range(min(concurrency, 64))]
    await asyncio.gather(*warm)  # opens the connections the run will keep using
    started = clock()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = clock() - started
    return {
        "concurrency": concurrency,
        "calls": len(latencies),
        "seconds": elapsed,
        "calls_per_s": len(latencies) / elapsed,
        "median": statistics.median(latencies),
        "p99": percentile(latencies, 0.99),
    }


def rss_bytes(pid: int | str = "self") -> int:
    """Resident memory of a process (Linux /proc)."""
    with open(f"/proc/{pid}/statm") as statm:
        resident_pages = int(statm.read().split()[1])
    import resource

    return resident_pages * resource.getpagesize()


def cpu_seconds(pid: int | str = "self") -> float:
    """User + system CPU seconds a process has used so far (Linux /proc)."""
    import os

    with open(f"/proc/{pid}/stat") as stat:
        # The command name may hold spaces: fields are counted after its closing parenthesis.
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
