"""OpenTelemetry spans of the Router, read from the SDK's in-memory exporter: a request span,
a child per attempt, the caller's span as parent, shards, and nothing without a provider."""

from __future__ import annotations

import base64
import subprocess
import sys
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode
from router_helpers import KEY, fleet

from providers.fake import FakeProvider
from router.errors import ServerError
from router.router import Router
from router.telemetry import shard_span
from router.telemetry.tracing import tracer


def _fake(provider: str = "mistral", **options: object) -> FakeProvider:
    return FakeProvider(provider, api_key=KEY, **options)  # type: ignore[arg-type]


def _named(spans: Any, name: str) -> list[Any]:
    return [span for span in spans.get_finished_spans() if span.name == name]


async def test_a_failed_over_request_is_one_span_with_a_child_per_attempt(
    spans: Any, png_bytes: bytes
) -> None:
    fakes = {"bad": _fake(faults={"503": 1.0}), "ok": _fake("azure_ai")}
    entries, transport = fleet(fakes, ok={"priority": 1, "price_per_page": 0.003})
    async with Router(entries, transport=transport) as router:
        response = await router.aocr("ocr", png_bytes, request_id="trace-1")
    assert response.call_info is not None
    [request] = _named(spans, "ocr_router.request")
    attempts = sorted(_named(spans, "ocr_router.attempt"), key=lambda s: s.start_time)
    assert [a.attributes["ocr_router.deployment.id"] for a in attempts] == ["bad", "ok"]
    for number, attempt in enumerate(attempts, 1):
        assert attempt.parent.span_id == request.context.span_id
        assert attempt.context.trace_id == request.context.trace_id
        assert attempt.kind is SpanKind.CLIENT
        assert attempt.attributes["ocr_router.attempt"] == number
        assert attempt.attributes["ocr_router.request_id"] == "trace-1"
        assert attempt.attributes["ocr_router.group"] == "ocr"
        assert attempt.attributes["gen_ai.operation.name"] == "ocr"
        assert request.start_time <= attempt.start_time <= attempt.end_time <= request.end_time
    failed, served = attempts
    assert failed.status.status_code is StatusCode.ERROR
    assert failed.attributes["error.type"] == "ServerError"
    assert failed.attributes["ocr_router.outcome"] == "failure"
    assert failed.attributes["gen_ai.provider.name"] == "mistral_ai"
    assert failed.attributes["gen_ai.request.model"] == "mistral-ocr-latest"
    assert served.status.status_code is StatusCode.UNSET
    assert "error.type" not in served.attributes
    assert served.attributes["gen_ai.provider.name"] == "azure.ai.inference"
    assert served.attributes["ocr_router.provider"] == "azure_ai"
    assert served.attributes["ocr_router.pages"] == 1
    assert served.attributes["ocr_router.cost_usd"] == pytest.approx(0.003)
    assert request.attributes["ocr_router.request_id"] == "trace-1"
    assert request.attributes["ocr_router.outcome"] == "success"
    assert request.attributes["ocr_router.deployment.id"] == "ok"
    assert request.attributes["ocr_router.attempts"] == 2
    assert request.attributes["ocr_router.cost_usd"] == pytest.approx(0.003)
    assert [event.name for event in request.events] == ["ocr_router.retry"]
    assert request.events[0].attributes["error.type"] == "ServerError"


async def test_a_failed_request_ends_its_span_with_the_error_class(
    spans: Any, png_bytes: bytes
) -> None:
    entries, transport = fleet({"bad": _fake(faults={"500": 1.0})})
    async with Router(entries, transport=transport, num_retries=1, allowed_fails=1) as router:
        with pytest.raises(ServerError):
            await router.aocr("ocr", png_bytes, request_id="trace-2", timeout=2)
    [request] = _named(spans, "ocr_router.request")
    assert request.status.status_code is StatusCode.ERROR
    assert request.status.description == "ServerError 500"
    assert request.attributes["error.type"] == "ServerError"
    assert request.attributes["ocr_router.outcome"] == "failure"
    assert "ocr_router.cooldown" in [event.name for event in request.events]
    attempts = _named(spans, "ocr_router.attempt")
    assert attempts and all(a.status.status_code is StatusCode.ERROR for a in attempts)


