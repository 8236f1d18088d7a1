"""The retry policy: which failures are retried, how long to wait, and the retry budget.

Retrying turns a provider's bad second into a success, but careless retries do harm:

- Retrying the same failing deployment when a healthy one is idle wastes the caller's deadline,
  so the router retries on another deployment *at once* when it can (see `Router`), and backs
  off only when every usable deployment has already failed this request.
- Retrying without a pause hammers a provider that is struggling, so that backoff is exponential
  with full jitter (tenacity's `wait_random_exponential`): spread out, never in lockstep.
- Retrying a request that is wrong (400, 422) cannot succeed anywhere; it fails at once.
- During an outage every request retries, multiplying traffic exactly when providers can least
  take it (a retry storm). A retry *budget* (tower's `retry::budget`) caps retries at a fraction of
  recent requests, `retry_budget_ratio` of those in the last `retry_budget_window` seconds, plus a
  floor of `retry_budget_min_per_second` so that a quiet router can still retry. When it is
  spent, a request fails with its last error instead of retrying.

Tests switch backoff sleeps off (as stamina does) with `instant_backoff()` or `set_testing(True)`:
the policy is unchanged, only the sleeping is skipped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

from tenacity import wait_random_exponential

from router.errors import ConfigError, Cooldown, OCRRouterError
from router.state.base import RouterState

_REQUESTS_KEY = "retry-budget:requests"
_RETRIES_KEY = "retry-budget:retries"

_testing = False


def set_testing(on: bool) -> None:
    """Make every backoff sleep instant (for test suites), or restore real sleeps."""
    global _testing
    _testing = on


def is_testing() -> bool:
    return _testing


@contextmanager
def instant_backoff() -> Iterator[None]:
    """Within this block, backoff sleeps return at once (the retry decisions are unchanged)."""
    previous = _testing
    set_testing(True)
    try:
        yield
    finally:
        set_testing(previous)


async def backoff_sleep(seconds: float) -> None:
    """The sleep between retries (tenacity's `sleep=`); instant while testing."""
    await asyncio.sleep(0 if _testing else seconds)


def worth_retrying(error: BaseException) -> bool:
    """Whether another attempt (on this or another deployment) may succeed.

    Besides the errors marked retryable (5xx, timeouts, resets, 429), an error that condemns one
    deployment (401/403/404: its key or endpoint is wrong) is worth a try on another one; the
    router never sends the request back to the deployment that raised it while cooled.
    """
    if not isinstance(error, OCRRouterError) or error.every_deployment_refused:
        return False
    if isinstance(error, ConfigError):
        return True  # raised while sending: this deployment's settings, not the request
    return error.retryable or error.cooldown in (Cooldown.LONG, Cooldown.RETRY_AFTER)


def backoff(initial: float, maximum: float) -> wait_random_exponential:
    """Full-jitter exponential backoff: a random wait in [0, min(maximum, initial * 2**n)]."""
    return wait_random_exponential(multiplier=initial, max=maximum)


class RetryBudget:
    """Retries allowed in a window: `min_per_second * window + ratio * requests in the window`.

    Defaults (RouterSettings): ratio 0.2 (an outage adds at most a fifth to the traffic), a floor
    of 1 per second, over 10 s (long enough to smooth bursts, short enough to recover quickly).
    """

    def __init__(
        self, state: RouterState, *, ratio: float, min_per_second: float, window: float
    ) -> None:
        self._state = state
        self.ratio = ratio
        self.min_per_second = min_per_second
        self.window = window

    def deposit(self, now: float) -> None:
        """A new request arrived: it earns `ratio` of a retry."""
        self._state.add_to_window(_REQUESTS_KEY, now, 1)

    def withdraw(self, now: float) -> bool:
        """Take one retry from the budget; False (and nothing taken) when it is spent."""
        requests = self._state.window_totals(_REQUESTS_KEY, now, self.window).requests
        retries = self._state.window_totals(_RETRIES_KEY, now, self.window).requests
        allowed = self.min_per_second * self.window + self.ratio * requests
        if retries + 1 > allowed:
            return False
        self._state.add_to_window(_RETRIES_KEY, now, 1)
        return True


__all__ = [
    "RetryBudget",
    "backoff",
    "backoff_sleep",
    "instant_backoff",
    "is_testing",
    "set_testing",
    "worth_retrying",
]
