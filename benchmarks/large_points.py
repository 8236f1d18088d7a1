"""The large-document benchmark's worker loop, shared by every side (standard library only).

Each side (ocr-router's Router, the raw aiohttp POST, LiteLLM's Router) runs in a process of its
own and serves the parent one *point* at a time over stdin/stdout, one JSON line each way:

    -> {"size": "41", "concurrency": 4, "calls": 8}
    <- {"seconds": ..., "calls": 8, "errors": 0, "cpu_seconds": ..., "idle_rss": ..., ...}

so the parent can interleave the sides point by point (a noisy spell on the shared machine hits
all of them) while each keeps its pool warm. Memory is measured around each point: RSS after a
collection and a `malloc_trim` just before it (idle: glibc would otherwise keep the buffers of
earlier points, of up to 32 MB each, and reuse them unseen), and the highest RSS a thread
sampling `/proc/self/statm` every 5 ms saw during it (peak). CPU is the process's
(`time.process_time`: every thread). LiteLLM's venv has none of our packages: it imports this by
path.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import json
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any

import measure

Call = Callable[[], Awaitable[Any]]
SAMPLE_SECONDS = 0.005


class PeakRss:
    """The highest resident memory seen while the block runs (a sampling thread)."""

    def __init__(self) -> None:
        self.peak = measure.rss_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(SAMPLE_SECONDS):
            self.peak = max(self.peak, measure.rss_bytes())

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, measure.rss_bytes())


async def measure_point(call: Call, concurrency: int, calls: int) -> dict[str, Any]:
    """`calls` calls by `concurrency` workers: time, CPU, errors, idle and peak RSS."""
    remaining = calls
    errors: dict[str, int] = {}

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            try:
                await call()
            except Exception as error:  # counted and reported: a point with errors is void
                kind = f"{type(error).__name__}: {str(error)[:160]}"
                errors[kind] = errors.get(kind, 0) + 1

    gc.collect()
    _trim()
    idle = measure.rss_bytes()
    cpu = time.process_time()
    started = time.perf_counter()
    with PeakRss() as peak:
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "calls": calls,
        "errors": sum(errors.values()),
        "error_kinds": errors,
        "cpu_seconds": time.process_time() - cpu,
        "idle_rss": idle,
        "peak_rss": peak.peak,
    }


def _trim() -> None:
    """Give the heap's free memory back to the system (glibc), so that RSS shows what is used."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


async def serve(calls_by_size: dict[str, Call], *, warm: Call | None = None) -> None:
    """Answer the parent's points until stdin closes. `warm` (a small call) runs once first, so
    that imports, connections and caches made on first use are in the idle figure."""
    if warm is not None:
        await asyncio.gather(*(warm() for _ in range(16)))  # 16: the most concurrent points
    loop = asyncio.get_running_loop()
    print(json.dumps({"ready": True}), flush=True)
    while line := await loop.run_in_executor(None, sys.stdin.readline):
        point = json.loads(line)
        found = await measure_point(
            calls_by_size[point["size"]], point["concurrency"], point["calls"]
        )
        print(json.dumps(found), flush=True)
