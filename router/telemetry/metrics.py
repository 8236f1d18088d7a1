"""The router's metrics, defined once and published twice: Prometheus (the proxy's `/metrics`)
and OpenTelemetry (any program that sets a meter provider).

Two exports of one thing must never disagree about what is counted. So one table (`METRICS`)
names each metric (both names, kind, unit, labels), and one function (`event_samples`) turns a
`RouterEvent` into the increments it causes; the Prometheus registry of router/proxy/metrics.py
and the OpenTelemetry meter both apply exactly those.

OpenTelemetry metrics are on once a meter provider is set (the extra `otel`, as for traces; the
API is looked up in `sys.modules`, nothing is imported without it): the router then records each
event's increments and each request's outcome and duration (`ocr_router.requests`,
`ocr_router.request.duration`, which Prometheus leaves to the proxy's own request counter), and
the proxy adds its HTTP answers. Label values are deployment ids, group names the config
defines, provider names, error class names and status codes: a bounded set.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from router.events import RouterEvent

# OCR answers take from tens of milliseconds (a cached page) to minutes (hundreds of pages):
# buckets spread over that range, ending at the router's default timeout of 120 s.
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0)

# Our label names as OpenTelemetry attributes (the conventions' where they name the thing).
OTEL_ATTRIBUTES = {
    "deployment": "ocr_router.deployment.id",
    "group": "ocr_router.group",
    "provider": "ocr_router.provider",
    "outcome": "ocr_router.outcome",
    "status_code": "http.response.status_code",
}


@dataclass(frozen=True)
class Metric:
    """One metric: its Prometheus and OpenTelemetry names, kind, unit and labels."""

    prometheus: str  # a counter's samples get "_total" from the Prometheus client
    otel: str
    kind: Literal["counter", "histogram"]
    unit: str  # UCUM, as OpenTelemetry wants it
    description: str
    labels: tuple[str, ...]
    in_prometheus: bool = True


_DEPLOYMENT = ("deployment", "group", "provider")

ATTEMPTS = Metric(
    "ocr_router_deployment_attempts",
    "ocr_router.attempts",
    "counter",
    "{attempt}",
    "Attempts sent to a deployment, by outcome ('success' or the error class).",
    (*_DEPLOYMENT, "outcome"),
)
ATTEMPT_DURATION = Metric(
    "ocr_router_deployment_attempt_duration_seconds",
    "ocr_router.attempt.duration",
    "histogram",
    "s",
    "Time of one attempt on a deployment, by outcome.",
    (*_DEPLOYMENT, "outcome"),
)
PAGES = Metric(
    "ocr_router_deployment_pages",
    "ocr_router.pages",
    "counter",
    "{page}",
    "Pages served by a deployment.",
    _DEPLOYMENT,
)
COST = Metric(
    "ocr_router_deployment_cost_usd",
    "ocr_router.cost",
    "counter",
    "USD",
    "Price in USD of the pages a deployment served.",
    _DEPLOYMENT,
)
RETRIES = Metric(
    "ocr_router_deployment_retries",
    "ocr_router.retries",
    "counter",
    "{retry}",
    "Retries that followed a failure of this deployment.",
    _DEPLOYMENT,
)
COOLDOWNS = Metric(
    "ocr_router_deployment_cooldowns",
    "ocr_router.cooldowns",
    "counter",
    "{cooldown}",
    "Times this deployment was cooled down.",
    _DEPLOYMENT,
)
REQUESTS = Metric(
    "ocr_router_requests",
    "ocr_router.requests",
    "counter",
    "{request}",
    "Requests the router finished, by model group and outcome ('success' or the error class).",
    ("group", "outcome"),
    in_prometheus=False,
)
REQUEST_DURATION = Metric(
    "ocr_router_request_duration_seconds",
    "ocr_router.request.duration",
    "histogram",
    "s",
    "Time the router took for a request, retries included.",
    ("group", "outcome"),
    in_prometheus=False,
)
PROXY_REQUESTS = Metric(
    "ocr_router_proxy_requests",
    "ocr_router.proxy.requests",
    "counter",
    "{request}",
    "OCR requests answered by the proxy, by model group and HTTP status.",
    ("group", "status_code"),
)
PROXY_REQUEST_DURATION = Metric(
    "ocr_router_proxy_request_duration_seconds",
    "ocr_router.proxy.request.duration",
    "histogram",
    "s",
    "Time to answer an OCR request, retries included.",
    ("group",),
)

METRICS = (
    PROXY_REQUESTS,
    PROXY_REQUEST_DURATION,
    REQUESTS,
    REQUEST_DURATION,
    ATTEMPTS,
    ATTEMPT_DURATION,
    PAGES,
    COST,
    RETRIES,
    COOLDOWNS,
)

Sample = tuple[Metric, float, tuple[str, ...]]


def event_samples(event: RouterEvent) -> Iterator[Sample]:
    """What `event` adds: (metric, amount or observation, label values)."""
    labels = (event.deployment_id, event.group, event.provider)
    if event.kind == "success":
        yield ATTEMPTS, 1, (*labels, "success")
        if event.latency_s is not None:
            yield ATTEMPT_DURATION, event.latency_s, (*labels, "success")
        if event.pages:
            yield PAGES, event.pages, labels
        if event.cost_usd:
            yield COST, event.cost_usd, labels
    elif event.kind == "failure":
        outcome = event.error_type or "error"  # the class is what an operator alerts on
        yield ATTEMPTS, 1, (*labels, outcome)
        if event.latency_s is not None:
            yield ATTEMPT_DURATION, event.latency_s, (*labels, outcome)
    elif event.kind == "retry":
        yield RETRIES, 1, labels
    elif event.kind == "cooldown":
        yield COOLDOWNS, 1, labels


class OTelMetrics:
    """`METRICS` as instruments of one OpenTelemetry meter."""

    def __init__(self, meter: Any) -> None:
        self._instruments: dict[Metric, Any] = {}
        for metric in METRICS:
            if metric.kind == "counter":
                instrument = meter.create_counter(metric.otel, metric.unit, metric.description)
            else:
                instrument = meter.create_histogram(
                    metric.otel,
                    metric.unit,
                    metric.description,
                    explicit_bucket_boundaries_advisory=LATENCY_BUCKETS,
                )
            self._instruments[metric] = instrument

    def record(self, metric: Metric, value: float, labels: tuple[str, ...]) -> None:
        attributes: dict[str, str | int] = {
            OTEL_ATTRIBUTES[name]: _otel_value(name, label)
            for name, label in zip(metric.labels, labels, strict=True)
        }
        outcome = attributes.get("ocr_router.outcome")
        if outcome is not None and outcome != "success":
            attributes["error.type"] = outcome
        instrument = self._instruments[metric]
        if metric.kind == "counter":
            instrument.add(value, attributes)
        else:
            instrument.record(value, attributes)

    def record_event(self, event: RouterEvent) -> None:
        for metric, value, labels in event_samples(event):
            self.record(metric, value, labels)


def _otel_value(name: str, label: str) -> str | int:
    return int(label) if name == "status_code" and label.isdigit() else label


_cache: tuple[object, OTelMetrics] | None = None


def otel_metrics() -> OTelMetrics | None:
    """The instruments of the meter provider set, or None when none is (or no OpenTelemetry)."""
    global _cache
    api = sys.modules.get("opentelemetry.metrics")
    if api is None:
        return None
    provider = api.get_meter_provider()
    if isinstance(provider, api.NoOpMeterProvider) or _is_placeholder(provider):
        return None
    cached = _cache
    if cached is not None and cached[0] is provider:
        return cached[1]
    from router import __version__

    found = OTelMetrics(provider.get_meter("ocr_router", __version__))
    _cache = (provider, found)
    return found


def _is_placeholder(provider: object) -> bool:
    """Whether `provider` is the API's stand-in returned before any provider is set (its class is
    not public: it is the one `get_meter_provider()` returns in a fresh process)."""
    internal = sys.modules.get("opentelemetry.metrics._internal")
    placeholder = getattr(internal, "_ProxyMeterProvider", None)
    return placeholder is not None and isinstance(provider, placeholder)


__all__ = [
    "ATTEMPTS",
    "ATTEMPT_DURATION",
    "COOLDOWNS",
    "COST",
    "LATENCY_BUCKETS",
    "METRICS",
    "PAGES",
    "PROXY_REQUESTS",
    "PROXY_REQUEST_DURATION",
    "REQUESTS",
    "REQUEST_DURATION",
    "RETRIES",
    "Metric",
    "OTelMetrics",
    "event_samples",
    "otel_metrics",
]
