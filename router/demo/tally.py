"""What the demo counts: each deployment's attempts (from the Router's hooks) and each request's
outcome (from what `aocr` returned or raised).

The two views differ on purpose: a deployment may fail an attempt that the request survives on
another deployment. Showing both is what makes the failover visible.
"""

from __future__ import annotations

import statistics
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from router.events import RouterEvent
from router.types import OCRResponse

RECENT_LATENCIES = 50  # successes the live p50 is taken over: recent enough to show a change


@dataclass(frozen=True)
class Cooldown:
    """One cooldown the router imposed, in seconds since the demo started."""

    deployment_id: str
    at_s: float
    until_s: float | None
    reason: str | None


@dataclass
class DeploymentTally:
    """Attempts one deployment received and how they ended."""

    sent: int = 0
    succeeded: int = 0
    failures: Counter[str] = field(default_factory=Counter)  # by kind: "503", "429", ...
    pages: int = 0
    cost_usd: float = 0.0
    recent_latencies_s: deque[float] = field(default_factory=lambda: deque(maxlen=RECENT_LATENCIES))
    all_latencies_s: list[float] = field(default_factory=list)
    cooldowns: int = 0
    success_times_s: list[float] = field(default_factory=list)  # since the demo started

    @property
    def failed(self) -> int:
        return sum(self.failures.values())

    @property
    def recent_p50_ms(self) -> float | None:
        return _median_ms(self.recent_latencies_s)

    @property
    def p50_ms(self) -> float | None:
        return _median_ms(self.all_latencies_s)


def _median_ms(latencies: deque[float] | list[float]) -> float | None:
    return statistics.median(latencies) * 1000 if latencies else None


def failure_kind(error_label: str | None) -> str:
    """`"ServerError 503"` -> `"503"`; a failure without a status keeps its class name,
    without the `Error` suffix (`"RequestTimeoutError"` -> `"RequestTimeout"`)."""
    if not error_label:
        return "error"
    status = error_label.rpartition(" ")[2]
    if status.isdigit():
        return status
    return error_label.removesuffix("Error") or "error"


class Tally:
    """Counts per deployment (a Router hook) and per request.

    `elapsed` gives seconds since the demo started (dates successes and cooldowns);
    `router_clock` is the Router's clock, which `cooldown_until` is on.
    """

    def __init__(
        self,
        deployment_ids: list[str],
        elapsed: Callable[[], float | None],
        router_clock: Callable[[], float] = time.time,
    ) -> None:
        self.deployments = {deployment_id: DeploymentTally() for deployment_id in deployment_ids}
        self._elapsed = elapsed
        self._router_clock = router_clock
        self.sent = 0
        self.succeeded = 0
        self.failed = 0
        self.request_failures: Counter[str] = Counter()  # final errors, by class name
        self.failovers = 0  # requests that succeeded after more than one attempt
        self.retries = 0  # attempts after the first (the router's retry events)
        self.pages = 0
        self.cost_usd = 0.0
        self.cooldowns: list[Cooldown] = []

    @property
    def done(self) -> int:
        return self.succeeded + self.failed

    @property
    def in_flight(self) -> int:
        return self.sent - self.done

    @property
    def success_rate(self) -> float:
        return self.succeeded / self.done if self.done else 1.0

    def _now(self) -> float:
        return self._elapsed() or 0.0

    def __call__(self, event: RouterEvent) -> None:
        """The Router hook: one attempt's outcome, or a cooldown."""
        tally = self.deployments.setdefault(event.deployment_id, DeploymentTally())
        if event.kind == "success":
            tally.sent += 1
            tally.succeeded += 1
            tally.pages += event.pages or 0
            tally.cost_usd += event.cost_usd or 0.0
            tally.success_times_s.append(self._now())
            if event.latency_s is not None:
                tally.recent_latencies_s.append(event.latency_s)
                tally.all_latencies_s.append(event.latency_s)
        elif event.kind == "failure":
            tally.sent += 1
            tally.failures[failure_kind(event.error)] += 1
        elif event.kind == "retry":
            self.retries += 1
        elif event.kind == "cooldown":
            tally.cooldowns += 1
            started = self._now()
            until = None
            if event.cooldown_until is not None:  # on the router's clock: convert to elapsed
                until = started + max(0.0, event.cooldown_until - self._router_clock())
            self.cooldowns.append(Cooldown(event.deployment_id, started, until, event.reason))

    def request_sent(self) -> None:
        self.sent += 1

    def request_succeeded(self, response: OCRResponse) -> None:
        self.succeeded += 1
        info = response.call_info
        if len(info.attempts) > 1:
            self.failovers += 1
        self.pages += info.pages or 0
        self.cost_usd += info.cost_usd or 0.0

    def request_failed(self, kind: str) -> None:
        self.failed += 1
        self.request_failures[kind] += 1

    def first_success_after(self, deployment_id: str, after_s: float) -> float | None:
        """When `deployment_id` first served a request at or after `after_s` (seconds since the
        demo started), or None if it never did."""
        tally = self.deployments.get(deployment_id)
        times = [t for t in (tally.success_times_s if tally else []) if t >= after_s]
        return min(times) if times else None


__all__ = ["RECENT_LATENCIES", "Cooldown", "DeploymentTally", "Tally", "failure_kind"]
