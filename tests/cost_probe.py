"""Measure what an attack costs the process serving it: peak resident memory over a block.

    with PeakRSS() as rss:
        ...                      # the attack, served by a proxy in this process
    assert rss.growth < 50 * MB

A thread samples `/proc/self/statm` every few milliseconds while the block runs, so a spike that
is freed before the block ends is still seen (the process's own high-water mark would hide any
spike lower than an earlier test's).
"""

from __future__ import annotations

import os
import threading
from types import TracebackType

MB = 1024 * 1024
_PAGE = os.sysconf("SC_PAGE_SIZE")
_SAMPLE_SECONDS = 0.002


def resident_bytes() -> int:
    with open("/proc/self/statm", "rb") as statm:
        return int(statm.read().split()[1]) * _PAGE


class PeakRSS:
    """The highest resident set size seen while the block ran, less the size at its start."""

    def __init__(self) -> None:
        self.start = 0
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    @property
    def growth(self) -> int:
        return max(self.peak - self.start, 0)

    def _sample(self) -> None:
        while not self._stop.wait(_SAMPLE_SECONDS):
            self.peak = max(self.peak, resident_bytes())

    def __enter__(self) -> PeakRSS:
        self.start = self.peak = resident_bytes()
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, resident_bytes())
