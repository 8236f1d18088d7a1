"""Every failure of the proxy as Mistral's error envelope, with the status a client can act on.

A Mistral client reads errors in one shape: `{"object": "error", "message", "type", "param",
"code"}`. Whatever goes wrong here (a body that is not JSON, a wrong key, a router error after
retries, a bug) is answered in that shape, never with a stack trace or a secret. The status says
what the *client* should do: 4xx, fix the request; 429/503, come back after `Retry-After`;
502/504, the upstream providers failed (the client's key to this proxy is fine).

A 422 also carries `detail`, the list FastAPI-style clients parse (the official `mistralai` client
reads it into `HTTPValidationError.data.detail`): `[{"type", "loc": ["body", field...], "msg"}]`.
"""

from __future__ import annotations

import json
import logging
import math
import traceback
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.responses import Response

from router.errors import (
    MAX_LISTED_PROBLEMS,
    AuthenticationError,
    BadRequestError,
    ConfigError,
    DocumentTooLargeError,
    FileIdNotFoundError,
    InvalidRequestError,
    NotFoundError,
    OCRRouterError,
    PermissionDeniedError,
    RateLimitError,
    RequestTimeoutError,
    UnprocessableEntityError,
    echoed,
    scrub,
)

logger = logging.getLogger("ocr_router.proxy")

# Every error answer is small whatever the request: the message is cut (after scrubbing, so no
# part of a secret survives the cut), `detail` names the first few problems.
MAX_MESSAGE_CHARS = 2000


@dataclass
class ProxyError(Exception):
    """An error answer: status, the envelope's fields, and extra headers (`Retry-After`)."""

    status: int
    message: str
    type: str
    param: str | None = None
    code: str | None = None
    detail: list[dict[str, Any]] | None = None  # 422 only: the validation problems
    headers: dict[str, str] = field(default_factory=dict)

    def envelope(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "object": "error",
            "message": self.message,
            "type": self.type,
            "param": self.param,
            "code": self.code,
        }
        if self.detail is not None:
            body["detail"] = self.detail
        return body

    def response(self, secrets: Iterable[str] = ()) -> Response:
        secrets = tuple(secrets)
        envelope = self.envelope()
        envelope["message"] = echoed_message(self.message, secrets)
        if self.param is not None:
            envelope["param"] = echoed(scrub(self.param, secrets))
        if self.detail is not None:
            envelope["detail"] = [
                {**item, "msg": echoed_message(str(item.get("msg", "")), secrets)}
                for item in self.detail[:MAX_LISTED_PROBLEMS]
            ]
        return Response(
            json.dumps(envelope, separators=(",", ":")),
            status_code=self.status,
            headers=self.headers,
            media_type="application/json",
        )


def echoed_message(text: str, secrets: Iterable[str]) -> str:
    text = scrub(text, secrets)
    return text if len(text) <= MAX_MESSAGE_CHARS else text[: MAX_MESSAGE_CHARS - 1] + "…"


def invalid_request(
    message: str, *, field_path: Sequence[str | int] = (), kind: str = "value_error"
) -> ProxyError:
    """422 naming one field of the body (`field_path` below "body")."""
    location: list[str | int] = ["body", *field_path]
    return ProxyError(
        422,
        message,
        "invalid_request_error",
        param=".".join(str(part) for part in field_path) or None,
        code="invalid_request",
        detail=[{"type": kind, "loc": location, "msg": message}],
    )


def retry_after_header(seconds: float | None) -> dict[str, str]:
    """`Retry-After` in whole seconds, rounded up (HTTP allows no fraction), at least 1."""
    if seconds is None or not math.isfinite(seconds):
        return {}
    return {"Retry-After": str(max(1, math.ceil(seconds)))}


