"""Whether a deployment can take a request: checked before sending, and read from refusals.

The hosts differ (`router.capabilities`): a 45-page PDF, a `file_id` or `table_format` is fine on
Mistral and refused by Azure. So a deployment is a candidate for a request only if its model's
limits and fields admit it (`cannot_take`), from facts gathered once per request
(`request_facts`: pages, sizes, document kind, optional fields). What the table cannot know
before sending (a remote document's pages, a model that lacks a field after all) shows as a
refusal: `refusal_reason` tells a refusal that belongs to one deployment (413; a 400/422 naming a
limit or an unsupported field; `file_id` on a host without it; a remote document the router
could not fetch for a host that needs it inline) from an error of the request itself, so the
router moves the request elsewhere without cooling the deployment or spending a retry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from router.capabilities import MB, OPTIONAL_FIELDS, ModelInfo
from router.deployment import BODY_OVERHEAD_BYTES
from router.errors import (
    DocumentFetchError,
    DocumentTooLargeError,
    OCRRouterError,
    UnsafeDocumentURLError,
)
from router.mime import is_image
from router.pdf_pages import data_uri_pdf_page_count
from router.types import FileChunk, OCRRequest, document_url_of

DocumentKind = Literal["file", "remote", "inline"]


@dataclass(frozen=True)
class RequestFacts:
    """What a request carries, as deployments' limits measure it (None: not known before
    sending, e.g. the pages of a remote document)."""

    pages: int | None
    document_bytes: int | None
    body_bytes: int | None
    kind: DocumentKind
    fields: frozenset[str]  # the optional fields set (`capabilities.OPTIONAL_FIELDS`)
    document_pages: int | None = None  # the whole document's pages, when counted


def request_facts(request: OCRRequest, *, count_pages: bool = True) -> RequestFacts:
    """The facts of `request`, computed once (a PDF's pages are counted without decoding it
    whole, `router.pdf_pages`, and only with `count_pages`: a router whose every deployment
    takes any page count need not know it). Kept in `request.memo`: sharding looks at them
    before routing does (router/sharding.py), and a PDF's pages are counted once."""
    key = ("request_facts", count_pages)
    memo = request.memo()
    facts = memo.get(key)
    if facts is None:
        facts = memo[key] = _facts(request, count_pages)
    assert isinstance(facts, RequestFacts)
    return facts


def _facts(request: OCRRequest, count_pages: bool) -> RequestFacts:
    fields = frozenset(name for name in OPTIONAL_FIELDS if getattr(request, name) is not None)
    if isinstance(request.document, FileChunk):
        return RequestFacts(_asked_pages(request), None, None, "file", fields)
    url = document_url_of(request.document) or ""
    if not url[:5].lower().startswith("data:"):
        return RequestFacts(_asked_pages(request), None, None, "remote", fields)
    comma = url.find(",")
    payload = len(url) - comma - 1
    document_bytes = payload // 4 * 3 - (url.endswith("==") + url.endswith("="))
    extra = 0
    for schema in (request.bbox_annotation_format, request.document_annotation_format):
        if schema is not None:
            extra += len(schema.model_dump_json())
    body_bytes = len(url) + BODY_OVERHEAD_BYTES + extra
    mime = url[5 : url.find(";")].lower()
    document_pages = 1 if is_image(mime) else None
    if mime == "application/pdf" and count_pages:
        document_pages = data_uri_pdf_page_count(url)
    asked = _asked_pages(request)
    pages = asked if asked is not None else document_pages
    if asked is not None and document_pages is not None:
        pages = min(asked, document_pages)  # pages past the end are not served
    return RequestFacts(pages, document_bytes, body_bytes, "inline", fields, document_pages)


def _asked_pages(request: OCRRequest) -> int | None:
    indexes = request.page_indexes
    return len(set(indexes)) if indexes else None


def cannot_take(info: ModelInfo, facts: RequestFacts) -> str | None:
    """Why a deployment of `info` cannot take a request of `facts`, or None when it can."""
    if facts.kind == "file" and not info.accepts_file_id:
        return "takes no file_id documents (files uploaded to Mistral's Files API)"
    if facts.pages is not None and facts.pages > info.max_pages_per_request:
        return (
            f"takes at most {info.max_pages_per_request} pages per request, "
            f"the request has {facts.pages}"
        )
    measured = facts.body_bytes if info.request_bytes_measure == "body" else facts.document_bytes
    if measured is not None and measured > info.max_request_bytes:
        what = "request body" if info.request_bytes_measure == "body" else "document"
        return (
            f"takes at most {_megabytes(info.max_request_bytes)} of {what} per request, "
            f"the request has {_megabytes(measured)}"
        )
    missing = facts.fields - info.supported_params
    if missing:
        return f"model {info.model} does not take {', '.join(sorted(missing))}"
    return None


