"""Cooldowns and circuit breaking: keep traffic away from a deployment that is failing.

Sending to a deployment that just failed wastes the caller's deadline and hammers a provider that
is already in trouble; never sending to it again loses capacity for good. So a deployment that
fails is *cooled* (no traffic) for a while, then *half-open*: a few probe requests (at most
`half_open_probes` at a time) decide whether it is healthy again (a probe succeeds: every count
is reset) or cooled again for twice as long as before, capped at `max_cooldown_time`.

What cools a deployment follows the error's `cooldown` (router/errors.py):

- `LONG` (401/403/404): credentials or endpoint are wrong; cooled at once for
  `auth_cooldown_time`, since retrying in seconds cannot fix a key.
- `RETRY_AFTER` (429): cooled until the provider's `Retry-After` (for `cooldown_time` when it
  gave none), never longer than `max_cooldown_time`: `Retry-After: 999999` (11.6 days) or
  `1e300` (for ever) would take a deployment out of service on one answer's say. A later,
  longer Retry-After extends the cooldown; a shorter one never shortens it (LiteLLM lets the
  first deadline stand, and sends too early).
- `ON_REPEAT` (5xx, timeouts, resets, garbage): cooled for `cooldown_time` after `allowed_fails`
  consecutive failures; one blip is not worth losing a deployment for.
- `NONE` (400, 422): the request was wrong, not the deployment; no effect.

A `ConfigError` raised while sending (unreadable credentials, a missing optional package) is
about one deployment's settings, so it counts as `LONG` too.

Any error that carries a `retry_after` keeps the deployment out until then, whatever its kind.
A request that was already in flight when the deployment was cooled cannot end the cooldown by
succeeding: only a probe sent after the cooldown can.

The records live in the router's state (router/state/), so this module is pure policy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from router.errors import ConfigError, Cooldown, OCRRouterError
from router.events import describe_error
from router.state.base import HealthRecord, HealthStatus, RouterState


@dataclass(frozen=True)
class Availability:
    """Whether a deployment may be sent a request now, and if not, why and until when."""

    status: HealthStatus  # "healthy", "cooling" or "half-open"
    usable: bool
    until: float | None = None  # when a cooling deployment becomes half-open
    reason: str | None = None
    consecutive_failures: int = 0
    probes_in_flight: int = 0


_HEALTHY = Availability(status="healthy", usable=True)


def cooldown_of(error: OCRRouterError) -> Cooldown:
    """How `error` cools the deployment that raised it."""
    return Cooldown.LONG if isinstance(error, ConfigError) else error.cooldown


@dataclass(frozen=True)
class HealthPolicy:
    """The circuit breaker's settings (defaults are `RouterSettings`'s, see router/config)."""

    allowed_fails: int = 3
    cooldown_time: float = 30.0
    auth_cooldown_time: float = 300.0
    max_cooldown_time: float = 600.0
    half_open_probes: int = 1


class CircuitBreaker:
    """Decides, from the records in `state`, which deployments may be sent traffic."""

    def __init__(self, state: RouterState, policy: HealthPolicy) -> None:
        self._state = state
        self.policy = policy

    def availability(self, deployment_id: str, now: float) -> Availability:
        record = self._state.health_record(deployment_id)
        if record is None:
            return _HEALTHY
        if record.cooldown_until is None:
            return Availability(
                status="healthy", usable=True, consecutive_failures=record.consecutive_failures
            )
        if now < record.cooldown_until:
            return Availability(
                status="cooling",
                usable=False,
                until=record.cooldown_until,
                reason=record.reason,
                consecutive_failures=record.consecutive_failures,
            )
        return Availability(
            status="half-open",
            usable=record.probes_in_flight < self.policy.half_open_probes,
            reason=record.reason,
            consecutive_failures=record.consecutive_failures,
            probes_in_flight=record.probes_in_flight,
        )

    def begin(self, deployment_id: str, now: float) -> bool:
        """A request is about to be sent; True when it is a half-open probe (its slot is taken)."""
        record = self._state.health_record(deployment_id)
        if record is None or record.cooldown_until is None or now < record.cooldown_until:
            return False
        self._state.set_health_record(
            deployment_id, replace(record, probes_in_flight=record.probes_in_flight + 1)
        )
        return True

    def record_success(self, deployment_id: str, now: float, *, probe: bool) -> None:
        record = self._state.health_record(deployment_id)
        if record is None:
            return
        if record.cooldown_until is None or (probe and now >= record.cooldown_until):
            self._state.set_health_record(deployment_id, None)
        # else: a request sent before the (re)cooling says nothing about the deployment now.

    def release_probe(self, deployment_id: str) -> None:
        """A probe ended without a verdict (cancelled, or the request itself was wrong)."""
        record = self._state.health_record(deployment_id)
        if record is not None and record.probes_in_flight > 0:
            self._state.set_health_record(
                deployment_id, replace(record, probes_in_flight=record.probes_in_flight - 1)
            )

    def record_failure(
        self, deployment_id: str, error: OCRRouterError, now: float, *, probe: bool
    ) -> float | None:
        """Count a failure; returns the new `cooldown_until` when it cooled (or extended) it."""
        kind = cooldown_of(error)
        if kind is Cooldown.NONE and error.retry_after is None:
            if probe:
                self.release_probe(deployment_id)
            return None
        record = self._state.health_record(deployment_id) or HealthRecord()
        if probe and record.cooldown_until is not None and now < record.cooldown_until:
            probe = False  # another probe already failed and re-cooled it: one verdict is enough
        failures = record.consecutive_failures + 1
        label = describe_error(error)
        policy = self.policy
        until: float | None = None
        reason = record.reason
        period = record.cooldown_seconds
        if probe:
            period = max(
                min(record.cooldown_seconds * 2, policy.max_cooldown_time), self._base(error)
            )
            until, reason = now + period, f"half-open probe failed ({label})"
        elif kind is Cooldown.LONG:
            period = policy.auth_cooldown_time
            until, reason = now + period, label
        elif kind is Cooldown.RETRY_AFTER:
            period = self._base(error)
            until = now + period
            reason = (
                f"{label} (Retry-After {period:g}s)"
                if self.retry_after_of(error) is not None
                else label
            )
        elif (
            kind is Cooldown.ON_REPEAT
            and failures >= policy.allowed_fails
            and record.cooldown_until is None
        ):
            period = policy.cooldown_time
            until, reason = now + period, f"{failures} consecutive failures ({label})"
        wait = self.retry_after_of(error)
        if wait is not None and (until is None or until < now + wait):
            until = now + wait
            reason = f"{label} (Retry-After {wait:g}s)"
            period = max(period, wait)
        current = record.cooldown_until
        cooled = until is not None and (current is None or until > current or probe)
        if cooled:
            record = HealthRecord(
                consecutive_failures=failures,
                cooldown_until=until,
                cooldown_seconds=period,
                reason=reason,
                probes_in_flight=0,
            )
        else:
            # Never shorten a cooldown: a shorter Retry-After leaves the later deadline standing.
            probes = record.probes_in_flight - 1 if probe else record.probes_in_flight
            record = replace(record, consecutive_failures=failures, probes_in_flight=max(probes, 0))
        self._state.set_health_record(deployment_id, record)
        return until if cooled else None

    def _base(self, error: OCRRouterError) -> float:
        """The first cooldown an error earns."""
        kind = cooldown_of(error)
        if kind is Cooldown.LONG:
            return self.policy.auth_cooldown_time
        wait = self.retry_after_of(error)
        if kind is Cooldown.RETRY_AFTER and wait is not None:
            return wait
        return self.policy.cooldown_time

    def retry_after_of(self, error: OCRRouterError) -> float | None:
        """The error's Retry-After, capped at `max_cooldown_time`; non-finite counts as absent."""
        wait = error.retry_after
        if wait is None or not math.isfinite(wait):
            return None
        return min(max(wait, 0.0), self.policy.max_cooldown_time)


__all__ = ["Availability", "CircuitBreaker", "HealthPolicy", "cooldown_of"]
