"""Request ids and the logger tree: one id ties a request's events, log lines and error."""

from __future__ import annotations

import json
import logging

import pytest
from router_helpers import KEY, fleet

from providers.fake import FakeProvider
from router.errors import InvalidRequestError, ServerError
from router.events import RouterEvent
from router.router import Router, UnknownModelError
from router.telemetry.logs import JsonFormatter
from router.telemetry.scope import current_request_id


def _fake(**options: object) -> FakeProvider:
    return FakeProvider("mistral", api_key=KEY, **options)  # type: ignore[arg-type]


async def test_every_event_of_a_request_and_its_call_info_share_one_new_id(
    png_bytes: bytes,
) -> None:
    events: list[RouterEvent] = []
    fakes = {"bad": _fake(faults={"500": 1.0}), "ok": _fake()}
    entries, transport = fleet(fakes)
    async with Router(
        entries, transport=transport, routing_strategy="round-robin", hooks=[events.append]
    ) as router:
        first = await router.aocr("ocr", png_bytes)
        second = await router.aocr("ocr", png_bytes)
    assert first.call_info is not None and second.call_info is not None
    ids = {first.call_info.request_id, second.call_info.request_id}
    assert len(ids) == 2
    assert all(len(i or "") == 32 and int(i or "", 16) >= 0 for i in ids)
    # Each event names the request it belongs to: the failure, retry and success of the first
    # request carry its id, and only the second's events carry the second.
    assert {e.request_id for e in events} == ids
    for event in events:
        assert event.model == "mistral/mistral-ocr-latest"
    kinds = [e.kind for e in events if e.request_id == first.call_info.request_id]
    assert "failure" in kinds and kinds[-1] == "success"


async def test_a_callers_id_is_used_and_the_error_raised_carries_it(png_bytes: bytes) -> None:
    events: list[RouterEvent] = []
    fakes = {"ok": _fake(), "bad": _fake(faults={"500": 1.0})}
    entries, transport = fleet(fakes, bad={"model_name": "broken"})
    async with Router(entries, transport=transport, hooks=[events.append], num_retries=0) as router:
        served = await router.aocr("ocr", png_bytes, request_id="order-42.page:1")
        events.clear()
        with pytest.raises(ServerError) as caught:
            await router.aocr("broken", png_bytes, request_id="batch-7_a")
        with pytest.raises(UnknownModelError) as unknown:
            await router.aocr("nope", png_bytes, request_id="batch-7_b")
    assert served.call_info is not None and served.call_info.request_id == "order-42.page:1"
    assert caught.value.request_id == "batch-7_a"
    assert "(request id batch-7_a)" in str(caught.value)
    assert unknown.value.request_id == "batch-7_b"
    assert events and {e.request_id for e in events} == {"batch-7_a"}
    assert current_request_id() is None  # the scope ended with the request


@pytest.mark.parametrize("bad", ["", "x" * 129, "has space", "new\nline", "é", 42])
async def test_a_malformed_request_id_is_a_typed_error(png_bytes: bytes, bad: object) -> None:
    entries, transport = fleet({"ok": _fake()})
    async with Router(entries, transport=transport) as router:
        with pytest.raises(InvalidRequestError, match="request_id") as caught:
            await router.aocr("ocr", png_bytes, request_id=bad)  # type: ignore[arg-type]
    assert caught.value.errors[0]["loc"] == ["request_id"]


def test_the_sync_api_takes_and_returns_a_request_id(png_bytes: bytes) -> None:
    entries, transport = fleet({"ok": _fake()})
    with Router(entries, transport=transport) as router:
        response = router.ocr("ocr", png_bytes, request_id="sync-1")
    assert response.call_info is not None and response.call_info.request_id == "sync-1"


async def test_failures_and_retries_are_logged_at_info_with_id_deployment_and_class(
    png_bytes: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    fakes = {"bad": _fake(faults={"503": 1.0}), "ok": _fake()}
    entries, transport = fleet(fakes)
    caplog.set_level(logging.INFO, logger="ocr_router")
    async with Router(entries, transport=transport, routing_strategy="round-robin") as router:
        await router.aocr("ocr", png_bytes, request_id="req-logged")
    lines = [r for r in caplog.records if r.name == "ocr_router.router"]
    kinds = [getattr(r, "event", None) for r in lines]
    assert "failure" in kinds and "retry" in kinds
    assert "success" not in kinds  # successes stay at DEBUG
    for record in lines:
        assert record.levelno == logging.INFO
        assert record.request_id == "req-logged"  # type: ignore[attr-defined]
        assert "req-logged" in record.getMessage()
        assert record.deployment_id == "bad"  # type: ignore[attr-defined]
        assert record.error_type == "ServerError"  # type: ignore[attr-defined]
        assert KEY not in record.getMessage()
    failure = next(r for r in lines if getattr(r, "event", None) == "failure")
    assert failure.error_type in failure.getMessage()  # type: ignore[attr-defined]


async def test_json_log_lines_carry_the_request_fields(
    png_bytes: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    fakes = {"bad": _fake(faults={"500": 1.0}), "ok": _fake()}
    entries, transport = fleet(fakes)
    caplog.set_level(logging.INFO, logger="ocr_router")
    async with Router(entries, transport=transport, routing_strategy="round-robin") as router:
        await router.aocr("ocr", png_bytes, request_id="json-1")
    formatter = JsonFormatter()
    [failure] = [
        json.loads(formatter.format(r))
        for r in caplog.records
        if getattr(r, "event", None) == "failure"
    ]
    assert failure["logger"] == "ocr_router.router"
    assert failure["level"] == "INFO"
    assert failure["request_id"] == "json-1"
    assert failure["deployment_id"] == "bad"
    assert failure["error_type"] == "ServerError"
    assert failure["group"] == "ocr" and failure["provider"] == "mistral"
    assert failure["attempt"] == 1 and failure["time"].endswith("+00:00")
    assert KEY not in json.dumps(failure)


def test_json_formatter_takes_the_id_of_the_request_in_progress() -> None:
    from router.telemetry.scope import RequestScope

    record = logging.LogRecord("ocr_router.x", logging.WARNING, __file__, 1, "%s!", ("hi",), None)
    with RequestScope("ocr", "scoped-9"):
        inside = json.loads(JsonFormatter().format(record))
    outside = json.loads(JsonFormatter().format(record))
    assert inside["request_id"] == "scoped-9" and inside["message"] == "hi!"
    assert "request_id" not in outside


def test_every_logger_of_the_package_is_under_ocr_router() -> None:
    import router.api
    import router.config._base
    import router.events
    import router.state.redis.state

    names = {
        module.logger.name
        for module in (router.api, router.config._base, router.events, router.state.redis.state)
    }
    assert names == {
        "ocr_router.api",
        "ocr_router.config",
        "ocr_router.router",
        "ocr_router.state.redis",
    }


async def test_a_failing_hooks_log_line_names_the_request(
    png_bytes: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(event: RouterEvent) -> None:
        raise RuntimeError("a hook bug")

    entries, transport = fleet({"ok": _fake()})
    async with Router(entries, transport=transport, hooks=[broken]) as router:
        await router.aocr("ocr", png_bytes, request_id="hooked-1")
    [record] = [r for r in caplog.records if "router hook" in r.getMessage()]
    assert record.request_id == "hooked-1"  # type: ignore[attr-defined]
    assert "request hooked-1" in record.getMessage()
