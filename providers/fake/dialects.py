"""How each hosted service speaks: its routes, its auth check and its error envelopes.

A router's error handling is only as good as the error bodies it was tested against. Each dialect
answers exactly the way its service does (as checked on 2026-12-01 against the mistralai 3.7.0
SDK, Mistral's docs, Microsoft's Q&A and LiteLLM's OCR code): Mistral's `{"object": "error",
...}` and its FastAPI-style 422 detail list, Azure's `{"error": {"code": "404", ...}}`, Google's
`{"error": {"code": 429, "status": "RESOURCE_EXHAUSTED"}}` (optionally wrapped in a list, as Vertex
sometimes does). Dialects are pure functions of their input: no state, no I/O.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, ClassVar

from router.capabilities import OPTIONAL_FIELDS, ModelInfo, lookup

DIALECT_NAMES = ("mistral", "azure_ai", "vertex_ai")

# Fields newer than the 2505 models (`strict_new_fields` refuses them whatever the model; by
# default each dialect refuses what the body's model lacks in `router.capabilities`).
NEW_REQUEST_FIELDS = (
    "table_format",
    "confidence_scores_granularity",
    "extract_header",
    "extract_footer",
    "include_blocks",
)


@dataclass(frozen=True)
class Reply:
    """An HTTP answer: status, headers and the exact body bytes; `pages` is how many pages an
    OCR answer holds (what a per-page latency is charged on)."""

    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)
    pages: int = 0

    @classmethod
    def json(cls, status: int, payload: Any, headers: Mapping[str, str] | None = None) -> Reply:
        return cls(
            status,
            json.dumps(payload, separators=(",", ":")).encode(),
            {"content-type": "application/json", **(headers or {})},
        )


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _bearer(headers: Mapping[str, str]) -> str | None:
    scheme, _, credential = headers.get("authorization", "").partition(" ")
    return credential.strip() if scheme.lower() == "bearer" and credential.strip() else None


def _same_secret(given: str | None, expected: str) -> bool:
    return given is not None and secrets.compare_digest(given.encode(), expected.encode())


def flatten_detail(detail: list[dict[str, Any]]) -> str:
    """`[{"loc": ["body", "foo"], "msg": "Extra inputs..."}]` -> `"body.foo: Extra inputs..."`."""
    return "; ".join(
        f"{'.'.join(str(part) for part in item.get('loc', []))}: {item.get('msg', '')}"
        for item in detail
    )


class Dialect:
    """The routes, auth check and error envelopes of one service. Subclasses fill them in."""

    name: ClassVar[str]
    # Statuses a body error is answered with: (the request is malformed, a field is wrong).
    validation_status: ClassVar[int] = 422
    # Whether the service refuses remote https documents (Azure and Vertex take data URIs only).
    requires_data_uri: ClassVar[bool] = True
    # Status of "you asked only for pages past the end of the document".
    page_range_status: ClassVar[int] = 400

    def matches(self, method: str, path: str) -> bool:
        raise NotImplementedError

    def authorized(self, headers: Mapping[str, str], api_key: str | None) -> bool:
        """`headers` has lower-case names; `api_key=None` accepts any credential, even none."""
        return api_key is None or _same_secret(_bearer(headers), api_key)

    def error(self, status: int, message: str | None = None, **extra: Any) -> Reply:
        """`status` in this service's error envelope."""
        raise NotImplementedError

    def unauthorized(self) -> Reply:
        return self.error(401)

    def not_found(self) -> Reply:
        return self.error(404, "Not Found")

    def rate_limited(self, retry_after_s: float | None, retry_after_ms: int | None) -> Reply:
        headers: dict[str, str] = {}
        if retry_after_s is not None:
            headers["retry-after"] = _format_seconds(retry_after_s)
        if retry_after_ms is not None:
            headers["retry-after-ms"] = str(retry_after_ms)
        reply = self.error(429)
        return Reply(reply.status, reply.body, {**reply.headers, **headers})

    def invalid_body(self, detail: list[dict[str, Any]]) -> Reply:
        """A body that fails validation (unknown field, wrong type, missing field)."""
        return self.error(self.validation_status, flatten_detail(detail), detail=detail)

    def file_not_found(self, file_id: str) -> Reply:
        """The answer to a `file_id` the Files API does not know (never uploaded, deleted, or
        not visible yet). Unverified: Mistral publishes no body for it; this is its error
        envelope with the wording its Files API answers for an unknown file."""
        return self.error(404, f"File {file_id} not found")

    def unreadable_json(self) -> Reply:
        return self.error(400, "the request body is not valid JSON")

    def extra_checks(self, body: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Service-specific refusals beyond the spec, as a detail list (empty when none): the
        fields of the OCR schema that the body's model lacks (`router.capabilities`) are
        refused as `extra_forbidden`, as the hosts' FastAPI validation does."""
        lacking = OPTIONAL_FIELDS - self.model_info(body).supported_params
        return [_extra_forbidden(body, name) for name in sorted(lacking) if name in body]

    def model_info(self, body: Mapping[str, Any]) -> ModelInfo:
        model = body.get("model")
        return lookup(self.name, model if isinstance(model, str) else "")

    def refuse_field_reply(self, detail: list[dict[str, Any]]) -> Reply:
        """The answer to fields the model lacks (Mistral's own 422 unless a dialect differs)."""
        return self.invalid_body(detail)

    def over_limits(
        self, info: ModelInfo, *, file_id: bool, pages: int, document_bytes: int, body_bytes: int
    ) -> Reply | None:
        """The host's refusal of a request past its model's limits (`router.capabilities`, each
        figure with its source there), or None."""
        if file_id and not info.accepts_file_id:
            return self.error(400, "file_id documents are not supported: send the document inline")
        if pages > info.max_pages_per_request:
            return self.error(
                400,
                f"the document has {pages} pages: at most {info.max_pages_per_request} pages "
                "are processed per request",
            )
        size = body_bytes if info.request_bytes_measure == "body" else document_bytes
        if size > info.max_request_bytes:
            return self.error(
                413, f"the request is too large: {size} bytes, limit {info.max_request_bytes}"
            )
        return None

    def decorate_answer(self, request: Any, answer: dict[str, Any]) -> dict[str, Any]:
        """A 200's body as this host sends it (Azure adds its own fields)."""
        return answer

    def models_named(self, path: str, body: Any) -> list[str]:
        """The models a request names: the body's `model` (Vertex adds the one in its path)."""
        model = body.get("model") if isinstance(body, dict) else None
        return [model] if isinstance(model, str) else []

    def retired(self, info: ModelInfo, path: str) -> Reply:
        """The host's answer to a model it retired (a retired deployment answers 404, as
        Microsoft's model retirement schedule says): the deployment is gone, so the answer is
        the host's own "not found"."""
        return self.not_found()


def _extra_forbidden(body: Mapping[str, Any], name: str) -> dict[str, Any]:
    return {
        "type": "extra_forbidden",
        "loc": ["body", name],
        "msg": "Extra inputs are not permitted",
        "input": body[name],
    }


def _format_seconds(seconds: float) -> str:
    return str(int(seconds)) if float(seconds).is_integer() else str(seconds)


class MistralDialect(Dialect):
    """`POST /v1/ocr` at api.mistral.ai: FastAPI validation, Mistral's error objects."""

    name = "mistral"
    requires_data_uri = False  # Mistral fetches remote URLs itself
    page_range_status = 422

    _TYPES: ClassVar[dict[int, str]] = {
        400: "invalid_request_error",
        403: "forbidden",
        404: "not_found",
        408: "request_timeout",
        422: "invalid_request_error",
        429: "rate_limited",
    }

    def __init__(self, *, newer_errors: bool = True) -> None:
        # The newer API's bodies (rev.): 422 as {"object": "Error", "detail", "message", "code":
        # 3001}, and `raw_status_code` in every error; False gives the older forms.
        self.newer_errors = newer_errors

    def matches(self, method: str, path: str) -> bool:
        return method == "POST" and path == "/v1/ocr"

    def error(self, status: int, message: str | None = None, **extra: Any) -> Reply:
        if status == 422 and "detail" in extra and self.newer_errors:
            return Reply.json(
                422,
                {
                    "object": "Error",
                    "detail": extra["detail"],
                    "message": extra["detail"],
                    "type": "invalid_request_error",
                    "code": 3001,
                    "raw_status_code": 422,
                },
            )
        if status == 401:
            return Reply.json(401, {"message": "Unauthorized", "request_id": secrets.token_hex(16)})
        if status == 404 and message == "Not Found":
            return Reply.json(404, {"detail": "Not Found"})  # FastAPI's answer to an unknown path
        if status == 422 and "detail" in extra:
            body_message: Any = {"detail": extra["detail"]}
        elif status == 429:
            body_message = message or "Rate limit exceeded"
        else:
            body_message = message or _reason(status)
        error_type = self._TYPES.get(status, "internal_server_error" if status >= 500 else "error")
        code = "1300" if status == 429 else None
        return self._envelope(status, body_message, error_type, code)

    def _envelope(self, status: int, message: Any, error_type: str, code: str | None) -> Reply:
        payload: dict[str, Any] = {
            "object": "error",
            "message": message,
            "type": error_type,
            "param": None,
            "code": code,
        }
        if self.newer_errors:
            payload["raw_status_code"] = status
        return Reply.json(status, payload)

    def retired(self, info: ModelInfo, path: str) -> Reply:
        # The status (404) and the envelope are Mistral's error body (its docs, checked
        # 2026-12-01); the wording and type are those of
        # Mistral's answer to a model it does not serve ("Invalid model: ...", code 1500).
        return self._envelope(404, f"Invalid model: {info.model}", "invalid_model", "1500")


class AzureAIDialect(Dialect):
    """Azure AI Foundry: `/providers/mistral/azure/ocr?api-version=...` and legacy `/v1/ocr`."""

    name = "azure_ai"

    def __init__(self, *, strict_new_fields: bool = False) -> None:
        self.strict_new_fields = strict_new_fields

    def matches(self, method: str, path: str) -> bool:
        return method == "POST" and path in ("/providers/mistral/azure/ocr", "/v1/ocr")

    def authorized(self, headers: Mapping[str, str], api_key: str | None) -> bool:
        # Clients send Bearer; some send `api-key` (unverified that Azure accepts it): take both.
        return (
            api_key is None
            or _same_secret(_bearer(headers), api_key)
            or _same_secret(headers.get("api-key"), api_key)
        )

    def not_found(self) -> Reply:
        return self.error(404, "Resource not found")

    def error(self, status: int, message: str | None = None, **extra: Any) -> Reply:
        inner: dict[str, Any] = {"code": str(status), "message": message or _reason(status)}
        if status == 401:
            inner["message"] = (
                "Access denied due to invalid subscription key or wrong API endpoint. Make sure "
                "to provide a valid key for an active subscription and use a correct regional "
                "API endpoint for your resource."
            )
        if status == 429 and message is None:
            inner["message"] = "Rate limit is exceeded. Try again later."
        if "detail" in extra:
            inner["details"] = extra["detail"]
        return Reply.json(status, {"error": inner})

    def extra_checks(self, body: Mapping[str, Any]) -> list[dict[str, Any]]:
        if not self.strict_new_fields:
            return super().extra_checks(body)  # what the body's model lacks
        return [_extra_forbidden(body, name) for name in NEW_REQUEST_FIELDS if name in body]

    def decorate_answer(self, request: Any, answer: dict[str, Any]) -> dict[str, Any]:
        """Azure's 200 (rev.): annotated pages counted apart with `pages_processed: 0`, a
        top-level `content_filter_results`; annotation skipped unless `json_schema.strict`."""
        formats = [request.bbox_annotation_format, request.document_annotation_format]
        asked = [f for f in formats if f is not None]
        strict = bool(asked) and all(
            f.json_schema is not None and f.json_schema.strict is True for f in asked
        )
        usage = answer["usage_info"]
        if asked and strict:
            usage["pages_processed_annotation"] = usage["pages_processed"]
            usage["pages_processed"] = 0
        elif asked:
            # Field report: without strict the annotation is skipped (200, nulls), pages plain.
            answer["document_annotation"] = None
            for page in answer["pages"]:
                for image in page["images"]:
                    image["image_annotation"] = None
        answer["content_filter_results"] = {
            kind: {"filtered": False, "severity": "safe"}
            for kind in ("hate", "self_harm", "sexual", "violence")
        }
        return answer


class VertexAIDialect(Dialect):
    """Vertex AI partner model: `.../publishers/mistralai/models/{model}:rawPredict`."""

    name = "vertex_ai"
    validation_status = 400  # Google answers INVALID_ARGUMENT, never 422

    _ROUTE = re.compile(
        r"^/v1/projects/[^/]+/locations/[^/]+/publishers/mistralai/models/(?P<model>[^/:]+)"
        r":rawPredict$"
    )
    _STATUS_NAMES: ClassVar[dict[int, str]] = {
        400: "INVALID_ARGUMENT",
        401: "UNAUTHENTICATED",
        403: "PERMISSION_DENIED",
        404: "NOT_FOUND",
        408: "DEADLINE_EXCEEDED",
        409: "ABORTED",
        429: "RESOURCE_EXHAUSTED",
        499: "CANCELLED",
        500: "INTERNAL",
        501: "UNIMPLEMENTED",
        503: "UNAVAILABLE",
        504: "DEADLINE_EXCEEDED",
    }
    _MESSAGES: ClassVar[dict[int, str]] = {
        401: "Request had invalid authentication credentials. Expected OAuth 2 access token, "
        "login cookie or other valid authentication credential.",
        403: "Permission denied on resource project.",
        404: "Publisher Model was not found or your project does not have access to it.",
        429: "Quota exceeded for aiplatform.googleapis.com/"
        "online_prediction_requests_per_base_model with base model: mistral-ocr.",
        500: "Internal error encountered.",
        503: "The service is currently unavailable.",
    }

    def __init__(self, *, wrap_errors_in_list: bool = False) -> None:
        self.wrap_errors_in_list = wrap_errors_in_list

    def container_error(self, status: int, detail: Any) -> Reply:
        """rawPredict passes the Mistral container's own answer through (rev.): FastAPI's
        `{"detail": ...}`, not Google's envelope."""
        return Reply.json(status, {"detail": detail})

    def refuse_field_reply(self, detail: list[dict[str, Any]]) -> Reply:
        return self.container_error(422, detail)

    def over_limits(
        self, info: ModelInfo, *, file_id: bool, pages: int, document_bytes: int, body_bytes: int
    ) -> Reply | None:
        # Google's front end measures the body before the model sees it.
        if body_bytes > info.max_request_bytes:
            return self.error(
                400, f"Request payload size exceeds the limit: {info.max_request_bytes} bytes."
            )
        if file_id and not info.accepts_file_id:
            return self.container_error(400, "file_id documents are not supported")
        if pages > info.max_pages_per_request:
            return self.container_error(
                400,
                f"Document has {pages} pages, which exceeds the maximum of "
                f"{info.max_pages_per_request} pages per request",
            )
        return None

    def matches(self, method: str, path: str) -> bool:
        return method == "POST" and self._ROUTE.match(path) is not None

    def error(self, status: int, message: str | None = None, **extra: Any) -> Reply:
        status_name = self._STATUS_NAMES.get(status, "UNKNOWN" if status < 500 else "INTERNAL")
        if extra.get("precondition"):
            status_name = "FAILED_PRECONDITION"
        envelope: Any = {
            "error": {
                "code": status,
                "message": message or self._MESSAGES.get(status, _reason(status)),
                "status": status_name,
            }
        }
        return Reply.json(status, [envelope] if self.wrap_errors_in_list else envelope)

    def not_found(self) -> Reply:
        return self.error(404, "The requested URL was not found on this server.")

    def models_named(self, path: str, body: Any) -> list[str]:
        route = self._ROUTE.match(path)
        in_path = [route.group("model")] if route is not None else []
        return in_path + super().models_named(path, body)

    def retired(self, info: ModelInfo, path: str) -> Reply:
        # The publisher model in the path is Google's to refuse (its envelope, NOT_FOUND); a
        # retired model named only in the body reaches the container, which answers FastAPI's
        # `{"detail": "Not Found"}` through rawPredict (Google's Mistral OCR partner-model page,
        # checked 2026-12-01).
        route = self._ROUTE.match(path)
        if route is not None and route.group("model") == info.model:
            return self.error(404)
        return self.container_error(404, "Not Found")


def make_dialect(name: str, **options: Any) -> Dialect:
    """The dialect called `name`, with its options (`strict_new_fields`, `wrap_errors_in_list`)."""
    if name == "mistral":
        return MistralDialect(**options)
    if name == "azure_ai":
        return AzureAIDialect(**options)
    if name == "vertex_ai":
        return VertexAIDialect(**options)
    raise ValueError(f"unknown provider {name!r}: expected one of {', '.join(DIALECT_NAMES)}")


__all__ = [
    "DIALECT_NAMES",
    "NEW_REQUEST_FIELDS",
    "AzureAIDialect",
    "Dialect",
    "MistralDialect",
    "Reply",
    "VertexAIDialect",
    "flatten_detail",
    "make_dialect",
]
