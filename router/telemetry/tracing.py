"""OpenTelemetry spans: one per request (`ocr_router.request`), one per attempt inside it
(`ocr_router.attempt`), and `shard_span` for work a caller splits into pieces.

Traces are the optional extra `otel` (opentelemetry-api), on once a tracer provider is set (the
SDK's, exporting to a collector: README "Traces"). Without the package, or without a provider,
nothing of OpenTelemetry is imported or paid: the API is looked up in `sys.modules` (a program
that set a provider has imported it), so a request costs a dictionary lookup and no span.

An attempt's span is made when its event is emitted (router/events.py), from the event itself:
it starts at the event's time minus the attempt's latency. The routing code thus knows nothing
of tracing; the price is that the attempt span is not the current span during the provider call
(an HTTP client instrumentation's span becomes a child of the request span, beside it).

Attributes follow OpenTelemetry's GenAI conventions where they name the thing
(`gen_ai.operation.name` "ocr", `gen_ai.provider.name`, `gen_ai.request.model`, `error.type`);
the rest is under `ocr_router.` (request id, group, deployment id, attempt, pages, cost,
outcome). Never a key, a token or document content: an error is its class and status, as in
events, never its message.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
import time
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opentelemetry.trace import Span, Tracer

    from router.events import RouterEvent
    from router.types import CallInfo

REQUEST_SPAN = "ocr_router.request"
ATTEMPT_SPAN = "ocr_router.attempt"
SHARD_SPAN = "ocr_router.shard"

# Our provider names as the GenAI conventions' well-known `gen_ai.provider.name` values.
GEN_AI_PROVIDER = {
    "mistral": "mistral_ai",
    "azure_ai": "azure.ai.inference",
    "vertex_ai": "gcp.vertex_ai",
}

MAX_GROUP_LENGTH = 256

_tracer_cache: tuple[object, Tracer] | None = None


def tracer() -> Tracer | None:
    """ocr-router's tracer, or None when OpenTelemetry is not imported or no provider is set."""
    global _tracer_cache
    trace = sys.modules.get("opentelemetry.trace")
    if trace is None:
        return None
    provider = trace.get_tracer_provider()
    if isinstance(provider, trace.ProxyTracerProvider | trace.NoOpTracerProvider):
        return None
    cached = _tracer_cache
    if cached is not None and cached[0] is provider:
        return cached[1]
    from router import __version__

    found: Tracer = provider.get_tracer("ocr_router", __version__)
    _tracer_cache = (provider, found)
    return found


def start_request_span(group: str, request_id: str) -> tuple[Span, object] | None:
    """The request's span, made current (the caller's current span is its parent), and the token
    that `end_request_span` detaches; None when tracing is off."""
    found = tracer()
    if found is None:
        return None
    from opentelemetry import context, trace

    span = found.start_span(
        REQUEST_SPAN,
        attributes={
            "gen_ai.operation.name": "ocr",
            "ocr_router.request_id": request_id,
            # The name the caller asked for, maybe no group at all: bounded.
            "ocr_router.group": group[:MAX_GROUP_LENGTH],
        },
    )
    return span, context.attach(trace.set_span_in_context(span))


def end_request_span(
    started: tuple[Span, object], info: CallInfo | None, error: BaseException | None
) -> None:
    """End the request's span with its outcome: who served it and at what cost, or the error."""
    from opentelemetry import context
    from opentelemetry.trace import StatusCode

    span, token = started
    context.detach(token)  # type: ignore[arg-type]  # the token `attach` returned
    if info is not None:
        span.set_attributes(_served(info))
        span.set_attribute("ocr_router.outcome", "success")
    elif error is not None:
        span.set_attribute("ocr_router.outcome", "failure")
        span.set_attribute("error.type", type(error).__name__)
        span.set_status(StatusCode.ERROR, _describe(error))
    span.end()


def record_event(parent: Span, event: RouterEvent) -> None:
    """An attempt's span from its success or failure event; retries and cooldowns as events of
    the request's span."""
    found = tracer()
    if found is None:
        return
    if event.kind in ("success", "failure"):
        _attempt_span(found, _innermost(parent), event)
    elif event.kind == "retry":
        parent.add_event(
            "ocr_router.retry",
            _clean(
                {
                    "ocr_router.attempt": event.attempt,
                    "ocr_router.deployment.id": event.deployment_id,
                    "error.type": event.error_type,
                }
            ),
        )
    elif event.kind == "cooldown":
        parent.add_event(
            "ocr_router.cooldown",
            _clean(
                {
                    "ocr_router.deployment.id": event.deployment_id,
                    "ocr_router.cooldown_until": event.cooldown_until,
                    "ocr_router.cooldown_reason": event.reason,
                }
            ),
        )


