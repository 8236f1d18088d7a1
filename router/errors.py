"""The error taxonomy: one class per status the hosts document (400 to 429, and 5xx).

Every error knows what a router should do with it: whether the same request may be retried
(`retryable`), how the deployment that raised it is cooled down (`cooldown`), and how long the
provider asked us to wait (`retry_after`, seconds). Messages never hold a key or a token: they are
built from the provider's error envelope and scrubbed of every secret the caller configured.
"""

from __future__ import annotations

import email.utils
import enum
import json
import math
import re
import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from pydantic import ValidationError


# An error names the first few problems and counts the rest, and echoes a caller's name only in
# part: a million unknown keys, or one key of a megabyte, must not make a huge error.
MAX_LISTED_PROBLEMS = 10
MAX_ECHOED_CHARS = 64


def echoed(text: Any) -> str:
    """`text` as an error may quote it: at most `MAX_ECHOED_CHARS` characters."""
    shown = str(text)
    return shown if len(shown) <= MAX_ECHOED_CHARS else shown[: MAX_ECHOED_CHARS - 1] + "…"


class Cooldown(enum.Enum):
    """How an error cools the deployment that produced it."""

    NONE = "none"  # the request was wrong, not the deployment
    LONG = "long"  # credentials or endpoint are wrong: retrying soon is pointless
    RETRY_AFTER = "retry_after"  # rate limited: out until the provider's Retry-After
    ON_REPEAT = "on_repeat"  # transient: cooled only after repeated failures


class OCRRouterError(Exception):
    """Base of every error ocr-router raises."""

    status_code: ClassVar[int] = 500
    retryable: ClassVar[bool] = False
    cooldown: ClassVar[Cooldown] = Cooldown.NONE
    # True when one deployment cannot take this request but another may (router/fit.py).
    refused_by_deployment: bool = False
    # True when every deployment refused or cannot take the request: no retry can help.
    every_deployment_refused: bool = False

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        deployment_id: str | None = None,
        retry_after: float | None = None,
        status: int | None = None,
        upstream_request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.deployment_id = deployment_id
        self.retry_after = retry_after
        # The provider's own id for its answer (quote it to its support), from its error body.
        self.upstream_request_id = upstream_request_id
        # The router's id of the request (router/telemetry/request_ids.py), set by the Router.
        self.request_id: str | None = None
        if status is not None:
            self.status_code = status  # type: ignore[misc]  # per-instance status for 5xx kinds

    def __str__(self) -> str:
        suffix = f" (request id {self.request_id})" if self.request_id else ""
        return f"{self._where()}{self.message}{suffix}"

    def _where(self) -> str:
        """`[ocr/mistral/mistral-ocr-latest#1a2b] `, `[azure-1 (azure_ai)] `: the deployment,
        and its provider unless the id already names it (derived ids do)."""
        deployment, provider = self.deployment_id, self.provider
        if not deployment:
            return f"[{provider}] " if provider else ""
        if not provider or provider in re.split(r"[/#]", deployment):
            return f"[{deployment}] "
        return f"[{deployment} ({provider})] "

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status_code}, {str(self)!r})"


class RouterClosedError(RuntimeError):
    """A Router was used after `close()` or `aclose()`. Its pools are closed for good: reopening
    them in silence would leak connections nobody closes again. Make a new Router instead."""


class ConfigError(OCRRouterError, ValueError):
    """A setting is missing or wrong (raised before any request is sent)."""

    status_code = 500


class BadRequestError(OCRRouterError):
    """400: the request is wrong; it would fail on every deployment."""

    status_code = 400