def _megabytes(size: int) -> str:
    return f"{size / MB:.1f} MB"


@dataclass(frozen=True)
class Envelope:
    """The most every deployment of a router takes: a request within it needs no check per
    deployment (the usual case costs nothing)."""

    max_pages: int
    max_document_bytes: int
    max_body_bytes: int
    file_id: bool
    fields: frozenset[str]

    @classmethod
    def of(cls, infos: list[ModelInfo]) -> Envelope:
        documents = [i.max_request_bytes for i in infos if i.request_bytes_measure == "document"]
        bodies = [i.max_request_bytes for i in infos if i.request_bytes_measure == "body"]
        fields = frozenset(OPTIONAL_FIELDS)
        for info in infos:
            fields &= info.supported_params
        return cls(
            max_pages=min((i.max_pages_per_request for i in infos), default=0),
            max_document_bytes=min(documents, default=1 << 62),
            max_body_bytes=min(bodies, default=1 << 62),
            file_id=all(info.accepts_file_id for info in infos),
            fields=fields,
        )

    def admits(self, facts: RequestFacts) -> bool:
        return (
            (facts.pages is None or facts.pages <= self.max_pages)
            and (facts.document_bytes is None or facts.document_bytes <= self.max_document_bytes)
            and (facts.body_bytes is None or facts.body_bytes <= self.max_body_bytes)
            and (facts.kind != "file" or self.file_id)
            and facts.fields <= self.fields
        )


# What a host's refusal of one request says when it is about that host's limits or fields (the
# bodies the hosts send, as providers/fake/dialects.py gives them: Mistral's and FastAPI's
# `extra_forbidden`, Google's payload limit, page and size limits in words). A 400/422 saying
# anything else is the request's own fault.
_LIMIT_REFUSAL = re.compile(
    r"payload size|too large|exceeds?|maximum|at most|page limit|limit of|file_id",
    re.IGNORECASE,
)
# A field refused: only a field of the OCR schema that this model lacks is the host's refusal; a
# field outside the schema (`extra_body`) fails on every host, Mistral's own included.
_FIELD_REFUSAL = re.compile(
    r"extra_forbidden|extra inputs are not permitted|not permitted|not supported|unsupported",
    re.IGNORECASE,
)
_OPTIONAL_FIELD_NAMED = re.compile(r"\b(" + "|".join(sorted(OPTIONAL_FIELDS)) + r")\b")


def refusal_reason(error: OCRRouterError) -> str | None:
    """Why `error` is one deployment's refusal of this request (another may take it), or None
    when it is not (the request's fault, or the deployment's health)."""
    if getattr(error, "refused_by_deployment", False):
        return error.message
    if isinstance(error, (DocumentTooLargeError, DocumentFetchError, UnsafeDocumentURLError)):
        return error.message  # an inlining host's download, or a size over its limit
    status = error.status_code
    if status == 413:
        return error.message
    if status not in (400, 422):
        return None
    message = error.message
    if _LIMIT_REFUSAL.search(message):
        return message
    if _FIELD_REFUSAL.search(message) and _OPTIONAL_FIELD_NAMED.search(message):
        return message
    return None


def describe_unfit(reasons: dict[str, str], facts: RequestFacts) -> str:
    """One line per distinct reason, naming the deployments it holds for."""
    by_reason: dict[str, list[str]] = {}
    for deployment_id, reason in reasons.items():
        by_reason.setdefault(reason, []).append(deployment_id)
    lines = [f"{', '.join(ids)}: {reason}" for reason, ids in by_reason.items()]
    text = "; ".join(lines)
    if facts.pages is not None and any("pages per request" in r for r in reasons.values()):
        text += (
            f" (a document of {facts.pages} pages can be sent in page ranges, `pages=`, "
            "within a deployment's limit: sharding splits it so)"
        )
    return text


__all__ = [
    "Envelope",
    "RequestFacts",
    "cannot_take",
    "describe_unfit",
    "refusal_reason",
    "request_facts",
]
