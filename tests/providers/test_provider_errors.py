"""Every failure a provider call can meet becomes the typed error WIRE.md's status table asks for,
with the right retry and cooldown advice, whatever envelope the provider wraps it in."""

from __future__ import annotations

import email.utils
import time
from typing import Any

import httpx
import pytest
from provider_helpers import OCR_OK, Recorder, mock_client

from providers import create_provider
from providers.base import Provider
from providers.mistral import FILE_ID_RETRY_DELAYS
from router.errors import (
    APIConnectionError,
    AuthenticationError,
    BadRequestError,
    Cooldown,
    FileIdNotFoundError,
    InvalidResponseError,
    NotFoundError,
    OCRRouterError,
    PermissionDeniedError,
    RateLimitError,
    RequestTimeoutError,
    ServerError,
    UnprocessableEntityError,
)
from router.retry import instant_backoff, worth_retrying
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


# --- a 404 about a file_id (WIRE.md: "a 404 on a `file_id` is the request's") ----------------

FILE_ID = "3f2b1c9e-8a7d-4e6f-9b0a-1c2d3e4f5a6b"
FILE_404_BODIES = [
    pytest.param(
        {"object": "error", "message": f"File {FILE_ID} not found", "type": "not_found"},
        id="the-fakes-mistral-envelope",
    ),
    pytest.param({"object": "error", "message": "Not found", "code": None}, id="terse-envelope"),
    pytest.param({"detail": f"No file with id {FILE_ID}"}, id="fastapi-detail"),
    pytest.param("not found", id="plain-text"),
    pytest.param(None, id="empty"),
]
DEPLOYMENT_404_BODIES = [
    pytest.param(
        {"object": "error", "message": "Invalid model: mistral-ocr-2505", "type": "invalid_model"},
        id="retired-model",
    ),
    pytest.param(
        {
            "object": "error",
            "message": "The model `mistral-ocr-2411` does not exist for router `ocr`.",
            "type": "model_not_found",
            "code": "3040",
        },
        id="unknown-model",
    ),
    pytest.param({"detail": "Not Found"}, id="no-such-route"),
]


def answer_with(status: int, body: Any) -> httpx.Response:
    if body is None:
        return httpx.Response(status)
    if isinstance(body, str):
        return httpx.Response(status, text=body)
    return httpx.Response(status, json=body)


async def file_failure(status: int, body: Any, *, calls: list[int] | None = None) -> OCRRouterError:
    def answer(request: httpx.Request) -> httpx.Response:
        if calls is not None:
            calls.append(1)
        return answer_with(status, body)

    async with mock_client(Recorder(answer)) as client:
        with pytest.raises(OCRRouterError) as caught:
            await mistral().send(OCRRequest.build({"type": "file", "file_id": FILE_ID}), client)
    return caught.value


@pytest.mark.parametrize("body", FILE_404_BODIES)
async def test_a_404_to_a_file_id_is_the_requests_error_and_cools_nothing(body: Any) -> None:
    with instant_backoff():
        error = await file_failure(404, body)
    assert type(error) is FileIdNotFoundError
    assert isinstance(error, BadRequestError) and not isinstance(error, NotFoundError)
    assert (error.status_code, error.retryable, error.cooldown) == (404, False, Cooldown.NONE)
    assert error.file_id == FILE_ID and FILE_ID in error.message
    assert "not found" in error.message and "retry after a moment" in error.message
    assert not worth_retrying(error)  # no other deployment is tried: each would answer the same


@pytest.mark.parametrize("body", DEPLOYMENT_404_BODIES)
async def test_a_404_to_a_file_id_naming_the_model_or_route_is_the_deployments(body: Any) -> None:
    calls: list[int] = []
    error = await file_failure(404, body, calls=calls)
    assert type(error) is NotFoundError and error.cooldown is Cooldown.LONG
    assert calls == [1]  # the deployment's 404 is not asked again


async def test_a_404_without_a_file_id_is_the_deployments_whatever_the_body() -> None:
    body = {"object": "error", "message": f"File {FILE_ID} not found", "type": "not_found"}
    error = await failure_of(mistral(), answer_with(404, body))
    assert type(error) is NotFoundError and error.cooldown is Cooldown.LONG


async def test_other_statuses_to_a_file_id_keep_their_class() -> None:
    assert type(await file_failure(400, {"message": "bad"})) is BadRequestError
    with instant_backoff():
        assert type(await file_failure(503, {"message": "busy"})) is ServerError


async def test_a_file_id_404_is_asked_again_after_each_delay_then_raised() -> None:
    calls: list[int] = []
    with instant_backoff():
        error = await file_failure(404, None, calls=calls)
    assert isinstance(error, FileIdNotFoundError)
    assert len(calls) == 1 + len(FILE_ID_RETRY_DELAYS)


async def test_a_file_id_404_then_the_file_is_served_in_one_call() -> None:
    answers = iter([answer_with(404, None), httpx.Response(200, json=OCR_OK)])
    recorder = Recorder(lambda request: next(answers))
    with instant_backoff():
        async with mock_client(recorder) as client:
            request = OCRRequest.build({"type": "file", "file_id": FILE_ID})
            response = await mistral().send(request, client)
    assert response.pages and len(recorder.requests) == 2


async def test_a_file_id_404_scrubs_the_key_from_its_message() -> None:
    with instant_backoff():
        error = await file_failure(404, {"message": "file not found for key mk-1"})
    assert isinstance(error, FileIdNotFoundError) and "mk-1" not in str(error)
