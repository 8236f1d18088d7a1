"""The proxy's Prometheus endpoint and OpenTelemetry's export count the same things, from one
definition of the metrics (router/telemetry/metrics.py)."""

from __future__ import annotations

from typing import Any

from otel_helpers import metric_points
from proxy_helpers import BEARER, DOCUMENT, PROVIDER_KEY, ProxyStarter, metric_samples

from providers.fake import FakeProvider
from router.telemetry.metrics import METRICS, OTEL_ATTRIBUTES


async def test_prometheus_and_opentelemetry_agree_on_every_shared_metric(
    start_proxy: ProxyStarter, metric_reader: Any
) -> None:
    proxy = await start_proxy(
        {
            "bad": FakeProvider("mistral", api_key=PROVIDER_KEY, faults={"503": 1.0}),
            "ok": FakeProvider("mistral", api_key=PROVIDER_KEY),
        },
        routing_strategy="round-robin",
        allowed_fails=2,
    )
    async with proxy.client() as client:
        for _ in range(4):
            answer = await client.post(
                "/v1/ocr", json={"model": "ocr", "document": DOCUMENT}, headers=BEARER
            )
            assert answer.status_code == 200
        await client.post("/v1/ocr", json={"model": "nope", "document": DOCUMENT}, headers=BEARER)
        scraped = metric_samples((await client.get("/metrics", headers=BEARER)).text)
    points = metric_points(metric_reader)
    compared = 0
    for metric in (m for m in METRICS if m.in_prometheus):
        suffix = "_total" if metric.kind == "counter" else "_count"
        prometheus = {
            labels: value
            for (name, labels), value in scraped.items()
            if name == metric.prometheus + suffix and value
        }
        otel = {
            tuple(
                sorted(
                    (label, str(dict(attributes)[OTEL_ATTRIBUTES[label]]))
                    for label in metric.labels
                )
            ): value if metric.kind == "counter" else value[0]
            for (name, attributes), value in points.items()
            if name == metric.otel
        }
        assert otel == prometheus, metric.otel
        compared += len(otel)
    # Attempts of both outcomes, retries, cooldowns, pages, cost and answers 200 and 404 were seen.
    assert compared >= 12
    assert any(name == "ocr_router.cooldowns" for name, _ in points)
