"""ocr()/aocr() without a Router name their call too: a request id on call_info, the log line,
the error and (with a tracer provider) the request's span."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest

from router.api import aocr, ocr
from router.errors import RateLimitError

PDF_DATA_URI = "data:application/pdf;base64,JVBERi0xLjQKJcfsj6IKMSAwIG9iago8PD4+CmVuZG9iago="
KEY = "sk-request-ids-test-key-9c1d"
MODEL = "mistral/mistral-ocr-latest"


def _answer(request: httpx.Request) -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "pages": [{"index": 0, "markdown": "page"}],
            "model": "mistral-ocr-latest",
            "usage_info": {"pages_processed": 1},
        },
    )


def _refuse(request: httpx.Request) -> httpx.Response:
    return httpx.Response(429, json={"message": "slow down"})


async def test_a_call_gets_an_id_or_keeps_the_callers(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="ocr_router")
    async with httpx.AsyncClient(transport=httpx.MockTransport(_answer)) as client:
        made = await aocr(MODEL, PDF_DATA_URI, api_key=KEY, client=client)
        given = await aocr(MODEL, PDF_DATA_URI, api_key=KEY, client=client, request_id="doc-7")
    assert made.call_info is not None and len(made.call_info.request_id or "") == 32
    assert given.call_info is not None and given.call_info.request_id == "doc-7"
    [line] = [r for r in caplog.records if getattr(r, "request_id", None) == "doc-7"]
    assert line.name == "ocr_router.api" and "doc-7" in line.getMessage()


async def test_the_error_of_a_call_carries_its_id() -> None:
    async with httpx.AsyncClient(transport=httpx.MockTransport(_refuse)) as client:
        with pytest.raises(RateLimitError) as caught:
            await aocr(MODEL, PDF_DATA_URI, api_key=KEY, client=client, request_id="doc-8")
    assert caught.value.request_id == "doc-8"
    assert "(request id doc-8)" in str(caught.value)


def test_the_blocking_call_takes_an_id() -> None:
    client = httpx.AsyncClient(transport=httpx.MockTransport(_answer))
    response = ocr(MODEL, PDF_DATA_URI, api_key=KEY, client=client, request_id="doc-9")
    assert response.call_info is not None and response.call_info.request_id == "doc-9"


async def test_a_call_is_one_request_span(spans: Any) -> None:
    async with httpx.AsyncClient(transport=httpx.MockTransport(_answer)) as client:
        await aocr(MODEL, PDF_DATA_URI, api_key=KEY, client=client, request_id="doc-10")
    [span] = spans.get_finished_spans()
    assert span.name == "ocr_router.request"
    assert span.attributes["ocr_router.request_id"] == "doc-10"
    assert span.attributes["ocr_router.outcome"] == "success"
    assert span.attributes["gen_ai.provider.name"] == "mistral_ai"
    assert KEY not in repr(dict(span.attributes))
