"""What each host and model can take, and what it costs: the one table routing and pricing read.

The three hosts serve the same Mistral OCR body but are not interchangeable: Azure and Vertex take
30 pages per request, no `file_id`, only inline documents, and some of their models refuse newer
fields with a 422. A router that treats them alike fails a request that another deployment of
the same group would have served. So every figure the router decides by lives here, with its
source next to it (all checked on 2026-12-01: Mistral's platform docs and release notes, the
`mistralai` 3.7.0 SDK, Microsoft's model retirement schedule and Q&A, Mistral's Azure cookbook,
Google's Mistral OCR partner-model page, LiteLLM 1.110.2's price map and its PR #38985):

- limits: pages per request, bytes per request and what those bytes measure (the document, or
  the whole request body after base64);
- document kinds: whether `file_id` documents are accepted, whether remote URLs are fetched by
  the host (else the provider downloads and inlines them);
- the request fields the model accepts (a field outside the set makes the host answer 422);
- list prices, USD per 1,000 pages as published (plain, annotated, batch); None where no figure
  is published: a call is then reported unpriced rather than priced by a guess;
- the lifecycle: deprecation and retirement dates and the successor to move to.

`model_info("azure_ai/mistral-ocr-4-0")` gives one row as a `ModelInfo`. A model missing from the
table gets its host's limits and no price (`listed` is False). A deployment's own settings
(`max_pages_per_request`, `max_document_bytes`, prices) override the table: see
`Deployment.request_limits` and `router.config`.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Literal

_PER_THOUSAND = 1000.0
MB = 1024 * 1024

ByteMeasure = Literal["document", "body"]
Lifecycle = Literal["current", "deprecated", "retired"]

# -- request fields, by model generation (Mistral's OCR OpenAPI schema and docs) -----------
# Fields every OCR model takes.
BASE_FIELDS = frozenset(
    {
        "model",
        "document",
        "pages",
        "include_image_base64",
        "image_limit",
        "image_min_size",
        "bbox_annotation_format",
        "document_annotation_format",
        "document_annotation_prompt",
    }
)
# Model 2512 (OCR 3) and newer: tables, headers and footers. `confidence_scores_granularity` is
# "newer models" in Mistral's docs without a first version; taken as 2512 (tolerant: a 422 naming it
# still moves the request to a deployment that takes it).
OCR3_FIELDS = BASE_FIELDS | {
    "table_format",
    "extract_header",
    "extract_footer",
    "confidence_scores_granularity",
}
# OCR 4 and newer: layout blocks.
OCR4_FIELDS = OCR3_FIELDS | {"include_blocks"}
# Every field of the request schema that some model lacks: the ones routing checks.
OPTIONAL_FIELDS = OCR4_FIELDS - BASE_FIELDS


@dataclass(frozen=True)
class HostLimits:
    """What a host takes whatever the model (each host's published limits: see `HOSTS`)."""

    max_pages_per_request: int
    max_request_bytes: int
    request_bytes_measure: ByteMeasure
    accepts_file_id: bool
    fetches_urls: bool


HOSTS: Mapping[str, HostLimits] = MappingProxyType(
    {
        # Mistral (its OCR docs): "50 MB and 1,000 pages per document"; file_id via the Files API;
        # fetches URLs.
        "mistral": HostLimits(1000, 50 * MB, "document", True, True),
        # Azure AI Foundry: "30 pages and 30 MB per request" (Microsoft Q&A; Mistral's Azure
        # cookbook: "API limit is 30 pages"); the 30 MB is read as the document's size, the
        # figure Q&A quotes. No file_id; documents must be inline data URIs.
        "azure_ai": HostLimits(30, 30 * MB, "document", False, False),
        # Vertex AI (Google's Mistral OCR partner-model page): 30 pages per request, a 10 MB
        # request body unary (about 7.5 MB of document after base64); no file_id; inline only.
        "vertex_ai": HostLimits(30, 10 * MB, "body", False, False),
    }
)


@dataclass(frozen=True)
class ModelInfo:
    """One host's model: its limits, the fields it takes, its list prices and its lifecycle.

    Prices are USD per page (None: not published). `max_request_bytes` measures the document
    (`request_bytes_measure == "document"`) or the whole JSON body ("body").
    """

    provider: str
    model: str  # the provider's model name, without the `provider/` prefix
    max_pages_per_request: int
    max_request_bytes: int
    request_bytes_measure: ByteMeasure
    accepts_file_id: bool
    fetches_urls: bool
    supported_params: frozenset[str]
    price_per_page: float | None
    price_per_annotated_page: float | None
    batch_price_per_page: float | None = None
    batch_price_per_annotated_page: float | None = None
    deprecated_on: datetime.date | None = None
    retires_on: datetime.date | None = None
    successor: str | None = None  # "provider/model" to move to when deprecated or retired
    alias_of: str | None = None  # the dated model an alias points at today
    listed: bool = True  # False: not in the table (host limits, every field, no price)

    @property
    def name(self) -> str:
        return f"{self.provider}/{self.model}"

    def lifecycle(self, today: datetime.date | None = None) -> Lifecycle:
        """ "retired" on and after `retires_on`, "deprecated" from `deprecated_on`, else current."""
        today = today or datetime.datetime.now(datetime.UTC).date()
        if self.retires_on is not None and today >= self.retires_on:
            return "retired"
        if self.deprecated_on is not None and today >= self.deprecated_on:
            return "deprecated"
        return "current"


def _row(
    provider: str,
    model: str,
    fields: frozenset[str],
    per_thousand: float | None,
    annotated_per_thousand: float | None,
    *,
    batch: float | None = None,
    batch_annotated: float | None = None,
    deprecated_on: str | None = None,
    retires_on: str | None = None,
    successor: str | None = None,
    alias_of: str | None = None,
) -> ModelInfo:
    host = HOSTS[provider]

    def per_page(value: float | None) -> float | None:
        return None if value is None else value / _PER_THOUSAND

    def day(value: str | None) -> datetime.date | None:
        return None if value is None else datetime.date.fromisoformat(value)

    return ModelInfo(
        provider=provider,
        model=model,
        max_pages_per_request=host.max_pages_per_request,
        max_request_bytes=host.max_request_bytes,
        request_bytes_measure=host.request_bytes_measure,
        accepts_file_id=host.accepts_file_id,
        fetches_urls=host.fetches_urls,
        supported_params=fields,
        price_per_page=per_page(per_thousand),
        price_per_annotated_page=per_page(annotated_per_thousand),
        batch_price_per_page=per_page(batch),
        batch_price_per_annotated_page=per_page(batch_annotated),
        deprecated_on=day(deprecated_on),
        retires_on=day(retires_on),
        successor=successor,
        alias_of=alias_of,
    )


_ROWS = (
    # -- Mistral (Mistral's docs and release notes, mistralai 3.7.0, LiteLLM 1.110.2's price
    # map; checked 2026-12-01). Annotated pages are priced *instead of* plain ones; batch at half.
    # OCR 4.1, behind `mistral-ocr-latest` since 2026-08-31 and the alias `mistral-ocr-4`.
    _row("mistral", "mistral-ocr-4-1", OCR4_FIELDS, 4, 5, batch=2, batch_annotated=2.5),
    _row(
        "mistral",
        "mistral-ocr-latest",
        OCR4_FIELDS,
        4,
        5,
        batch=2,
        batch_annotated=2.5,
        alias_of="mistral-ocr-4-1",
    ),
    _row(
        "mistral",
        "mistral-ocr-4",
        OCR4_FIELDS,
        4,
        5,
        batch=2,
        batch_annotated=2.5,
        alias_of="mistral-ocr-4-1",
    ),
    # OCR 3.
    _row("mistral", "mistral-ocr-2512", OCR3_FIELDS, 2, 3, batch=1, batch_annotated=1.5),
    # Retired: "deprecated 2026-09-29, retired 2026-09-30" (Mistral's deprecation notice).
    _row(
        "mistral",
        "mistral-ocr-4-0",
        OCR4_FIELDS,
        4,
        5,
        batch=2,
        batch_annotated=2.5,
        deprecated_on="2026-09-29",
        retires_on="2026-09-30",
        successor="mistral/mistral-ocr-4-1",
    ),
    # Retired 2026-05-31; its last list price was 1 (3 annotated).
    _row(
        "mistral",
        "mistral-ocr-2505",
        BASE_FIELDS,
        1,
        3,
        batch=0.5,
        batch_annotated=1.5,
        retires_on="2026-05-31",
        successor="mistral/mistral-ocr-2512",
    ),
    # -- Azure AI Foundry (Microsoft's model retirement schedule and Q&A, LiteLLM 1.110.2's
    # price map; checked 2026-12-01). No batch price is published for the Azure-hosted models.
    # OCR 4 on Azure: 4 (5 annotated).
    _row("azure_ai", "mistral-ocr-4-0", OCR4_FIELDS, 4, 5),
    # Plain OCR 3 and OCR 2505 on Azure: no annotated figure published.
    _row("azure_ai", "mistral-ocr-2512", OCR3_FIELDS, 2, None),
    _row("azure_ai", "mistral-ocr-2505", BASE_FIELDS, 1, None),
    # Document AI bundles OCR and annotation at one price per page (3). Its deployments answer
    # 422 extra_forbidden to the newer fields (field report; Mistral's cookbook retries without
    # them). Deprecated from 2027-02-15 in favour of mistral-ocr-4-0 (no retirement date yet).
    _row(
        "azure_ai",
        "mistral-document-ai-2512",
        BASE_FIELDS,
        3,
        3,
        deprecated_on="2027-02-15",
        successor="azure_ai/mistral-ocr-4-0",
    ),
    # Retired on 2026-07-15 (Microsoft's retirement schedule): a retired deployment answers 404.
    _row(
        "azure_ai",
        "mistral-document-ai-2505",
        BASE_FIELDS,
        3,
        3,
        retires_on="2026-07-15",
        successor="azure_ai/mistral-document-ai-2512",
    ),
    # -- Vertex AI (Google's Mistral OCR partner-model page, checked 2026-12-01). 0.5 per 1,000
    # pages; no annotated price is published (annotated pages go unpriced rather than guessed).
    _row("vertex_ai", "mistral-ocr-2505", BASE_FIELDS, 0.5, None),
)

MODELS: Mapping[tuple[str, str], ModelInfo] = MappingProxyType(
    {(row.provider, row.model): row for row in _ROWS}
)
"""The table, read-only, keyed by (provider, model)."""


def lookup(provider: str, model: str) -> ModelInfo:
    """The row of `model` on `provider`; an unlisted model gets the host's limits, every field
    and no price (`listed=False`); an unknown host (a test's or a caller's own provider) the
    most any host takes, so that nothing is refused on a guess."""
    row = MODELS.get((provider, model))
    if row is not None:
        return row
    # An unknown (newer) model is assumed to take every field; a 422 corrects it per call.
    row = _row(provider if provider in HOSTS else "mistral", model, OCR4_FIELDS, None, None)
    return replace(row, provider=provider, listed=False)


def model_info(model: str) -> ModelInfo:
    """What `"provider/model"` can take and costs, e.g. `model_info("azure_ai/mistral-ocr-4-0")`.

    >>> model_info("azure_ai/mistral-ocr-4-0").max_pages_per_request
    30
    """
    from providers import split_model  # providers import router.errors: imported late

    provider, name = split_model(model)
    return lookup(provider, name)


def with_overrides(
    info: ModelInfo,
    *,
    max_pages_per_request: int | None = None,
    max_document_bytes: int | None = None,
    price_per_page: float | None = None,
    price_per_annotated_page: float | None = None,
) -> ModelInfo:
    """`info` with a deployment's own settings in place of the table's (None keeps the table's).

    A configured `max_document_bytes` measures the document, as the setting says."""
    changes: dict[str, object] = {}
    if max_pages_per_request is not None:
        changes["max_pages_per_request"] = max_pages_per_request
    if max_document_bytes is not None:
        changes["max_request_bytes"] = max_document_bytes
        changes["request_bytes_measure"] = "document"
    if price_per_page is not None:
        changes["price_per_page"] = price_per_page
    if price_per_annotated_page is not None:
        changes["price_per_annotated_page"] = price_per_annotated_page
    return replace(info, **changes) if changes else info  # type: ignore[arg-type]


__all__ = [
    "BASE_FIELDS",
    "HOSTS",
    "MODELS",
    "OCR3_FIELDS",
    "OCR4_FIELDS",
    "OPTIONAL_FIELDS",
    "HostLimits",
    "ModelInfo",
    "lookup",
    "model_info",
    "with_overrides",
]
