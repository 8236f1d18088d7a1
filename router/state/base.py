"""`RouterState`: the one place where everything a Router remembers between requests lives.

In flight counts, latency estimates, health (failures, cooldowns, half-open probes), usage windows
(rpm, pages per minute, the retry budget), cost totals and budget spend all go through this small
interface, so that where they are kept is a choice of deployment, not of the router's code. In
memory (`MemoryState`) one process has its own view; a shared backend (`RedisState`,
router/state/redis/) gives several router processes one view.

Why every method is synchronous: the router reads this state on every attempt (candidates,
strategy, limits), so reads must cost a dictionary lookup, not a network round trip. A shared
backend keeps a local copy (a `MemoryState`) that answers reads at once, pushes each write to the
shared store in the background (fire-and-forget: a lost increment costs a little accuracy, never a
request) and refreshes its copy from the store periodically. A Redis outage then degrades to local
state instead of failing requests: shared state is an optimisation, never a dependency.

Times are the router's clock (`time.time` by default: a wall clock, so that records can be shared
between processes and machines).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol, runtime_checkable

HealthStatus = str  # "healthy", "cooling" or "half-open"


@dataclass(frozen=True)
class HealthRecord:
    """What the circuit breaker knows about one deployment. No record means healthy.

    `cooldown_until` is None while the deployment has not been cooled; once it has passed, the
    deployment is half-open and `probes_in_flight` counts the requests testing it.
    """

    consecutive_failures: int = 0
    cooldown_until: float | None = None
    cooldown_seconds: float = 0.0  # the length of the last cooldown, doubled on a failed probe
    reason: str | None = None  # why it was cooled: "401 AuthenticationError", "429 Retry-After"
    probes_in_flight: int = 0


@dataclass(frozen=True)
class WindowTotals:
    """Requests and pages counted in a time window, and when its oldest count expires."""

    requests: int = 0
    pages: int = 0
    oldest: float | None = None  # the time of the oldest count still in the window


@dataclass(frozen=True)
class CostTotals:
    """Successful requests, pages processed and their exact price (USD) for one ledger key."""

    requests: int = 0
    pages: int = 0
    usd: Decimal = Decimal(0)
    priced: bool = True  # False when some successes had no known price


class RouterState(Protocol):
    """The router's memory. Keys are deployment ids unless said otherwise."""

    # Load, read by strategies (this is the `LoadView` protocol of router/strategies/base.py).
    def in_flight(self, deployment_id: str) -> int: ...

    def seconds_per_page(self, deployment_id: str) -> float | None: ...

    def add_in_flight(self, deployment_id: str, delta: int) -> None: ...

    def observe_latency(self, deployment_id: str, seconds_per_page: float, now: float) -> None:
        """A success took `seconds_per_page` per page."""
        ...

    def observe_failure(self, deployment_id: str, now: float) -> None:
        """A failure: counted as a slow sample, so the latency estimate steers traffic away."""
        ...

    # Health (the logic is in router/health.py; this only keeps the records).
    def health_record(self, deployment_id: str) -> HealthRecord | None: ...

    def set_health_record(self, deployment_id: str, record: HealthRecord | None) -> None: ...

    # Sliding windows of counts: rpm, pages per minute and the retry budget (any string key).
    def add_to_window(self, key: str, now: float, requests: int, pages: int = 0) -> None: ...

    def window_totals(self, key: str, now: float, window_seconds: float) -> WindowTotals: ...

    # The cost ledger (any string key: "deployment:<id>", "group:<name>", "provider:<name>") and
    # budget spend (a key per budget and period).
    def add_cost(self, keys: tuple[str, ...], pages: int, usd: Decimal | None) -> None: ...

    def cost_totals(self) -> dict[str, CostTotals]: ...

    def add_spend(self, key: str, usd: Decimal) -> None: ...

    def spend(self, key: str) -> Decimal: ...


@runtime_checkable
class ExactWindows(Protocol):
    """What a shared state adds so that quotas hold across processes (router/state/redis/).

    A local check then add cannot hold an `rpm` quota across processes: two of them may both see
    the last free slot. A state that has `reserve_window` checks and adds in one atomic step;
    the router awaits it once per attempt on a deployment with a quota (the one round trip a
    request may wait on), instead of adding to the window with `add_to_window`.
    """

    async def reserve_window(
        self,
        key: str,
        now: float,
        requests: int,
        pages: int,
        *,
        max_requests: int | None,
        max_pages: int | None,
        window_seconds: float,
    ) -> bool:
        """Add to the window unless that would break a maximum; whether it was added."""
        ...


__all__ = [
    "CostTotals",
    "ExactWindows",
    "HealthRecord",
    "HealthStatus",
    "RouterState",
    "WindowTotals",
]
