"""Prometheus metrics of one proxy: what clients asked, and what each deployment did with it.

Operators watch two things: how the proxy answers its clients (requests by group and status,
latency), and why traffic moves between deployments (attempts by outcome and their latency,
retries, cooldowns, pages and cost). The first is counted by the proxy as it answers; the second
comes from the Router's `RouterEvent` hooks, so it counts every attempt, retries included. Which
metrics exist and what each event adds is defined once in router/telemetry/metrics.py, which
OpenTelemetry's export shares: the two never disagree. Cooling and in-flight state is read from
`Router.health()` when scraped, so it is exact at scrape time.

Each app has its own `CollectorRegistry` (never the global one): two apps in one process (tests,
or a proxy beside a library user's own metrics) never mix their counts or clash on names.

Metric names (label sets in brackets):

- `ocr_router_proxy_requests_total` [group, status_code]: answers to OCR requests; `group` is the
  `model` asked for ("" when the body had none).
- `ocr_router_proxy_request_duration_seconds` [group]: histogram of the time to answer.
- `ocr_router_deployment_attempts_total` [deployment, group, provider, outcome]: attempts;
  `outcome` is "success" or the error's class name ("ServerError", "RateLimitError", ...).
- `ocr_router_deployment_attempt_duration_seconds` [deployment, group, provider, outcome]:
  histogram of each attempt's time.
- `ocr_router_deployment_pages_total`, `ocr_router_deployment_cost_usd_total`
  [deployment, group, provider]: pages served and their price.
- `ocr_router_deployment_retries_total` [deployment, group, provider]: retries that followed a
  failure of this deployment.
- `ocr_router_deployment_cooldowns_total` [deployment, group, provider]: times it was cooled.
- `ocr_router_cached_requests_total`, `ocr_router_cached_pages_total`,
  `ocr_router_cache_saved_usd_total` [group]: answers served from the result cache, their pages
  and what they would have cost; `ocr_router_batch_pages_total`, `ocr_router_batch_cost_usd_total`:
  pages OCR'd through Mistral's Batch API and their (half) price. Read from `Router.costs()`
  when scraped.
- `ocr_router_deployment_in_flight`, `ocr_router_deployment_cooling` (1 while cooling) [deployment,
  group, provider]: gauges read from `Router.health()` at scrape time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from router.events import RouterEvent
from router.telemetry import metrics as shared
from router.telemetry.metrics import LATENCY_BUCKETS

if TYPE_CHECKING:
    from router.cost import CostReport
    from router.router import DeploymentHealth

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

_DEPLOYMENT_LABELS = ("deployment", "group", "provider")


class ProxyMetrics:
    """The proxy's metrics in their own registry. `observe_event` is a Router hook."""

    def __init__(
        self,
        health: Callable[[], Mapping[str, DeploymentHealth]] | None = None,
        costs: Callable[[], CostReport] | None = None,
    ) -> None:
        self.registry = CollectorRegistry()
        self._series: dict[shared.Metric, Counter | Histogram] = {
            metric: _series(metric, self.registry)
            for metric in shared.METRICS
            if metric.in_prometheus
        }
        if health is not None:
            self.registry.register(_HealthCollector(health))
        if costs is not None:
            self.registry.register(_SavingsCollector(costs))

    def observe_request(self, group: str, status: int, seconds: float) -> None:
        """One answer of the proxy, to Prometheus and (when a meter provider is set) OTel."""
        otel = shared.otel_metrics()
        for metric, value, labels in (
            (shared.PROXY_REQUESTS, 1.0, (group, str(status))),
            (shared.PROXY_REQUEST_DURATION, seconds, (group,)),
        ):
            self._record(metric, value, labels)
            if otel is not None:
                otel.record(metric, value, labels)

    def observe_event(self, event: RouterEvent) -> None:
        """Router hook: count one attempt's outcome, retry or cooldown (OpenTelemetry gets the
        same from the router itself, router/events.py)."""
        for metric, value, labels in shared.event_samples(event):
            self._record(metric, value, labels)

    def _record(self, metric: shared.Metric, value: float, labels: tuple[str, ...]) -> None:
        series = self._series[metric].labels(*labels)
        if isinstance(series, Counter):
            series.inc(value)
        else:
            series.observe(value)

    def render(self) -> bytes:
        return generate_latest(self.registry)


def _series(metric: shared.Metric, registry: CollectorRegistry) -> Counter | Histogram:
    if metric.kind == "counter":
        return Counter(metric.prometheus, metric.description, metric.labels, registry=registry)
    return Histogram(
        metric.prometheus,
        metric.description,
        metric.labels,
        buckets=LATENCY_BUCKETS,
        registry=registry,
    )


class _HealthCollector(Collector):
    """In-flight and cooling gauges, read from the router when scraped."""

    def __init__(self, health: Callable[[], Mapping[str, DeploymentHealth]]) -> None:
        self._health = health

    def collect(self) -> Iterator[Metric]:
        in_flight = GaugeMetricFamily(
            "ocr_router_deployment_in_flight",
            "Requests in flight on a deployment.",
            labels=_DEPLOYMENT_LABELS,
        )
        cooling = GaugeMetricFamily(
            "ocr_router_deployment_cooling",
            "1 while a deployment is cooling down, else 0.",
            labels=_DEPLOYMENT_LABELS,
        )
        for row in self._health().values():
            labels = [row.deployment_id, row.group, row.provider]
            in_flight.add_metric(labels, row.in_flight)
            cooling.add_metric(labels, 1.0 if row.status == "cooling" else 0.0)
        yield in_flight
        yield cooling

    def describe(self) -> Any:
        return []


class _SavingsCollector(Collector):
    """Cached and batch totals, read from the router's cost ledger when scraped."""

    def __init__(self, costs: Callable[[], CostReport]) -> None:
        self._costs = costs

    def collect(self) -> Iterator[Metric]:
        report = self._costs()
        families = [
            ("ocr_router_cached_requests", "Answers served from the result cache.", "requests"),
            ("ocr_router_cached_pages", "Pages served from the result cache.", "pages"),
            ("ocr_router_cache_saved_usd", "What cached answers would have cost (USD).", "usd"),
        ]
        for name, documentation, field in families:
            family = CounterMetricFamily(name, documentation, labels=("group",))
            for group, summary in report.cached_groups.items():
                family.add_metric([group], float(getattr(summary, field)))
            yield family
        batch = report.batch
        yield CounterMetricFamily(
            "ocr_router_batch_pages", "Pages OCR'd through the Batch API.", value=batch.pages
        )
        yield CounterMetricFamily(
            "ocr_router_batch_cost_usd", "Price of the Batch API's pages (USD).", value=batch.usd
        )

    def describe(self) -> Any:
        return []


__all__ = ["CONTENT_TYPE", "LATENCY_BUCKETS", "ProxyMetrics"]