class InvalidRequestError(BadRequestError, ValueError):
    """The request failed validation before it was sent; `errors` lists each problem."""

    status_code = 422

    def __init__(
        self, message: str, *, field: str | None = None, errors: list[dict[str, Any]] | None = None
    ) -> None:
        super().__init__(message)
        self.errors = errors if errors is not None else [{"loc": [field], "msg": message}]

    @classmethod
    def from_validation(cls, error: ValidationError) -> InvalidRequestError:
        problems: list[dict[str, Any]] = []
        lines: list[str] = []
        items = _relevant(error.errors(include_url=False, include_input=False))
        for item in items[:MAX_LISTED_PROBLEMS]:
            if item["type"] == "extra_forbidden":
                # The last part is the caller's own unknown name ("str", "a[0]"...): keep it.
                *path, unknown = item["loc"]
                item["loc"] = [*_clean_location(path), echoed(unknown)]
            else:
                item["loc"] = _clean_location(item["loc"])
            location = ".".join(str(part) for part in item["loc"]) or "request"
            if item["type"] == "extra_forbidden":
                message = (
                    "unknown parameter, not in Mistral's OCR API "
                    "(pass it in extra_body= to send it anyway)"
                )
            else:
                message = str(item["msg"]).removeprefix("Value error, ")
            problems.append({"loc": list(item["loc"]), "msg": message, "type": item["type"]})
            lines.append(f"{location}: {message}")
        if len(items) > MAX_LISTED_PROBLEMS:
            lines.append(f"and {len(items) - MAX_LISTED_PROBLEMS} more problems")
        return cls("invalid OCR request: " + "; ".join(lines), errors=problems)


_UNION_TAGS = {"document_url", "image_url", "file"}


def _clean_location(location: tuple[Any, ...] | list[Any]) -> list[Any]:
    """Drop pydantic's union-branch labels (`document.document_url.document_url` is the
    document_url field of the document, `pages.list[int].0` is page 0)."""
    parts = list(location)
    if len(parts) > 2 and parts[0] == "document" and parts[1] in _UNION_TAGS:
        del parts[1]
    return [
        part
        for part in parts
        if not (
            isinstance(part, str)
            and (
                "[" in part
                or part
                in {"str", "int", "bool", "list", "dict", "function-after", "function-before"}
            )
        )
    ]


def _relevant(items: list[Any]) -> list[Any]:
    # In a union, "should be a valid string" next to a real problem in the other branch is noise.
    kept = [item for item in items if not str(item["type"]).endswith("_type")]
    top_fields_with_real_problems = {item["loc"][0] for item in kept if item["loc"]}
    return [
        item
        for item in items
        if not str(item["type"]).endswith("_type")
        or not item["loc"]
        or item["loc"][0] not in top_fields_with_real_problems
    ]


class UnprocessableEntityError(BadRequestError):
    """422 from a provider: a field it does not accept."""

    status_code = 422


class CapabilityError(BadRequestError):
    """This deployment cannot take this request (a limit, a field or a document kind its host or
    model lacks); another deployment may. The router moves the request without cooling it."""

    refused_by_deployment = True


class UnsafeDocumentURLError(BadRequestError):
    """A remote document's address is loopback, private, link-local or otherwise refused."""


class DocumentTooLargeError(BadRequestError):
    """A document is over the size a provider or the download guard allows."""

    status_code = 413


class FileIdNotFoundError(BadRequestError):
    """404 to a `file_id` document: the host does not know that file (a wrong or deleted id, or
    one uploaded a moment ago and not visible yet). The request's error, not the deployment's:
    nothing is cooled and no other deployment is tried, since each would answer the same.
    `file_id` names the file."""

    status_code = 404

    def __init__(self, message: str, *, file_id: str, **context: Any) -> None:
        super().__init__(message, **context)
        self.file_id = file_id


class AuthenticationError(OCRRouterError):
    """401: this deployment's credentials are wrong."""

    status_code = 401
    cooldown = Cooldown.LONG


class PermissionDeniedError(OCRRouterError):
    """403: this deployment's credentials may not use the model."""

    status_code = 403
    cooldown = Cooldown.LONG


class NotFoundError(OCRRouterError):
    """404: wrong model or endpoint on this deployment."""

    status_code = 404
    cooldown = Cooldown.LONG


class RateLimitError(OCRRouterError):
    """429: rate limited; not to be retried on this deployment before `retry_after`."""

    status_code = 429
    retryable = True
    cooldown = Cooldown.RETRY_AFTER


