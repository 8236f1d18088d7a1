"""What the router tells the outside world about each attempt: hooks and log lines.

Operators need to see *why* traffic moved (a deployment failed, was cooled, a request was retried)
without reading the router's internals, and billing needs each success with its pages and cost.
Both get the same small, secret-free `RouterEvent`. A hook is a plain callable; one that raises is
logged and ignored, because observability must never fail a request. A hook may also be `async def`
(a metrics push, a queue): its coroutine runs as a task of the router's loop, so the request never
waits for it; `Router.aclose()` waits (a few seconds at most) for those still running, so closing
does not drop the last events.

Every event names its request (`request_id`): a failure, the retry after it and the success on
another deployment read as one story. The request's span (router/telemetry/tracing.py) gets a
child span per attempt from the same events, when tracing is on, and OpenTelemetry's meter
the same increments as the proxy's Prometheus metrics (router/telemetry/metrics.py).

Logging goes to `logging.getLogger("ocr_router.router")`: failures, retries and cooldowns at INFO
(they change where traffic goes), successes at DEBUG; each line carries the event's fields as
`extra` (request_id, deployment_id, error_type, ...) for structured logs (router/telemetry/logs.py).
No key, token or document content is ever put in an event or a log line: errors are described by
class name and status only, never by their message (a provider may echo a request back in it).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from router.telemetry import tracing
from router.telemetry.metrics import otel_metrics
from router.telemetry.scope import current_scope

logger = logging.getLogger("ocr_router.router")

EventKind = Literal["success", "failure", "retry", "cooldown"]


@dataclass(frozen=True)
class RouterEvent:
    """One thing that happened to one attempt of one request.

    `attempt` counts from 1 within the request. `error` is "ClassName status" (never a message).
    `cooldown_until` is set on "cooldown" events, on the router's clock. `request_id` is the
    request's (the same on all its events); `model` the deployment's, as configured
    ("mistral/mistral-ocr-latest").
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
    request_id: str | None = None
    model: str | None = None

    @property
    def error_type(self) -> str | None:
        """The error's class name ("ServerError"): what an operator alerts on."""
        return None if self.error is None else self.error.split(" ", 1)[0]


Hook = Callable[[RouterEvent], Awaitable[None] | None]

HOOK_CLOSE_WAIT_S = 5.0  # how long closing a router waits for async hooks still running

# Async hooks' tasks still running (a task is only weakly held by its loop: keep it alive here).
_running: set[asyncio.Task[None]] = set()


def describe_error(error: BaseException) -> str:
    """`"ServerError 503"`: enough to act on, nothing a provider could have echoed."""
    status = getattr(error, "status_code", None)
    return f"{type(error).__name__} {status}" if status is not None else type(error).__name__


def listened(hooks: Sequence[Hook], kind: EventKind) -> bool:
    """Whether an event of `kind` would reach anyone (a hook, the log at its level, the
    request's span): a caller on the hot path builds the event only then."""
    if hooks or logger.isEnabledFor(_level(kind)):
        return True
    scope = current_scope()
    return (scope is not None and scope.span is not None) or otel_metrics() is not None


def _level(kind: EventKind) -> int:
    return logging.DEBUG if kind == "success" else logging.INFO


def emit(hooks: Sequence[Hook], event: RouterEvent) -> None:
    """Log `event`, add it to the request's span and hand it to every hook; a failing hook is
    logged, never raised."""
    level = _level(event.kind)
    if logger.isEnabledFor(level):
        _log(level, event)
    scope = current_scope()
    span = None if scope is None else scope.span
    if span is not None:
        try:
            tracing.record_event(span, event)
        except Exception:
            logger.exception("recording a %s event on its span failed; ignored", event.kind)
    otel = otel_metrics()
    if otel is not None:
        try:
            otel.record_event(event)
        except Exception:
            logger.exception("recording a %s event's metrics failed; ignored", event.kind)
    for hook in hooks:
        try:
            result = hook(event)
        except Exception:
            _hook_failed(hook, event)
            continue
        if inspect.isawaitable(result):
            _start(hook, event, result)


def _log(level: int, event: RouterEvent) -> None:
    latency = None if event.latency_s is None else round(event.latency_s, 4)
    fields: dict[str, Any] = {
        "attempt": event.attempt,
        "latency_s": latency,
        "pages": event.pages,
        "cost_usd": event.cost_usd,
        "error": event.error,
        "cooldown_until": event.cooldown_until,
        "reason": event.reason,
    }
    details = ", ".join(f"{name}={value}" for name, value in fields.items() if value is not None)
    extra = {
        "request_id": event.request_id,
        "event": event.kind,
        "deployment_id": event.deployment_id,
        "group": event.group,
        "provider": event.provider,
        "attempt": event.attempt,
        "error_type": event.error_type,
        "latency_s": latency,
        "pages": event.pages,
        "cost_usd": event.cost_usd,
        "cooldown_until": event.cooldown_until,
        "reason": event.reason,
    }
    logger.log(
        level,
        "%s %s (group %s) request %s: %s",
        event.kind,
        event.deployment_id,
        event.group,
        event.request_id or "-",
        details,
        extra=extra,
    )


def _start(hook: Hook, event: RouterEvent, awaitable: Awaitable[Any]) -> None:
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # emitted outside a loop (never by the Router): nothing can run it
        if inspect.iscoroutine(awaitable):
            awaitable.close()
        logger.warning("async router hook %r called outside an event loop; skipped", hook)
        return
    task = loop.create_task(_run(hook, event, awaitable))
    _running.add(task)
    task.add_done_callback(_running.discard)


async def _run(hook: Hook, event: RouterEvent, awaitable: Awaitable[Any]) -> None:
    try:
        await awaitable
    except Exception:
        _hook_failed(hook, event)


def _hook_failed(hook: Hook, event: RouterEvent) -> None:
    """Log the exception being handled: a hook, sync or async, that failed on `event`."""
    logger.exception(
        "router hook %r failed on a %s event of request %s; ignored",
        hook,
        event.kind,
        event.request_id or "-",
        extra={"request_id": event.request_id, "event": event.kind},
    )


async def finish_hooks(timeout: float = HOOK_CLOSE_WAIT_S) -> None:
    """Wait up to `timeout` s for the async hooks started on this loop; cancel the rest."""
    loop = asyncio.get_running_loop()
    mine = [task for task in _running if task.get_loop() is loop]
    if not mine:
        return
    _, late = await asyncio.wait(mine, timeout=timeout)
    for task in late:
        logger.warning("router hook still running after %.0f s at close; cancelled", timeout)
        task.cancel()


__all__ = [
    "HOOK_CLOSE_WAIT_S",
    "EventKind",
    "Hook",
    "RouterEvent",
    "describe_error",
    "emit",
    "finish_hooks",
    "listened",
]
