"""How long a fake provider waits before answering.

Latency-aware routing and timeouts can only be tested against providers that take time. A fixed
delay, a seeded uniform range or any callable; the default is no delay, so tests stay fast.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

LatencySpec = float | tuple[float, float] | Callable[[], float] | None


class Latency:
    """The delay of each answer: `latency` seconds, uniform in `(low, high)`, or `latency()`."""

    def __init__(self, latency: LatencySpec = None, seed: int | None = None) -> None:
        self._spec = latency
        self._seed = seed
        if callable(latency):
            pass
        elif isinstance(latency, tuple):
            if len(latency) != 2 or not 0 <= latency[0] <= latency[1] < math.inf:
                raise ValueError(
                    f"latency range {latency!r} must be (low, high) with 0 <= low <= high"
                )
        elif latency is not None and not (
            isinstance(latency, (int, float)) and 0 <= latency < math.inf
        ):
            raise ValueError(f"latency {latency!r} must be a number of seconds >= 0")
        self.reset()

    def reset(self) -> None:
        # Its own generator, seeded apart from the faults', so scripts never shift the latencies.
        self._random = random.Random(f"latency-{self._seed}" if self._seed is not None else None)

    def next_delay(self) -> float:
        spec = self._spec
        if spec is None:
            return 0.0
        if callable(spec):
            delay = float(spec())
            if not 0 <= delay < math.inf:
                raise ValueError(f"the latency callable returned {delay!r}, not seconds >= 0")
            return delay
        if isinstance(spec, tuple):
            return self._random.uniform(spec[0], spec[1])
        return float(spec)


__all__ = ["Latency", "LatencySpec"]