async def test_no_key_or_document_content_is_in_any_span(spans: Any, png_bytes: bytes) -> None:
    fakes = {"bad": _fake(faults={"401": 1.0}), "ok": _fake()}
    entries, transport = fleet(fakes)
    async with Router(entries, transport=transport, routing_strategy="round-robin") as router:
        for _ in range(2):
            await router.aocr("ocr", png_bytes)
    finished = spans.get_finished_spans()
    assert len(finished) >= 4
    encoded = base64.b64encode(png_bytes).decode()[:24]
    for span in finished:
        text = repr(dict(span.attributes)) + repr([dict(e.attributes) for e in span.events])
        text += span.status.description or ""
        assert KEY not in text and encoded not in text and "data:" not in text


async def test_the_callers_span_is_the_parent_on_both_apis(spans: Any, png_bytes: bytes) -> None:
    entries, transport = fleet({"ok": _fake()})
    outer_tracer = trace.get_tracer("caller")
    async with Router(entries, transport=transport) as router:
        with outer_tracer.start_as_current_span("caller-async") as outer:
            await router.aocr("ocr", png_bytes)
    sync_router = Router(entries, transport=transport)
    with sync_router, outer_tracer.start_as_current_span("caller-sync") as outer_sync:
        sync_router.ocr("ocr", png_bytes)  # served on the router's own loop thread
    requests = _named(spans, "ocr_router.request")
    assert [r.parent.span_id for r in requests] == [
        outer.get_span_context().span_id,
        outer_sync.get_span_context().span_id,
    ]


async def test_shard_spans_parent_the_requests_of_their_shard(spans: Any, pdf_bytes: bytes) -> None:
    entries, transport = fleet({"ok": _fake()})
    async with Router(entries, transport=transport) as router:
        for index, (first, last) in enumerate([(0, 1), (2, 2)]):
            with shard_span(index, 2, first_page=first, last_page=last):
                await router.aocr("ocr", pdf_bytes, pages=list(range(first, last + 1)))
        with pytest.raises(ValueError), shard_span(2, 3, first_page=3, last_page=3):
            raise ValueError("a shard failed")
    shards = sorted(_named(spans, "ocr_router.shard"), key=lambda s: s.start_time)
    requests = sorted(_named(spans, "ocr_router.request"), key=lambda s: s.start_time)
    assert [s.attributes["ocr_router.shard.index"] for s in shards] == [0, 1, 2]
    assert shards[0].attributes["ocr_router.shard.last_page"] == 1
    assert [r.parent.span_id for r in requests] == [s.context.span_id for s in shards[:2]]
    assert shards[2].status.status_code is StatusCode.ERROR
    assert shards[2].attributes["error.type"] == "ValueError"


async def test_without_a_tracer_provider_no_span_is_made(png_bytes: bytes) -> None:
    assert tracer() is None  # opentelemetry is imported here, but no provider was set
    entries, transport = fleet({"ok": _fake()})
    async with Router(entries, transport=transport) as router:
        response = await router.aocr("ocr", png_bytes)
        with shard_span(0, 1, first_page=0, last_page=0):
            pass
    assert response.call_info is not None
    assert not trace.get_current_span().get_span_context().is_valid


def test_importing_and_using_the_router_never_imports_opentelemetry() -> None:
    script = (
        "import sys, asyncio\n"
        "from providers.fake import FakeProvider\n"
        "from router import Router\n"
        "import router.proxy.app\n"
        "fake = FakeProvider('mistral', api_key='k')\n"
        "router = Router([{'model_name': 'ocr', 'model': 'mistral/mistral-ocr-latest',\n"
        "                  'api_key': 'k', 'api_base': 'https://a.fake'}],\n"
        "                transport=fake.mock_transport())\n"
        "asyncio.run(router.aocr('ocr', 'https://example.com/a.pdf'))\n"
        "print(sorted(m for m in sys.modules if m.startswith('opentelemetry')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"
