"""The proxy continues a client's trace: its request span is a child of the `traceparent` sent."""

from __future__ import annotations

from typing import Any

from proxy_helpers import BEARER, DOCUMENT, PROVIDER_KEY, ProxyStarter

from providers.fake import FakeProvider

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"


async def test_a_clients_traceparent_is_continued(start_proxy: ProxyStarter, spans: Any) -> None:
    proxy = await start_proxy(
        {
            "bad": FakeProvider("mistral", api_key=PROVIDER_KEY, faults={"500": 1.0}),
            "ok": FakeProvider("mistral", api_key=PROVIDER_KEY),
        },
        routing_strategy="round-robin",
    )
    headers = {**BEARER, "traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01", "x-request-id": "tp-1"}
    async with proxy.client() as client:
        continued = await client.post(
            "/v1/ocr", json={"model": "ocr", "document": DOCUMENT}, headers=headers
        )
        fresh = await client.post(
            "/v1/ocr", json={"model": "ocr", "document": DOCUMENT}, headers=BEARER
        )
    assert continued.status_code == fresh.status_code == 200
    requests = [s for s in spans.get_finished_spans() if s.name == "ocr_router.request"]
    by_id = {s.attributes["ocr_router.request_id"]: s for s in requests}
    mine = by_id["tp-1"]
    assert f"{mine.context.trace_id:032x}" == TRACE_ID
    assert f"{mine.parent.span_id:016x}" == PARENT_ID and mine.parent.is_remote
    [other] = [s for s in requests if s is not mine]
    assert other.parent is None  # no traceparent: a trace of its own
    assert other.attributes["ocr_router.request_id"] == fresh.headers["x-request-id"]
    attempts = [s for s in spans.get_finished_spans() if s.name == "ocr_router.attempt"]
    assert {f"{a.context.trace_id:032x}" for a in attempts} >= {TRACE_ID}
