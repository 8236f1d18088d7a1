"""`Deployment`: one place a logical model can be served, with its limits and its price.

A deployment belongs to a group (`model_name`, e.g. "ocr"); a Router picks one deployment of a
group per attempt. Its `id` is stable across restarts: given in the config, or derived from the
settings that identify it (provider, model, base URL, project, location), never from secrets.

What it can take per request (pages, bytes, document kinds, fields) is its model's row in
`router.capabilities`, with the deployment's own settings in its place where given: `info` is
that merged row and `request_limits` the part a caller splitting documents needs.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field

from providers.base import Provider
from router.capabilities import ByteMeasure, ModelInfo, lookup, with_overrides


@dataclass(frozen=True)
class RequestLimits:
    """The most one request to a deployment may carry: pages, and bytes of what `measure` says
    (`"document"`: the document's decoded bytes; `"body"`: the JSON request body, base64 and
    all, about 4/3 of the document)."""

    max_pages: int
    max_bytes: int
    measure: ByteMeasure

    @property
    def max_document_bytes(self) -> int:
        """The largest document that fits: `max_bytes`, less base64's growth for a body limit."""
        if self.measure == "document":
            return self.max_bytes
        return (self.max_bytes - BODY_OVERHEAD_BYTES) * 3 // 4


# What a body carries besides the document's base64 (field names, the data URI's prefix, small
# options); annotation schemas are counted on top by the router.
BODY_OVERHEAD_BYTES = 4096


@dataclass(eq=False)
class Deployment:
    id: str
    group: str
    model: str  # "provider/model" as configured, e.g. "azure_ai/mistral-ocr-4-0"
    provider: Provider
    weight: float = 1.0
    priority: int = 0  # lower tiers are used first
    max_concurrency: int | None = None
    rpm: int | None = None
    pages_per_minute: int | None = None
    price_per_page: float | None = None  # USD; None when neither the config nor the table knows
    price_per_annotated_page: float | None = None
    timeout: float | None = None
    max_pages_per_request: int | None = None  # None: the model's (router.capabilities)
    tags: tuple[str, ...] = field(default_factory=tuple)
    max_document_bytes: int | None = None  # None: the model's bytes per request

    def __post_init__(self) -> None:
        # The provider holds what it downloads itself to this deployment's limits.
        if isinstance(self.provider, Provider):
            self.provider.model_info = self.info

    @property
    def provider_name(self) -> str:
        return self.provider.name

    @functools.cached_property
    def info(self) -> ModelInfo:
        """The model's row of `router.capabilities` with this deployment's settings in place."""
        host, _, name = self.model.partition("/")
        return with_overrides(
            lookup(host if name else self.provider_name, name or self.provider.settings.model),
            max_pages_per_request=self.max_pages_per_request,
            max_document_bytes=self.max_document_bytes,
            price_per_page=self.price_per_page,
            price_per_annotated_page=self.price_per_annotated_page,
        )

    @functools.cached_property
    def request_limits(self) -> RequestLimits:
        """Pages and bytes one request to this deployment may carry (for callers that split
        long documents: `deployment.request_limits.max_pages`, `.max_document_bytes`)."""
        info = self.info
        return RequestLimits(
            info.max_pages_per_request, info.max_request_bytes, info.request_bytes_measure
        )

    def price(self, pages: int, *, annotated: bool = False) -> float | None:
        """USD for `pages` pages on this deployment, None when its price is unknown."""
        per_page = self.price_per_annotated_page if annotated else self.price_per_page
        return None if per_page is None else pages * per_page

    def __repr__(self) -> str:
        return f"Deployment(id={self.id!r}, group={self.group!r}, model={self.model!r})"


def derive_deployment_id(group: str, model: str, *identity: str | None) -> str:
    """A stable id from the non-secret settings that identify a deployment.

    Example: `derive_deployment_id("ocr", "mistral/mistral-ocr-latest", None)` ->
    "ocr/mistral/mistral-ocr-latest#1a2b3c4d". Two deployments differing only in their key get
    the same id; give them explicit ids (or `api_base`s) to tell them apart.
    """
    digest = hashlib.sha256("|".join(part or "" for part in (group, model, *identity)).encode())
    return f"{group}/{model}#{digest.hexdigest()[:8]}"