def _innermost(request_span: Span) -> Span:
    """The current span when it belongs to the request's trace (a shard's span, while the
    router serves that shard: its attempts are its children), else the request's span."""
    from opentelemetry import trace

    current = trace.get_current_span()
    same_trace = current.get_span_context().trace_id == request_span.get_span_context().trace_id
    return current if current.get_span_context().is_valid and same_trace else request_span


def _attempt_span(found: Tracer, parent: Span, event: RouterEvent) -> None:
    from opentelemetry import trace
    from opentelemetry.trace import SpanKind, StatusCode

    end = time.time_ns()
    start = end - int((event.latency_s or 0.0) * 1e9)
    span = found.start_span(
        ATTEMPT_SPAN,
        context=trace.set_span_in_context(parent),
        kind=SpanKind.CLIENT,  # a call to a provider, as GenAI inference spans are
        start_time=start,
        attributes=_clean(
            {
                "gen_ai.operation.name": "ocr",
                "gen_ai.provider.name": GEN_AI_PROVIDER.get(event.provider, event.provider),
                "gen_ai.request.model": _provider_model(event.model),
                "ocr_router.request_id": event.request_id,
                "ocr_router.group": event.group,
                "ocr_router.deployment.id": event.deployment_id,
                "ocr_router.provider": event.provider,
                "ocr_router.attempt": event.attempt,
                "ocr_router.pages": event.pages,
                "ocr_router.cost_usd": event.cost_usd,
                "ocr_router.outcome": event.kind,
                "error.type": event.error_type,
            }
        ),
    )
    if event.kind == "failure":
        span.set_status(StatusCode.ERROR, event.error)
    span.end(end_time=end)


@contextlib.contextmanager
def child_span(name: str, attributes: Mapping[str, str | int | float | bool]) -> Iterator[None]:
    """A span named `name` under the current one for the block, ended with its outcome (an
    exception sets `error.type` and an error status, and propagates); nothing when tracing is
    off. Attributes must be secret-free: counts, indexes, names of things, never content."""
    found = tracer()
    if found is None:
        yield
        return
    from opentelemetry.trace import StatusCode

    with found.start_as_current_span(
        name, attributes=dict(attributes), record_exception=False, set_status_on_exception=False
    ) as span:
        try:
            yield
        except BaseException as error:
            span.set_attribute("error.type", type(error).__name__)
            span.set_status(StatusCode.ERROR, _describe(error))
            raise


def shard_span(index: int, count: int, *, first_page: int, last_page: int) -> Any:
    """The span of one shard of a sharded document (`with shard_span(0, 4, first_page=0,
    last_page=99): await router.aocr(...)`): the shards' request spans become its children.
    Pages are 0-based and inclusive, as in Mistral's `pages` parameter."""
    return child_span(
        SHARD_SPAN,
        {
            "ocr_router.shard.index": index,
            "ocr_router.shard.count": count,
            "ocr_router.shard.first_page": first_page,
            "ocr_router.shard.last_page": last_page,
        },
    )


@contextlib.contextmanager
def continued_trace(headers: Mapping[str, str]) -> Iterator[None]:
    """Make the trace a client's `traceparent` (and `tracestate`, `baggage`) header names the
    current context for the block (the proxy's request span continues it); nothing when
    tracing is off or the headers name none."""
    if tracer() is None:
        yield
        return
    context = importlib.import_module("opentelemetry.context")
    propagate = importlib.import_module("opentelemetry.propagate")
    token = context.attach(propagate.extract(headers))
    try:
        yield
    finally:
        context.detach(token)


def _served(info: CallInfo) -> dict[str, Any]:
    return _clean(
        {
            "gen_ai.provider.name": GEN_AI_PROVIDER.get(info.provider, info.provider),
            "gen_ai.response.model": _provider_model(info.model),
            "ocr_router.deployment.id": info.deployment_id,
            "ocr_router.provider": info.provider,
            "ocr_router.served_group": info.group,
            "ocr_router.attempts": len(info.attempts),
            "ocr_router.cached": info.cached,  # served from the result cache: no attempt made
            "ocr_router.pages": info.pages,
            "ocr_router.cost_usd": info.cost_usd,
        }
    )


def _provider_model(model: str | None) -> str | None:
    """ "mistral-ocr-latest" of "mistral/mistral-ocr-latest": the name the provider knows."""
    return None if model is None else model.split("/", 1)[-1]


def _describe(error: BaseException) -> str:
    from router.events import describe_error

    return describe_error(error)


def _clean(attributes: dict[str, Any]) -> dict[str, Any]:
    """Without the attributes that have no value (OpenTelemetry refuses None)."""
    return {name: value for name, value in attributes.items() if value is not None}


__all__ = [
    "ATTEMPT_SPAN",
    "REQUEST_SPAN",
    "SHARD_SPAN",
    "child_span",
    "continued_trace",
    "end_request_span",
    "record_event",
    "shard_span",
    "start_request_span",
    "tracer",
]
