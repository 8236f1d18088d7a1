"""No key or token ever shows: not in errors, log records (DEBUG included), stderr or repr().

Each test sends a distinctive secret, captures everything the call could print or log, and
searches it for the secret.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from typing import Any

import pytest
from api_samples import SECRET_KEY

from providers import create_provider
from providers.fake import FakeProvider
from router.api import aocr, ocr
from router.errors import APIConnectionError, AuthenticationError, OCRRouterError

FakeServer = Callable[[FakeProvider], Any]
OTHER_KEY = "sk-the-key-the-fake-expects-0c9d8e7f"
REMOTE_DOCUMENT = {"type": "document_url", "document_url": "https://arxiv.org/pdf/2201.04234"}


@pytest.fixture(autouse=True)
def _capture_everything(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, httpx and httpcore included


def _assert_nowhere(
    secret: str, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str], *objects: Any
) -> None:
    captured = capsys.readouterr()
    assert secret not in captured.out
    assert secret not in captured.err
    for record in caplog.records:
        assert secret not in record.getMessage(), record.name
        assert secret not in repr(record.args), record.name
    assert caplog.records, "nothing was logged: the search proves nothing"
    for item in objects:
        assert secret not in repr(item)
        assert secret not in str(item)


def _model_and_secret_settings(provider: str) -> tuple[str, dict[str, Any]]:
    if provider == "vertex_ai":
        return "vertex_ai/mistral-ocr-2505", {"vertex_project": "p-1", "token": SECRET_KEY}
    if provider == "azure_ai":
        return "azure_ai/mistral-document-ai-2512", {"api_key": SECRET_KEY}
    return "mistral/mistral-ocr-latest", {"api_key": SECRET_KEY}


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port  # closed when the socket is: connecting to it is refused


async def test_wrong_key_is_an_authentication_error_that_shows_no_key(
    fake_server: FakeServer,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    base_url = await fake_server(FakeProvider("mistral", api_key=OTHER_KEY))
    with pytest.raises(AuthenticationError) as caught:
        await aocr(
            "mistral/mistral-ocr-latest", REMOTE_DOCUMENT, api_key=SECRET_KEY, api_base=base_url
        )
    assert caught.value.status_code == 401
    _assert_nowhere(SECRET_KEY, caplog, capsys, caught.value, caught.value.args)


async def test_refused_connection_is_an_api_connection_error_that_shows_no_key(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(APIConnectionError) as caught:
        await aocr(
            "mistral/mistral-ocr-latest",
            REMOTE_DOCUMENT,
            api_key=SECRET_KEY,
            api_base=f"http://127.0.0.1:{_closed_port()}",
        )
    _assert_nowhere(SECRET_KEY, caplog, capsys, caught.value, caught.value.args)


def test_sync_failure_from_the_environment_key_shows_no_key(
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MISTRAL_API_KEY", SECRET_KEY)
    fake = FakeProvider("mistral", api_key=OTHER_KEY)
    with fake.serve_in_thread() as base_url, pytest.raises(AuthenticationError) as caught:
        ocr(model="mistral/mistral-ocr-latest", document=REMOTE_DOCUMENT, api_base=base_url)
    _assert_nowhere(SECRET_KEY, caplog, capsys, caught.value)


@pytest.mark.parametrize("provider", ["mistral", "azure_ai", "vertex_ai"])
async def test_successful_call_shows_no_secret(
    provider: str,
    fake_server: FakeServer,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    base64_pdf: str,
) -> None:
    base_url = await fake_server(FakeProvider(provider, api_key=SECRET_KEY))
    model, settings = _model_and_secret_settings(provider)
    document = {"type": "document_url", "document_url": f"data:application/pdf;base64,{base64_pdf}"}
    response = await aocr(model, document, api_base=base_url, **settings)
    built = create_provider(model, api_base=base_url, **settings)
    _assert_nowhere(SECRET_KEY, caplog, capsys, response, response.call_info, built)
    # Document content stays out of the logs too.
    assert all(base64_pdf[:40] not in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize("provider", ["mistral", "azure_ai", "vertex_ai"])
async def test_provider_error_in_each_dialect_shows_no_secret(
    provider: str,
    fake_server: FakeServer,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    base64_pdf: str,
) -> None:
    base_url = await fake_server(FakeProvider(provider, api_key=SECRET_KEY, script=["503"]))
    model, settings = _model_and_secret_settings(provider)
    document = {"type": "document_url", "document_url": f"data:application/pdf;base64,{base64_pdf}"}
    with pytest.raises(OCRRouterError) as caught:
        await aocr(model, document, api_base=base_url, **settings)
    assert caught.value.status_code == 503
    _assert_nowhere(SECRET_KEY, caplog, capsys, caught.value)
