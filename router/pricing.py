"""List prices of Mistral OCR per provider and model, so every call can report what it cost.

A call is priced by the model that was *asked for* (the configured `provider/model`), never by
the name the provider echoes back: `mistral-ocr-latest` comes back as a dated name, sometimes with
a `-completion` suffix, and pricing by that would make the cost of one configuration drift.

Figures come from `WIRE.md` (list prices, USD per 1,000 pages) and are stored per page. Where a
figure is unverified or missing, the choice made is commented next to it. A model not in the table
has no price (`price_for` returns None): the caller then gets no cost rather than a wrong one, and
can give a price explicitly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

_PER_THOUSAND = 1000.0


@dataclass(frozen=True)
class Price:
    """USD per page, plain and with an annotation format (bbox or document) requested."""

    per_page: float
    per_annotated_page: float

    @classmethod
    def per_thousand(cls, pages: float, annotated_pages: float) -> Price:
        """Build from list prices quoted per 1,000 pages, as providers publish them."""
        return cls(pages / _PER_THOUSAND, annotated_pages / _PER_THOUSAND)


_TABLE: dict[tuple[str, str], Price] = {
    # Mistral's own API (list prices; the batch API's half price is not modelled).
    ("mistral", "mistral-ocr-2505"): Price.per_thousand(1, 3),
    ("mistral", "mistral-ocr-2512"): Price.per_thousand(2, 3),
    ("mistral", "mistral-ocr-4-0"): Price.per_thousand(4, 5),
    # "latest" is the newest model (OCR 4 when WIRE.md was written): update with the alias.
    ("mistral", "mistral-ocr-latest"): Price.per_thousand(4, 5),
    # Azure AI Foundry. Unverified: WIRE.md sees "about 1 to 3" per 1,000 pages for 2505; we take
    # the upper figure so budgets err on the safe side, and Document AI includes annotation, so
    # the annotated price is the same.
    ("azure_ai", "mistral-document-ai-2505"): Price.per_thousand(3, 3),
    # Document AI bundles annotation; the same 3 per 1,000 pages annotated is assumed (unverified).
    ("azure_ai", "mistral-document-ai-2512"): Price.per_thousand(3, 3),
    # Plain OCR 2505 at 1; no annotated figure is published for Azure, so Mistral's 3 is assumed.
    ("azure_ai", "mistral-ocr-2505"): Price.per_thousand(1, 3),
    # Vertex AI: 0.5 per 1,000 pages seen. No annotated figure is given; we assume the same 3x
    # ratio as Mistral's own 2505 (1 -> 3), i.e. 1.5, rather than pretend annotation is free.
    ("vertex_ai", "mistral-ocr-2505"): Price.per_thousand(0.5, 1.5),
}

PRICES: Mapping[tuple[str, str], Price] = MappingProxyType(_TABLE)
"""The table, read-only: `PRICES[("mistral", "mistral-ocr-2505")].per_page == 0.001`."""


def price_for(provider: str, model: str) -> Price | None:
    """The list price of `model` (without a provider prefix) on `provider`, or None if unknown.

    >>> price_for("vertex_ai", "mistral-ocr-2505").per_page
    0.0005
    """
    return PRICES.get((provider, model))


__all__ = ["PRICES", "Price", "price_for"]
