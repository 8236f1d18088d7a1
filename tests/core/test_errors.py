import email.utils
import json
import time

import pytest

from router.errors import (
    APIConnectionError,
    AuthenticationError,
    BadRequestError,
    Cooldown,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RequestTimeoutError,
    ServerError,
    UnprocessableEntityError,
    describe_error_body,
    error_from_response,
    parse_retry_after,
    scrub,
)


@pytest.mark.parametrize(
    ("status", "error_class", "retryable", "cooldown"),
    [
        (400, BadRequestError, False, Cooldown.NONE),
        (422, UnprocessableEntityError, False, Cooldown.NONE),
        (401, AuthenticationError, False, Cooldown.LONG),
        (403, PermissionDeniedError, False, Cooldown.LONG),
        (404, NotFoundError, False, Cooldown.LONG),
        (408, RequestTimeoutError, True, Cooldown.ON_REPEAT),
        (429, RateLimitError, True, Cooldown.RETRY_AFTER),
        (500, ServerError, True, Cooldown.ON_REPEAT),
        (502, ServerError, True, Cooldown.ON_REPEAT),
        (503, ServerError, True, Cooldown.ON_REPEAT),
        (504, ServerError, True, Cooldown.ON_REPEAT),
    ],
)
def test_each_status_maps_to_its_error(
    status: int, error_class: type, retryable: bool, cooldown: Cooldown
) -> None:
    error = error_from_response(status, {}, b'{"message": "x"}', provider="mistral")
    assert type(error) is error_class
    assert error.status_code == status
    assert error.retryable is retryable
    assert error.cooldown is cooldown
    assert error.provider == "mistral"


def test_connection_errors_are_transient() -> None:
    assert APIConnectionError("reset").retryable
    assert APIConnectionError("reset").cooldown is Cooldown.ON_REPEAT


def test_retry_after_in_seconds_milliseconds_and_http_date() -> None:
    assert parse_retry_after({"Retry-After": "2"}) == 2.0
    assert parse_retry_after({"retry-after-ms": "1500"}) == 1.5
    assert parse_retry_after({"retry-after-ms": "250", "Retry-After": "9"}) == 0.25
    now = time.time()
    date = email.utils.formatdate(now + 30, usegmt=True)
    assert parse_retry_after({"Retry-After": date}, now=now) == pytest.approx(30, abs=1)
    assert parse_retry_after({"Retry-After": "soon"}) is None
    assert parse_retry_after({}) is None


def test_rate_limit_error_carries_retry_after() -> None:
    error = error_from_response(429, {"Retry-After": "2"}, b"{}")
    assert isinstance(error, RateLimitError)
    assert error.retry_after == 2.0


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"message": "Unauthorized", "request_id": "r1"}, "Unauthorized"),
        ({"detail": "Unauthorized"}, "Unauthorized"),
        (
            {
                "object": "error",
                "message": {
                    "detail": [
                        {"type": "extra_forbidden", "loc": ["body", "foo"], "msg": "Extra inputs"}
                    ]
                },
                "type": "invalid_request_error",
            },
            "foo: Extra inputs",
        ),
        ({"object": "error", "message": "Rate limit exceeded", "code": "1300"}, "Rate limit"),
        ({"error": {"code": "404", "message": "Resource not found"}}, "404: Resource not found"),
        (
            {"error": {"code": 429, "message": "Quota exceeded", "status": "RESOURCE_EXHAUSTED"}},
            "RESOURCE_EXHAUSTED: Quota exceeded",
        ),
        (
            [{"error": {"code": 401, "message": "no token", "status": "UNAUTHENTICATED"}}],
            "UNAUTHENTICATED: no token",
        ),
    ],
)
def test_provider_envelopes_become_readable_messages(body: object, expected: str) -> None:
    message, _ = describe_error_body(json.dumps(body).encode())
    assert expected in message


def test_request_id_is_kept() -> None:
    assert describe_error_body(b'{"message": "x", "request_id": "abc"}')[1] == "abc"


def test_non_json_and_empty_bodies_are_described() -> None:
    assert describe_error_body(b"")[0] == "empty response body"
    assert describe_error_body(b"<html>Bad Gateway</html>")[0] == "<html>Bad Gateway</html>"


def test_secrets_echoed_by_a_provider_are_scrubbed() -> None:
    key = "sk-SECRET-canary-123"
    error = error_from_response(401, {}, json.dumps({"message": f"bad key {key}"}), secrets=[key])
    assert key not in str(error)
    assert key not in repr(error)
    assert scrub("a sk-SECRET-canary-123 b", [key, None]) == "a [redacted] b"


def test_error_names_provider_and_deployment() -> None:
    error = ServerError("500 boom", provider="azure_ai", deployment_id="ocr/azure#1")
    assert str(error) == "[ocr/azure#1 (azure_ai)] 500 boom"
    # A derived id already names its provider: said once, not twice.
    derived = ServerError("500 boom", provider="mistral", deployment_id="ocr/mistral/m#1a2b")
    assert str(derived) == "[ocr/mistral/m#1a2b] 500 boom"
    assert str(ServerError("500 boom", provider="mistral")) == "[mistral] 500 boom"
