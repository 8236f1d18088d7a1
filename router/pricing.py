"""List prices of Mistral OCR per provider and model, so every call can report what it cost.

A call is priced by the model that was *asked for* (the configured `provider/model`), never by
the name the provider echoes back: `mistral-ocr-latest` comes back as a dated name, sometimes with
a `-completion` suffix, and pricing by that would make the cost of one configuration drift.

The figures are read from `router.capabilities`, the one table of what each host and model takes
and costs (each price with its source there); this module only presents them per page. A model
not in the table has no price (`price_for` returns None): the caller then gets no cost rather
than a wrong one, and can give a price explicitly. An annotated price that no host publishes is
None too (Vertex): annotated pages there go unpriced unless the deployment gives a figure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from router.capabilities import MODELS

_PER_THOUSAND = 1000.0


@dataclass(frozen=True)
class Price:
    """USD per page: plain, with an annotation format (bbox or document) requested, and the
    batch API's figures; None where no price is published."""

    per_page: float
    per_annotated_page: float | None
    batch_per_page: float | None = None
    batch_per_annotated_page: float | None = None

    @classmethod
    def per_thousand(cls, pages: float, annotated_pages: float | None) -> Price:
        """Build from list prices quoted per 1,000 pages, as providers publish them."""
        annotated = None if annotated_pages is None else annotated_pages / _PER_THOUSAND
        return cls(pages / _PER_THOUSAND, annotated)


PRICES: Mapping[tuple[str, str], Price] = MappingProxyType(
    {
        key: Price(
            info.price_per_page,
            info.price_per_annotated_page,
            info.batch_price_per_page,
            info.batch_price_per_annotated_page,
        )
        for key, info in MODELS.items()
        if info.price_per_page is not None
    }
)
"""The table, read-only: `PRICES[("mistral", "mistral-ocr-2512")].per_page == 0.002`."""


def price_for(provider: str, model: str) -> Price | None:
    """The list price of `model` (without a provider prefix) on `provider`, or None if unknown.

    >>> price_for("vertex_ai", "mistral-ocr-2505").per_page
    0.0005
    """
    return PRICES.get((provider, model))


def batch_price_for(provider: str, model: str) -> tuple[float | None, float | None]:
    """USD per page through the provider's Batch API, (plain, annotated); None where no batch
    price is published (only Mistral's own API has one: half its list price).

    >>> batch_price_for("mistral", "mistral-ocr-2512")
    (0.001, 0.0015)
    """
    listed = price_for(provider, model)
    if listed is None:
        return None, None
    return listed.batch_per_page, listed.batch_per_annotated_page


def resolve_prices(
    provider: str, model: str, per_page: float | None, per_annotated_page: float | None
) -> tuple[float | None, float | None]:
    """The (plain, annotated) USD per page to charge: each figure given wins over the table's
    on its own; an annotated figure neither given nor listed is the plain one *given* (a
    caller's price for an unlisted model), never a listed plain price passed off as one."""
    listed = price_for(provider, model)
    plain = per_page if per_page is not None else (listed.per_page if listed else None)
    annotated = per_annotated_page
    if annotated is None and listed is not None:
        annotated = listed.per_annotated_page
    if annotated is None:
        annotated = per_page
    return plain, annotated


__all__ = ["PRICES", "Price", "batch_price_for", "price_for", "resolve_prices"]
