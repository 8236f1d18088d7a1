"""The request in progress: its id and its span, in a context variable while the Router serves it.

The Router opens a `RequestScope` around each request (`with RequestScope(group, request_id)`);
everything that happens during the request (an event emitted, a log line written by a provider
or a hook, an attempt span) finds it with `current_scope()`, without the routing code passing it
along. An error leaving the scope gets the request id (`error.request_id`, and in its text), the
request's span (when tracing is on) ends with the outcome, and (when a meter provider is set) the
request is counted by outcome with its duration.

A context variable, because a Router serves many requests at once on one event loop: each task
sees its own request. `Router.ocr()` runs on the router's own loop thread, and the variable (and
the caller's current span) travels there with the task, which copies the caller's context.
"""

from __future__ import annotations

import time
from contextvars import ContextVar, Token
from types import TracebackType
from typing import TYPE_CHECKING

from router.errors import OCRRouterError
from router.telemetry import metrics, tracing
from router.telemetry.metrics import otel_metrics
from router.telemetry.request_ids import checked_request_id, new_request_id

if TYPE_CHECKING:
    from opentelemetry.trace import Span

    from router.types import OCRResponse

_current: ContextVar[RequestScope | None] = ContextVar("ocr_router_request", default=None)


def current_scope() -> RequestScope | None:
    return _current.get()


def current_request_id() -> str | None:
    """The id of the request being served in this context, if any."""
    scope = _current.get()
    return None if scope is None else scope.request_id


class RequestScope:
    """One request's id (given and checked, or new) and span, current inside `with`."""

    __slots__ = ("_group", "_metrics", "_span", "_started", "_token", "request_id")

    def __init__(self, group: str, request_id: str | None = None) -> None:
        self.request_id = new_request_id() if request_id is None else checked_request_id(request_id)
        self._group = group
        self._span: tuple[Span, object] | None = None
        self._token: Token[RequestScope | None] | None = None
        self._metrics = otel_metrics()
        self._started = time.perf_counter() if self._metrics is not None else 0.0
        self._span = tracing.start_request_span(group, self.request_id)

    @property
    def span(self) -> Span | None:
        """The request's span, None when tracing is off."""
        return None if self._span is None else self._span[0]

    def __enter__(self) -> RequestScope:
        self._token = _current.set(self)
        return self

    def served(self, response: OCRResponse) -> OCRResponse:
        """Note who served the request (on its span), and hand the response back."""
        if self._span is not None:
            tracing.end_request_span(self._span, response.call_info, None)
            self._span = None
        if self._metrics is not None:
            self._count("success")
            self._metrics = None
        return response

    def _count(self, outcome: str) -> None:
        assert self._metrics is not None
        seconds = time.perf_counter() - self._started
        labels = (self._group, outcome)
        self._metrics.record(metrics.REQUESTS, 1, labels)
        self._metrics.record(metrics.REQUEST_DURATION, seconds, labels)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if isinstance(exc, OCRRouterError):
            exc.request_id = self.request_id
        if self._span is not None:
            tracing.end_request_span(self._span, None, exc)
            self._span = None
        if self._metrics is not None and exc is not None:
            self._count(type(exc).__name__)
        if self._token is not None:
            _current.reset(self._token)


__all__ = ["RequestScope", "current_request_id", "current_scope"]