class TransientError(OCRRouterError):
    """Base of the failures worth retrying with backoff."""

    retryable = True
    cooldown = Cooldown.ON_REPEAT


class RequestTimeoutError(TransientError):
    """408, or no answer within the time allowed."""

    status_code = 408


class APIConnectionError(TransientError):
    """The connection failed or was reset before an answer came."""

    status_code = 502


class ServerError(TransientError):
    """5xx from the provider."""

    status_code = 500


class InvalidResponseError(TransientError):
    """A 200 whose body is empty, null, unparseable or not an OCR response."""

    status_code = 502


class UnexpectedStatusError(TransientError):
    """A 3xx or another status the table does not map: the deployment misbehaves (no host
    documents it), so another one is tried and this one is cooled after repeated failures."""

    status_code = 502


class DocumentFetchError(TransientError):
    """A remote document could not be downloaded for a provider that needs it inline."""

    status_code = 502


class MissingExtraError(OCRRouterError):
    """501: serving this request needs an optional extra that is not installed (`extra` names
    it: `pip install 'ocr-router[EXTRA]'`)."""

    status_code = 501

    def __init__(self, message: str, *, extra: str) -> None:
        super().__init__(message)
        self.extra = extra


_STATUS_CLASSES: dict[int, type[OCRRouterError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    408: RequestTimeoutError,
    413: DocumentTooLargeError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def error_class_for_status(status: int) -> type[OCRRouterError]:
    if status in _STATUS_CLASSES:
        return _STATUS_CLASSES[status]
    if status >= 500:
        return ServerError
    # A redirect (the router follows none) or a status no host documents: not the request's
    # fault, so not a 400 that would stop the request on the first deployment.
    return UnexpectedStatusError


def parse_retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds to wait from `retry-after-ms`, or `Retry-After` as seconds or an HTTP date.

    A non-finite value ("inf", "nan") counts as absent: it would cool a deployment for ever.
    How long a finite wait may cool a deployment is capped where cooldowns are set
    (`max_cooldown_time`, router/health.py)."""
    lowered = {key.lower(): value for key, value in headers.items()}
    milliseconds = lowered.get("retry-after-ms")
    if milliseconds is not None:
        try:
            waited = float(milliseconds) / 1000
        except ValueError:
            pass
        else:
            if math.isfinite(waited):
                return max(0.0, waited)
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def describe_error_body(body: bytes | str | None) -> tuple[str, str | None]:
    """A readable message (and request id) from any provider's error envelope:
    Mistral's (`message` as text or `{"detail": [...]}`, or `detail`), Azure's and Google's
    (`{"error": {"code", "message", "status"}}`), and Google's one-element list around it."""
    if body is None or body in (b"", ""):
        return "empty response body", None
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        data: Any = json.loads(text)
    except ValueError:
        return _shorten(text.strip()) or "unparseable response body", None
    if isinstance(data, list) and len(data) == 1:
        data = data[0]
    if not isinstance(data, dict):
        return _shorten(text.strip()), None
    request_id = data.get("request_id")
    inner = data.get("error")
    if isinstance(inner, dict):
        parts = [str(inner.get(key)) for key in ("status", "code") if inner.get(key) is not None]
        message = _flatten(inner.get("message")) or "no message"
        prefix = f"{parts[0]}: " if parts else ""
        return _shorten(prefix + message), request_id
    if isinstance(inner, str):
        return _shorten(inner), request_id
    for key in ("message", "detail"):
        if key in data:
            return _shorten(_flatten(data[key])), request_id
    return _shorten(text.strip()), request_id


def _flatten(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "detail" in value:
        return _flatten(value["detail"])
    if isinstance(value, list):
        return "; ".join(_flatten_item(item) for item in value)
    return json.dumps(value)


def _flatten_item(item: Any) -> str:
    # FastAPI-style validation items: {"loc": [...], "msg": "..."}.
    if isinstance(item, dict) and "msg" in item:
        location = ".".join(str(part) for part in item.get("loc", []) if part != "body")
        return f"{location}: {item['msg']}" if location else str(item["msg"])
    return _flatten(item)


def _shorten(text: str, limit: int = 500) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def scrub(text: str, secrets: Iterable[str | None]) -> str:
    """Replace every occurrence of a secret in `text` (a provider may echo a key back)."""
    for secret in secrets:
        if secret and len(secret) >= 4 and secret in text:
            text = text.replace(secret, "[redacted]")
    return text


# A 404 that names the deployment's model or route, not the request's file: Mistral's answer to a
# model it does not serve ("Invalid model: ...", type invalid_model; "The model ... does not exist",
# model_not_found) and FastAPI's bare `{"detail": "Not Found"}` to a path it has no route for.
_DEPLOYMENT_NOT_FOUND = re.compile(r"\bmodel\b|invalid_model|model_not_found", re.IGNORECASE)
_ROUTE_NOT_FOUND = "Not Found"


def _file_not_found(status: int, body: bytes | str | None, message: str) -> bool:
    """Whether a 404 to a request whose document is a `file_id` is about that file.

    Mistral's exact body for an unknown `file_id` is not published (the `mistralai` 3.7.0 SDK
    maps every 404 to a generic error), so this decides by "the document is a file_id AND the
    answer is 404", unless the body positively names the model or the route: a retired model's
    404 and a wrong `api_base` stay the deployment's and still cool it."""
    if status != 404 or _DEPLOYMENT_NOT_FOUND.search(message):
        return False
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else (body or "")
    try:
        data: Any = json.loads(text)
    except ValueError:
        return True
    if isinstance(data, dict):
        if data.get("detail") == _ROUTE_NOT_FOUND:
            return False
        if _DEPLOYMENT_NOT_FOUND.search(f"{data.get('type')} {data.get('code')}"):
            return False
    return True


def error_from_response(
    status: int,
    headers: Mapping[str, str],
    body: bytes | str | None,
    *,
    provider: str | None = None,
    deployment_id: str | None = None,
    secrets: Iterable[str | None] = (),
    file_id: str | None = None,
) -> OCRRouterError:
    """The typed error for a provider's non-2xx answer; `file_id` is the request's document when
    it is one (a 404 about it is the request's `FileIdNotFoundError`)."""
    secrets = tuple(secrets)
    if body:
        # Scrubbed before the message is cut to length: a key cut in half is not found after.
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        body = scrub(text, secrets)
    message, upstream_request_id = describe_error_body(body)
    if file_id is not None and _file_not_found(status, body, message):
        said = scrub(message, secrets)
        named = said if file_id in said else f"{said} (file_id {file_id})"
        return FileIdNotFoundError(
            f"404 {named}: the file is not found; check the file_id and that it was uploaded "
            "with this deployment's key. A file uploaded a moment ago may not be visible yet: "
            "retry after a moment",
            file_id=file_id,
            provider=provider,
            deployment_id=deployment_id,
            upstream_request_id=upstream_request_id,
        )
    error_class = error_class_for_status(status)
    return error_class(
        f"{status} {scrub(message, secrets)}",
        provider=provider,
        deployment_id=deployment_id,
        retry_after=parse_retry_after(headers),
        status=status,
        upstream_request_id=upstream_request_id,
    )


__all__ = [
    "APIConnectionError",
    "AuthenticationError",
    "BadRequestError",
    "CapabilityError",
    "ConfigError",
    "Cooldown",
    "DocumentFetchError",
    "DocumentTooLargeError",
    "FileIdNotFoundError",
    "InvalidRequestError",
    "InvalidResponseError",
    "MissingExtraError",
    "NotFoundError",
    "OCRRouterError",
    "PermissionDeniedError",
    "RateLimitError",
    "RequestTimeoutError",
    "RouterClosedError",
    "ServerError",
    "TransientError",
    "UnexpectedStatusError",
    "UnprocessableEntityError",
    "UnsafeDocumentURLError",
    "describe_error_body",
    "echoed",
    "error_from_response",
    "parse_retry_after",
    "scrub",
]
