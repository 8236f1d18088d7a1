"""`ocr-router serve --otlp` sends its spans and metrics to an OTLP/HTTP collector: here a real
HTTP server on 127.0.0.1 that decodes what it receives with OpenTelemetry's own protobufs."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from aiohttp import web
from loopback_site import serving
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from proxy_helpers import BEARER, DOCUMENT, PROVIDER_KEY
from proxy_process import serving_proxy
from test_proxy_command import write_config

from providers.fake import FakeProvider

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"


async def test_serve_otlp_exports_the_trace_a_client_started_and_the_metrics(
    fake_server: Callable[[FakeProvider], Awaitable[str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    received: dict[str, list[bytes]] = {"/v1/traces": [], "/v1/metrics": []}

    async def collect(request: web.Request) -> web.Response:
        received[request.path].append(await request.read())
        return web.Response(body=b"", content_type="application/x-protobuf")

    app = web.Application()
    app.router.add_post("/v1/traces", collect)
    app.router.add_post("/v1/metrics", collect)
    async with serving(app) as base:
        fake = FakeProvider("mistral", api_key=PROVIDER_KEY)
        path = write_config(tmp_path, await fake_server(fake))
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", base)
        monkeypatch.setenv("OTEL_SERVICE_NAME", "ocr-proxy-test")
        monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "100")
        monkeypatch.setenv("OTEL_METRIC_EXPORT_INTERVAL", "200")
        async with serving_proxy("--config", str(path), "--port", "0", "--otlp") as (process, url):
            async with httpx.AsyncClient(base_url=url, timeout=20) as client:
                answer = await client.post(
                    "/v1/ocr",
                    json={"model": "ocr", "document": DOCUMENT},
                    headers={**BEARER, "traceparent": f"00-{TRACE_ID}-b7ad6b7169203331-01"},
                )
            process.send_signal(signal.SIGTERM)  # the SDK flushes both at exit
            await asyncio.wait_for(process.wait(), 20)
    assert answer.status_code == 200
    spans = []
    for body in received["/v1/traces"]:
        export = ExportTraceServiceRequest.FromString(body)
        for resource in export.resource_spans:
            service = {a.key: a.value.string_value for a in resource.resource.attributes}
            assert service["service.name"] == "ocr-proxy-test"
            spans += [span for scope in resource.scope_spans for span in scope.spans]
    names = {span.name for span in spans}
    assert {"ocr_router.request", "ocr_router.attempt"} <= names
    assert {span.trace_id.hex() for span in spans} == {TRACE_ID}
    exported = set()
    for body in received["/v1/metrics"]:
        export = ExportMetricsServiceRequest.FromString(body)
        for resource in export.resource_metrics:
            for scope in resource.scope_metrics:
                exported |= {metric.name for metric in scope.metrics}
    assert {"ocr_router.attempts", "ocr_router.requests", "ocr_router.proxy.requests"} <= exported