def from_router_error(error: OCRRouterError) -> ProxyError:
    """The answer to an error the Router raised (after its retries, if any)."""
    # Imported here: router.router imports httpx and the whole router, the proxy's errors
    # module should stay importable on its own.
    from router.router import NoDeploymentAvailableError, UnknownModelError

    message = str(error)
    if isinstance(error, InvalidRequestError):
        detail = [
            {
                "type": str(problem.get("type") or "value_error"),
                "loc": ["body", *[part for part in problem.get("loc", []) if part is not None]],
                "msg": str(problem.get("msg", "")),
            }
            for problem in error.errors
        ]
        first = detail[0]["loc"][1:] if detail else []
        param = ".".join(str(part) for part in first) or None
        return ProxyError(
            422, message, "invalid_request_error", param, "invalid_request", detail=detail
        )
    if isinstance(error, UnknownModelError):
        return ProxyError(404, message, "invalid_request_error", "model", "model_not_found")
    if isinstance(error, NoDeploymentAvailableError):
        return ProxyError(
            503,
            message,
            "service_unavailable",
            code="no_deployment_available",
            headers=retry_after_header(error.retry_after),
        )
    if isinstance(error, RateLimitError):
        return ProxyError(
            429,
            message,
            "rate_limited",
            code="rate_limited",
            headers=retry_after_header(error.retry_after),
        )
    if isinstance(error, FileIdNotFoundError):
        # The client's file_id, not the proxy's deployments: a 404 the client can act on.
        return ProxyError(
            404, message, "invalid_request_error", "document.file_id", "file_not_found"
        )
    if isinstance(error, (AuthenticationError, PermissionDeniedError, NotFoundError, ConfigError)):
        # Every deployment tried refused *the router's* credentials or endpoint: an operator's
        # problem, not the client's (whose key to the proxy was accepted).
        return ProxyError(
            502,
            "the upstream deployments refused the proxy's own credentials or endpoint (your key "
            f"to this proxy is fine; the operator must fix the deployments): {message}",
            "upstream_error",
            code="upstream_misconfigured",
        )
    if isinstance(error, RequestTimeoutError):
        return ProxyError(504, message, "timeout", code="upstream_timeout")
    if isinstance(error, DocumentTooLargeError):
        return ProxyError(413, message, "invalid_request_error", "document", "document_too_large")
    if isinstance(error, UnprocessableEntityError):
        # A provider refused a field (an older model): the same request fails everywhere.
        detail = [{"type": "upstream_validation", "loc": ["body"], "msg": message}]
        return ProxyError(
            422, message, "invalid_request_error", code="invalid_request", detail=detail
        )
    if isinstance(error, BadRequestError):
        return ProxyError(400, message, "invalid_request_error", code="bad_request")
    # ServerError, APIConnectionError, InvalidResponseError, DocumentFetchError and the rest:
    # the providers failed after every retry the router allowed.
    return ProxyError(502, message, "upstream_error", code="upstream_failed")


def internal_error(error: BaseException, where: str, request_id: str | None = None) -> ProxyError:
    """500 for a bug: logged with its stack (frames only: an exception's message may quote a
    request or a secret) and the request's id, answered with a generic message."""
    frames = "".join(traceback.format_tb(error.__traceback__))
    logger.error(
        "unexpected %s in %s (request id %s)\n%s",
        type(error).__name__,
        where,
        request_id or "-",
        frames,
        extra={"request_id": request_id, "error_type": type(error).__name__},
    )
    return ProxyError(500, "internal error in ocr-router proxy", "internal_error", code="internal")


def http_error(status: int, headers: Mapping[str, str] | None = None) -> ProxyError:
    """404 (unknown path), 405 (method not allowed) and other routing answers."""
    messages = {
        404: ("no such route", "not_found_error"),
        405: ("method not allowed on this route", "invalid_request_error"),
    }
    message, kind = messages.get(status, ("request refused", "invalid_request_error"))
    return ProxyError(status, message, kind, headers=dict(headers or {}))


__all__ = [
    "ProxyError",
    "from_router_error",
    "http_error",
    "internal_error",
    "invalid_request",
    "retry_after_header",
]
