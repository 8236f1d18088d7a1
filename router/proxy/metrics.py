"""Prometheus metrics of one proxy: what clients asked, and what each deployment did with it.

Operators watch two things: how the proxy answers its clients (requests by group and status,
latency), and why traffic moves between deployments (attempts by outcome, retries, cooldowns,
pages and cost). The first is counted by the proxy as it answers; the second comes from the
Router's `RouterEvent` hooks, so it counts every attempt, retries included. Cooling and in-flight
state is read from `Router.health()` when scraped, so it is exact at scrape time.

Each app has its own `CollectorRegistry` (never the global one): two apps in one process (tests,
or a proxy beside a library user's own metrics) never mix their counts or clash on names.

Metric names (label sets in brackets):

- `ocr_router_proxy_requests_total` [group, status_code]: answers to OCR requests; `group` is the
  `model` asked for ("" when the body had none).
- `ocr_router_proxy_request_duration_seconds` [group]: histogram of the time to answer.
- `ocr_router_deployment_attempts_total` [deployment, group, provider, outcome]: attempts;
  `outcome` is "success" or the error's class name ("ServerError", "RateLimitError", ...).
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

if TYPE_CHECKING:
    from router.cost import CostReport
    from router.router import DeploymentHealth

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# OCR answers take from tens of milliseconds (a cached page) to minutes (hundreds of pages):
# buckets spread over that range, ending at the router's default timeout of 120 s.
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0)

_DEPLOYMENT_LABELS = ("deployment", "group", "provider")


class ProxyMetrics:
    """The proxy's metrics in their own registry. `observe_event` is a Router hook."""

    def __init__(
        self,
        health: Callable[[], Mapping[str, DeploymentHealth]] | None = None,
        costs: Callable[[], CostReport] | None = None,
    ) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "ocr_router_proxy_requests",
            "OCR requests answered by the proxy, by model group and HTTP status.",
            ("group", "status_code"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "ocr_router_proxy_request_duration_seconds",
            "Time to answer an OCR request, retries included.",
            ("group",),
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.attempts = Counter(
            "ocr_router_deployment_attempts",
            "Attempts sent to a deployment, by outcome ('success' or the error class).",
            (*_DEPLOYMENT_LABELS, "outcome"),
            registry=self.registry,
        )
        self.pages = Counter(
            "ocr_router_deployment_pages",
            "Pages served by a deployment.",
            _DEPLOYMENT_LABELS,
            registry=self.registry,
        )
        self.cost = Counter(
            "ocr_router_deployment_cost_usd",
            "Price in USD of the pages a deployment served.",
            _DEPLOYMENT_LABELS,
            registry=self.registry,
        )
        self.retries = Counter(
            "ocr_router_deployment_retries",
            "Retries that followed a failure of this deployment.",
            _DEPLOYMENT_LABELS,
            registry=self.registry,
        )
        self.cooldowns = Counter(
            "ocr_router_deployment_cooldowns",
            "Times this deployment was cooled down.",
            _DEPLOYMENT_LABELS,
            registry=self.registry,
        )
        if health is not None:
            self.registry.register(_HealthCollector(health))
        if costs is not None:
            self.registry.register(_SavingsCollector(costs))

    def observe_request(self, group: str, status: int, seconds: float) -> None:
        self.requests.labels(group, str(status)).inc()
        self.latency.labels(group).observe(seconds)

    def observe_event(self, event: RouterEvent) -> None:
        """Router hook: count one attempt's outcome, retry or cooldown."""
        labels = (event.deployment_id, event.group, event.provider)
        if event.kind == "success":
            self.attempts.labels(*labels, "success").inc()
            if event.pages:
                self.pages.labels(*labels).inc(event.pages)
            if event.cost_usd:
                self.cost.labels(*labels).inc(event.cost_usd)
        elif event.kind == "failure":
            # "ServerError 503" -> "ServerError": the class is what an operator alerts on.
            outcome = (event.error or "error").split(" ", 1)[0]
            self.attempts.labels(*labels, outcome).inc()
        elif event.kind == "retry":
            self.retries.labels(*labels).inc()
        elif event.kind == "cooldown":
            self.cooldowns.labels(*labels).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)


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
