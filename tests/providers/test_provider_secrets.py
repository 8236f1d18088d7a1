"""No key or token ever shows: not in an error message, a log record or a repr(), even when the
provider echoes it back or the connection fails with it in the message."""

from __future__ import annotations

import logging
import traceback
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from aiohttp import web
from loopback_site import serving
from provider_helpers import Recorder, mock_client

from providers import create_provider
from providers.base import Provider
from router.errors import (
    APIConnectionError,
    AuthenticationError,
    ConfigError,
    OCRRouterError,
)
from router.types import OCRRequest

CANARY = "sk-SECRET-canary-123"
PDF_URI = "data:application/pdf;base64,JVBERi0xLjQKJSVFT0YK"


def providers_holding_the_canary(api_base: str | None = None) -> list[Provider]:
    return [
        create_provider("mistral/mistral-ocr-latest", api_key=CANARY, api_base=api_base),
        create_provider(
            "azure_ai/mistral-document-ai-2512",
            api_key=CANARY,
            api_base=api_base or "https://r.services.ai.azure.com",
        ),
        create_provider(
            "vertex_ai/mistral-ocr-2505", project="proj-1", token=CANARY, api_base=api_base
        ),
    ]


def assert_no_canary(*texts: str) -> None:
    for text in texts:
        assert CANARY not in text


@pytest.fixture
async def echoing_server() -> AsyncIterator[str]:
    """A loopback server that answers 401 and echoes the Authorization header it got."""

    async def refuse(request: web.Request) -> web.Response:
        return web.json_response(
            {"message": f"Unauthorized: bad key {request.headers.get('Authorization')}"},
            status=401,
        )

    app = web.Application()
    app.router.add_post("/{tail:.*}", refuse)
    async with serving(app) as base:
        yield base


async def test_an_echoed_key_is_scrubbed_from_errors_and_logs_over_a_real_socket(
    echoing_server: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    errors: list[OCRRouterError] = []
    async with httpx.AsyncClient(trust_env=False) as client:
        for provider in providers_holding_the_canary(echoing_server):
            with pytest.raises(AuthenticationError) as caught:
                await provider.send(OCRRequest.build(PDF_URI), client)
            errors.append(caught.value)
            assert_no_canary(repr(provider), str(provider), repr(provider.settings))
    for error in errors:
        assert "bad key Bearer [redacted]" in str(error)  # the echo happened, and was scrubbed
        assert_no_canary(str(error), repr(error), *map(str, error.args))
    assert caplog.records  # httpx and httpcore did log the calls at DEBUG
    assert_no_canary(*(record.getMessage() for record in caplog.records), caplog.text)


@pytest.mark.parametrize("index", [0, 1, 2], ids=["mistral", "azure", "vertex"])
async def test_a_connection_error_naming_the_key_is_scrubbed(
    index: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    provider = providers_holding_the_canary()[index]

    def fail(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"proxy refused Authorization={CANARY}")

    async with mock_client(Recorder(fail)) as client:
        with pytest.raises(APIConnectionError) as caught:
            await provider.send(OCRRequest.build(PDF_URI), client)
    assert "[redacted]" in str(caught.value)
    assert_no_canary(str(caught.value), repr(caught.value), caplog.text)
    # The original httpx error (which names the key) is not chained into printed tracebacks.
    printed = "".join(traceback.format_exception(caught.value))
    assert "During handling" not in printed and "direct cause" not in printed
    assert_no_canary(printed)


async def test_a_key_from_the_environment_is_scrubbed_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MISTRAL_API_KEY", CANARY)
    provider = create_provider("mistral/mistral-ocr-latest")
    echo = Recorder(lambda request: httpx.Response(401, json={"detail": f"no {CANARY}"}))
    async with mock_client(echo) as client:
        with pytest.raises(AuthenticationError) as caught:
            await provider.send(OCRRequest.build(PDF_URI), client)
    assert_no_canary(str(caught.value), repr(caught.value), repr(provider))


async def test_a_vertex_token_from_a_callable_is_scrubbed() -> None:
    provider = create_provider("vertex_ai/mistral-ocr-2505", project="proj-1", token=lambda: CANARY)
    echo = Recorder(
        lambda request: httpx.Response(
            403, json=[{"error": {"code": 403, "message": f"token {CANARY} lacks permission"}}]
        )
    )
    async with mock_client(echo) as client:
        with pytest.raises(OCRRouterError) as caught:
            await provider.send(OCRRequest.build(PDF_URI), client)
    assert_no_canary(str(caught.value), repr(caught.value), repr(provider))


async def test_a_failing_token_callable_that_names_the_token_is_scrubbed() -> None:
    state: dict[str, Any] = {"calls": 0}

    def mint() -> str:
        state["calls"] += 1
        if state["calls"] == 1:
            return CANARY
        raise RuntimeError(f"could not renew {CANARY}")

    provider = create_provider("vertex_ai/mistral-ocr-2505", project="proj-1", token=mint)
    refused = Recorder(lambda request: httpx.Response(401, json={"error": {"code": 401}}))
    async with mock_client(refused) as client:
        with pytest.raises(AuthenticationError):
            await provider.send(OCRRequest.build(PDF_URI), client)
        with pytest.raises(AuthenticationError) as caught:  # the 401 dropped the token
            await provider.send(OCRRequest.build(PDF_URI), client)
    assert "could not renew" in str(caught.value)
    assert_no_canary(str(caught.value), repr(caught.value))


def test_config_errors_never_print_a_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_AI_API_KEY", CANARY)
    with pytest.raises(ConfigError) as caught:
        create_provider("azure_ai/mistral-document-ai-2512")
    assert "AZURE_AI_API_BASE" in str(caught.value)
    assert_no_canary(str(caught.value), repr(caught.value))
