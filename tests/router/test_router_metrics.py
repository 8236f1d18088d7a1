"""OpenTelemetry metrics of the Router (SDK in-memory reader): attempts by outcome, their
latency, pages, cost, retries, cooldowns, and each request's outcome and duration."""

from __future__ import annotations

from typing import Any

import pytest
from otel_helpers import metric_points
from router_helpers import KEY, fleet

from providers.fake import FakeProvider
from router.errors import ServerError
from router.router import Router, UnknownModelError
from router.telemetry.metrics import otel_metrics


def _fake(provider: str = "mistral", **options: object) -> FakeProvider:
    return FakeProvider(provider, api_key=KEY, **options)  # type: ignore[arg-type]


def _deployment(name: str, provider: str = "mistral", **more: Any) -> frozenset[Any]:
    return frozenset(
        {
            "ocr_router.deployment.id": name,
            "ocr_router.group": "ocr",
            "ocr_router.provider": provider,
            **more,
        }.items()
    )


async def test_a_failed_over_request_is_counted_once_per_thing_that_happened(
    metric_reader: Any, png_bytes: bytes
) -> None:
    fakes = {"bad": _fake(faults={"503": 1.0}), "ok": _fake("azure_ai")}
    entries, transport = fleet(fakes, ok={"priority": 1, "price_per_page": 0.003})
    async with Router(entries, transport=transport) as router:
        await router.aocr("ocr", png_bytes)
    points = metric_points(metric_reader)
    failed = _deployment(
        "bad", **{"ocr_router.outcome": "ServerError", "error.type": "ServerError"}
    )
    served = _deployment("ok", "azure_ai", **{"ocr_router.outcome": "success"})
    assert points[("ocr_router.attempts", failed)] == 1
    assert points[("ocr_router.attempts", served)] == 1
    assert points[("ocr_router.attempt.duration", failed)][0] == 1
    assert points[("ocr_router.attempt.duration", served)][0] == 1
    assert points[("ocr_router.pages", _deployment("ok", "azure_ai"))] == 1
    assert points[("ocr_router.cost", _deployment("ok", "azure_ai"))] == pytest.approx(0.003)
    assert points[("ocr_router.retries", _deployment("bad"))] == 1
    request = frozenset({"ocr_router.group": "ocr", "ocr_router.outcome": "success"}.items())
    assert points[("ocr_router.requests", request)] == 1
    count, total = points[("ocr_router.request.duration", request)]
    assert count == 1 and total > 0


async def test_failed_requests_are_counted_by_class_and_unknown_groups_add_no_label(
    metric_reader: Any, png_bytes: bytes
) -> None:
    entries, transport = fleet({"bad": _fake(faults={"500": 1.0})})
    async with Router(entries, transport=transport, num_retries=0) as router:
        with pytest.raises(ServerError):
            await router.aocr("ocr", png_bytes)
        for name in ("no-such-group", "another-one"):
            with pytest.raises(UnknownModelError):
                await router.aocr(name, png_bytes)
    points = metric_points(metric_reader)
    requests = {
        dict(attributes)["ocr_router.group"]: (dict(attributes), value)
        for (name, attributes), value in points.items()
        if name == "ocr_router.requests"
    }
    assert requests["ocr"] == (
        {
            "ocr_router.group": "ocr",
            "ocr_router.outcome": "ServerError",
            "error.type": "ServerError",
        },
        1,
    )
    assert requests[""][0]["ocr_router.outcome"] == "UnknownModelError"
    assert requests[""][1] == 2
    assert set(requests) == {"ocr", ""}


def test_without_a_meter_provider_nothing_is_recorded() -> None:
    assert otel_metrics() is None
