"""Every failure a provider call can meet becomes the typed error WIRE.md's status table asks for,
with the right retry and cooldown advice, whatever envelope the provider wraps it in."""

from __future__ import annotations

import email.utils
import time
from typing import Any

import httpx
import pytest
from provider_helpers import Recorder, mock_client

from providers import create_provider
from providers.base import Provider
from router.errors import (
    APIConnectionError,
    AuthenticationError,
    BadRequestError,
    Cooldown,
    InvalidResponseError,
    NotFoundError,
    OCRRouterError,
    PermissionDeniedError,
    RateLimitError,
    RequestTimeoutError,
    ServerError,
    UnprocessableEntityError,
)
from router.types import OCRRequest

PDF_URI = "data:application/pdf;base64,JVBERi0xLjQKJSVFT0YK"


def mistral() -> Provider:
    return create_provider("mistral/mistral-ocr-2512", api_key="mk-1")


def azure() -> Provider:
    return create_provider(
        "azure_ai/mistral-document-ai-2512",
        api_key="az-1",
        api_base="https://r.services.ai.azure.com",
    )


def vertex() -> Provider:
    return create_provider("vertex_ai/mistral-ocr-2505", project="p", token="ya29.t")


def mistral_envelope(status: int, message: str) -> Any:
    return {"object": "error", "message": message, "type": "invalid_request_error", "code": None}


def azure_envelope(status: int, message: str) -> Any:
    return {"error": {"code": str(status), "message": message}}


def google_envelope(status: int, message: str) -> Any:
    return {"error": {"code": status, "message": message, "status": "SOME_STATUS"}}


def google_list_envelope(status: int, message: str) -> Any:
    return [google_envelope(status, message)]


DIALECTS = [
    pytest.param(mistral, mistral_envelope, id="mistral"),
    pytest.param(azure, azure_envelope, id="azure"),
    pytest.param(vertex, google_envelope, id="vertex"),
    pytest.param(vertex, google_list_envelope, id="vertex-list"),
]

STATUS_TABLE = [
    (400, BadRequestError, False, Cooldown.NONE),
    (401, AuthenticationError, False, Cooldown.LONG),
    (403, PermissionDeniedError, False, Cooldown.LONG),
    (404, NotFoundError, False, Cooldown.LONG),
    (408, RequestTimeoutError, True, Cooldown.ON_REPEAT),
    (422, UnprocessableEntityError, False, Cooldown.NONE),
    (429, RateLimitError, True, Cooldown.RETRY_AFTER),
    (500, ServerError, True, Cooldown.ON_REPEAT),
    (502, ServerError, True, Cooldown.ON_REPEAT),
    (503, ServerError, True, Cooldown.ON_REPEAT),
    (504, ServerError, True, Cooldown.ON_REPEAT),
]


async def failure_of(provider: Provider, response: httpx.Response | Exception) -> OCRRouterError:
    def answer(request: httpx.Request) -> httpx.Response:
        if isinstance(response, Exception):
            raise response
        return response

    async with mock_client(Recorder(answer)) as client:
        with pytest.raises(OCRRouterError) as caught:
            await provider.send(OCRRequest.build(PDF_URI), client)
    return caught.value


@pytest.mark.parametrize(("make", "envelope"), DIALECTS)
@pytest.mark.parametrize(("status", "error_class", "retryable", "cooldown"), STATUS_TABLE)
async def test_each_status_maps_to_its_error_in_each_envelope(
    make: Any,
    envelope: Any,
    status: int,
    error_class: type[OCRRouterError],
    retryable: bool,
    cooldown: Cooldown,
) -> None:
    provider = make()
    body = envelope(status, f"upstream says {status}")
    error = await failure_of(provider, httpx.Response(status, json=body))
    assert type(error) is error_class
    assert error.status_code == status
    assert error.retryable is retryable
    assert error.cooldown is cooldown
    assert error.provider == provider.name
    assert f"upstream says {status}" in str(error)
    assert error.retry_after is None


@pytest.mark.parametrize(
    "body", [{"message": "Unauthorized", "request_id": "req-42"}, {"detail": "Unauthorized"}]
)
async def test_mistral_401_in_both_forms_is_an_authentication_error(body: Any) -> None:
    error = await failure_of(mistral(), httpx.Response(401, json=body))
    assert isinstance(error, AuthenticationError)
    assert "Unauthorized" in str(error)


async def test_mistral_401_keeps_the_request_id() -> None:
    body = {"message": "Unauthorized", "request_id": "req-42"}
    error = await failure_of(mistral(), httpx.Response(401, json=body))
    # The provider's id is `upstream_request_id`; `request_id` is the Router's own (issue 15).
    assert error.upstream_request_id == "req-42"
    assert error.request_id is None


