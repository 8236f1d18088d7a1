"""`MemoryState`: the router's memory in this process, bounded by cachetools.

The default: no setup, nothing shared. Every table is a bounded cache so that a router that sees
many keys over a long life (deployments come and go, budgets roll over periods) cannot grow
without limit; the bounds are far above any real configuration, so nothing live is evicted.

Health records live in a `TTLCache`: a failure streak or a cooldown record that has not been
touched for `record_ttl` seconds is forgotten (the deployment is healthy again), so one failure
an hour never adds up to a cooldown. The default TTL (1 hour) is longer than any default cooldown
(`max_cooldown_time` is 10 minutes), so no live cooldown expires early.

Usage windows count in 1-second buckets: each count is stamped with the *next* whole second, so
it leaves a window up to one second late, never early: a deployment is held at or under its quota.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from cachetools import LRUCache, TTLCache

from router.state.base import CostTotals, HealthRecord, WindowTotals
from router.strategies.peak_ewma import PeakEwma, failure_penalty

DEFAULT_MAX_KEYS = 10_000  # deployments, windows or budget periods: far above any real config
DEFAULT_RECORD_TTL = 3600.0  # forget a health record untouched for an hour
LATENCY_DECAY_SECONDS = 10.0  # peak-EWMA memory: recent enough to follow a slowdown in seconds


class MemoryState:
    """Everything a Router remembers, in this process. Implements `RouterState` and `LoadView`."""

    def __init__(
        self,
        *,
        max_keys: int = DEFAULT_MAX_KEYS,
        record_ttl: float = DEFAULT_RECORD_TTL,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._clock = clock
        self._in_flight: dict[str, int] = {}
        self._latency: LRUCache[str, PeakEwma] = LRUCache(max_keys)
        self._health: TTLCache[str, HealthRecord] = TTLCache(max_keys, record_ttl, timer=clock)
        # key -> deque of [bucket second, requests, pages], oldest first
        self._windows: LRUCache[str, deque[list[int]]] = LRUCache(max_keys)
        # key -> [requests, pages, usd, priced], added to in place (one call adds to four keys)
        self._costs: dict[str, list[Any]] = {}
        self._spend: LRUCache[str, Decimal] = LRUCache(max_keys)

    # load
    def in_flight(self, deployment_id: str) -> int:
        return self._in_flight.get(deployment_id, 0)

    def add_in_flight(self, deployment_id: str, delta: int) -> None:
        count = self._in_flight.get(deployment_id, 0) + delta
        if count > 0:
            self._in_flight[deployment_id] = count
        else:
            self._in_flight.pop(deployment_id, None)

    def seconds_per_page(self, deployment_id: str) -> float | None:
        estimator = self._latency.get(deployment_id)
        return None if estimator is None else estimator.estimate(self._clock())

    def observe_latency(self, deployment_id: str, seconds_per_page: float, now: float) -> None:
        self._estimator(deployment_id).observe(seconds_per_page, now)

    def observe_failure(self, deployment_id: str, now: float) -> None:
        estimator = self._estimator(deployment_id)
        estimator.observe(failure_penalty(estimator.estimate(now)), now)

    def _estimator(self, deployment_id: str) -> PeakEwma:
        estimator = self._latency.get(deployment_id)
        if estimator is None:
            estimator = self._latency[deployment_id] = PeakEwma(decay_seconds=LATENCY_DECAY_SECONDS)
        return estimator

    # health
    def health_record(self, deployment_id: str) -> HealthRecord | None:
        return self._health.get(deployment_id)

    def set_health_record(self, deployment_id: str, record: HealthRecord | None) -> None:
        if record is None:
            self._health.pop(deployment_id, None)
        else:
            self._health[deployment_id] = record

    # windows
    def add_to_window(self, key: str, now: float, requests: int, pages: int = 0) -> None:
        buckets = self._windows.get(key)
        if buckets is None:
            buckets = self._windows[key] = deque()
        second = math.floor(now) + 1
        if buckets and buckets[-1][0] == second:
            buckets[-1][1] += requests
            buckets[-1][2] += pages
        else:
            buckets.append([second, requests, pages])

    def window_totals(self, key: str, now: float, window_seconds: float) -> WindowTotals:
        buckets = self._windows.get(key)
        if not buckets:
            return WindowTotals()
        while buckets and buckets[0][0] + window_seconds <= now:
            buckets.popleft()
        if not buckets:
            return WindowTotals()
        return WindowTotals(
            requests=sum(bucket[1] for bucket in buckets),
            pages=sum(bucket[2] for bucket in buckets),
            oldest=float(buckets[0][0]),
        )

    # cost
    def add_cost(self, keys: tuple[str, ...], pages: int, usd: Decimal | None) -> None:
        for key in keys:
            totals = self._costs.get(key)
            if totals is None:
                totals = self._costs[key] = [0, 0, Decimal(0), True]
            totals[0] += 1
            totals[1] += pages
            if usd is None:
                totals[3] = False
            else:
                totals[2] += usd

    def cost_totals(self) -> dict[str, CostTotals]:
        return {
            key: CostTotals(requests=r, pages=p, usd=usd, priced=priced)
            for key, (r, p, usd, priced) in self._costs.items()
        }

    def add_spend(self, key: str, usd: Decimal) -> None:
        self._spend[key] = self._spend.get(key, Decimal(0)) + usd

    def spend(self, key: str) -> Decimal:
        return self._spend.get(key, Decimal(0))


__all__ = ["MemoryState"]
