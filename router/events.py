"""What the router tells the outside world about each attempt: hooks and log lines.

Operators need to see *why* traffic moved (a deployment failed, was cooled, a request was retried)
without reading the router's internals, and billing needs each success with its pages and cost.
Both get the same small, secret-free `RouterEvent`. A hook is a plain callable; one that raises is
logged and ignored, because observability must never fail a request.

Logging goes to `logging.getLogger("ocr_router")`: cooldowns at INFO (they change where traffic
goes), everything else at DEBUG. No key, token or document content is ever put in an event or a
log line: errors are described by class name and status only, never by their message (a provider
may echo a request back in it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

logger = logging.getLogger("ocr_router")

EventKind = Literal["success", "failure", "retry", "cooldown"]


@dataclass(frozen=True)
class RouterEvent:
    """One thing that happened to one attempt of one request.

    `attempt` counts from 1 within the request. `error` is "ClassName status" (never a message).
    `cooldown_until` is set on "cooldown" events, on the router's clock.
    """

    kind: EventKind
    deployment_id: str
    provider: str
    group: str
    attempt: int
    latency_s: float | None = None
    pages: int | None = None
    cost_usd: float | None = None
    error: str | None = None
    cooldown_until: float | None = None
    reason: str | None = None  # short, secret-free: "3 consecutive failures", "429 Retry-After"


Hook = Callable[[RouterEvent], None]


def describe_error(error: BaseException) -> str:
    """`"ServerError 503"`: enough to act on, nothing a provider could have echoed."""
    status = getattr(error, "status_code", None)
    return f"{type(error).__name__} {status}" if status is not None else type(error).__name__


def listened(hooks: Sequence[Hook], kind: EventKind) -> bool:
    """Whether an event of `kind` would reach anyone (a hook, or the log at its level): a
    caller on the hot path builds the event only then."""
    return bool(hooks) or logger.isEnabledFor(_level(kind))


def _level(kind: EventKind) -> int:
    return logging.INFO if kind == "cooldown" else logging.DEBUG


def emit(hooks: Sequence[Hook], event: RouterEvent) -> None:
    """Log `event` and hand it to every hook; a failing hook is logged, never raised."""
    level = _level(event.kind)
    if logger.isEnabledFor(level):
        details = ", ".join(
            f"{name}={value}"
            for name, value in (
                ("attempt", event.attempt),
                ("latency_s", None if event.latency_s is None else round(event.latency_s, 4)),
                ("pages", event.pages),
                ("cost_usd", event.cost_usd),
                ("error", event.error),
                ("cooldown_until", event.cooldown_until),
                ("reason", event.reason),
            )
            if value is not None
        )
        logger.log(
            level, "%s %s (group %s): %s", event.kind, event.deployment_id, event.group, details
        )
    for hook in hooks:
        try:
            hook(event)
        except Exception:
            logger.exception("router hook %r failed on a %s event; ignored", hook, event.kind)


__all__ = ["EventKind", "Hook", "RouterEvent", "describe_error", "emit", "listened"]