async def test_mistral_422_names_the_refused_field() -> None:
    body = {
        "object": "error",
        "message": {
            "detail": [
                {
                    "type": "extra_forbidden",
                    "loc": ["body", "foo"],
                    "msg": "Extra inputs are not permitted",
                    "input": 1,
                }
            ]
        },
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }
    error = await failure_of(mistral(), httpx.Response(422, json=body))
    assert isinstance(error, UnprocessableEntityError)
    assert "foo: Extra inputs are not permitted" in str(error)
    assert error.retryable is False


async def test_google_status_name_is_part_of_the_message() -> None:
    body = [
        {
            "error": {
                "code": 429,
                "message": "Quota exceeded for aiplatform",
                "status": "RESOURCE_EXHAUSTED",
            }
        }
    ]
    error = await failure_of(vertex(), httpx.Response(429, json=body))
    assert isinstance(error, RateLimitError)
    assert "RESOURCE_EXHAUSTED" in str(error) and "Quota exceeded" in str(error)


@pytest.mark.parametrize("make", [mistral, azure, vertex])
async def test_retry_after_seconds_is_honoured(make: Any) -> None:
    response = httpx.Response(
        429, json={"message": "Rate limit exceeded"}, headers={"Retry-After": "2"}
    )
    error = await failure_of(make(), response)
    assert isinstance(error, RateLimitError)
    assert error.retry_after == 2.0


@pytest.mark.parametrize("make", [mistral, azure, vertex])
async def test_retry_after_http_date_is_turned_into_seconds(make: Any) -> None:
    when = email.utils.formatdate(time.time() + 120, usegmt=True)
    response = httpx.Response(429, json={"message": "slow down"}, headers={"Retry-After": when})
    error = await failure_of(make(), response)
    assert error.retry_after is not None
    assert 100 < error.retry_after <= 121  # whole-second date: within the minute it names


@pytest.mark.parametrize("make", [mistral, azure, vertex])
async def test_retry_after_ms_is_honoured(make: Any) -> None:
    response = httpx.Response(
        429, json={"message": "slow down"}, headers={"retry-after-ms": "1500"}
    )
    error = await failure_of(make(), response)
    assert error.retry_after == 1.5


async def test_retry_after_on_a_503_is_kept_too() -> None:
    response = httpx.Response(503, text="busy", headers={"Retry-After": "2"})
    error = await failure_of(azure(), response)
    assert isinstance(error, ServerError) and error.retry_after == 2.0


@pytest.mark.parametrize("make", [mistral, azure, vertex])
@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"   ",
        b"null",
        b"<html>Bad gateway</html>",
        b'{"object": "list", "data": []}',
        b"[1, 2]",
    ],
    ids=["empty", "blank", "null", "html", "not-ocr", "list"],
)
async def test_200_without_an_ocr_response_is_a_retryable_invalid_response(
    make: Any, body: bytes
) -> None:
    error = await failure_of(make(), httpx.Response(200, content=body))
    assert isinstance(error, InvalidResponseError)
    assert error.retryable is True
    assert error.cooldown is Cooldown.ON_REPEAT


@pytest.mark.parametrize("make", [mistral, azure, vertex])
async def test_read_timeout_is_a_retryable_request_timeout(make: Any) -> None:
    error = await failure_of(make(), httpx.ReadTimeout("timed out"))
    assert isinstance(error, RequestTimeoutError)
    assert error.retryable is True


@pytest.mark.parametrize("make", [mistral, azure, vertex])
@pytest.mark.parametrize(
    "failure",
    [
        httpx.ConnectError("connection refused"),
        httpx.RemoteProtocolError("peer closed connection without sending complete message"),
        httpx.ReadError("connection reset by peer"),
    ],
    ids=["connect", "protocol", "reset"],
)
async def test_connection_failures_are_retryable_connection_errors(
    make: Any, failure: Exception
) -> None:
    error = await failure_of(make(), failure)
    assert isinstance(error, APIConnectionError)
    assert error.retryable is True
    assert error.provider == make().name


async def test_a_successful_answer_parses_into_pages() -> None:
    recorder = Recorder()
    async with mock_client(recorder) as client:
        response = await mistral().send(OCRRequest.build(PDF_URI), client)
    assert response.pages[0].markdown == "# Title\n\ntext"
    assert response.usage_info.pages_processed == 1


class _Chunks(httpx.AsyncByteStream):
    """A body as the network delivers it: not yet read, so httpx decodes it while reading."""

    def __init__(self, content: bytes) -> None:
        self.content = content

    async def __aiter__(self) -> Any:
        yield self.content


@pytest.mark.parametrize("make", [mistral, azure, vertex])
@pytest.mark.parametrize("status", [200, 503])
async def test_a_body_that_fails_to_decompress_is_a_retryable_invalid_response(
    make: Any, status: int
) -> None:
    corrupt = httpx.Response(
        status, stream=_Chunks(b"this is not gzip"), headers={"Content-Encoding": "gzip"}
    )
    error = await failure_of(make(), corrupt)
    assert isinstance(error, InvalidResponseError)
    assert error.retryable is True
    assert error.provider == make().name
