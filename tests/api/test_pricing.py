"""The price table: WIRE.md's list prices, stored per page, looked up by the asked-for model."""

from __future__ import annotations

import pytest

from router.pricing import PRICES, Price, price_for


@pytest.mark.parametrize(
    ("provider", "model", "per_thousand", "annotated_per_thousand"),
    [
        # WIRE.md (rev. 2026-12-01): list prices per 1,000 pages, None where none is published.
        ("mistral", "mistral-ocr-latest", 4, 5),
        ("mistral", "mistral-ocr-4-1", 4, 5),
        ("mistral", "mistral-ocr-4", 4, 5),
        ("mistral", "mistral-ocr-2512", 2, 3),
        ("mistral", "mistral-ocr-4-0", 4, 5),
        ("mistral", "mistral-ocr-2505", 1, 3),
        ("azure_ai", "mistral-ocr-4-0", 4, 5),
        ("azure_ai", "mistral-ocr-2512", 2, None),
        ("azure_ai", "mistral-ocr-2505", 1, None),
        ("azure_ai", "mistral-document-ai-2512", 3, 3),
        ("vertex_ai", "mistral-ocr-2505", 0.5, None),
    ],
)
def test_table_holds_wire_list_prices_per_page(
    provider: str, model: str, per_thousand: float, annotated_per_thousand: float | None
) -> None:
    price = price_for(provider, model)
    assert price is not None
    assert price.per_page == pytest.approx(per_thousand / 1000)
    if annotated_per_thousand is None:
        assert price.per_annotated_page is None  # not published: never guessed
    else:
        assert price.per_annotated_page == pytest.approx(annotated_per_thousand / 1000)


def test_mistral_batch_prices_are_half_the_list_price() -> None:
    price = price_for("mistral", "mistral-ocr-latest")
    assert price is not None and price.per_annotated_page is not None
    assert price.batch_per_page == pytest.approx(price.per_page / 2)
    assert price.batch_per_annotated_page == pytest.approx(price.per_annotated_page / 2)
    azure = price_for("azure_ai", "mistral-ocr-4-0")
    assert azure is not None and azure.batch_per_page is None


def test_every_price_is_non_negative_and_annotation_never_cheaper() -> None:
    for key, price in PRICES.items():
        assert price.per_page >= 0, key
        if price.per_annotated_page is not None:
            assert price.per_annotated_page >= price.per_page, key


def test_unknown_model_or_provider_has_no_price() -> None:
    assert price_for("mistral", "mistral-ocr-9999") is None
    assert price_for("openai", "mistral-ocr-2505") is None


def test_echoed_dated_names_are_not_priced_as_the_asked_model() -> None:
    # The provider echoes "mistral-ocr-2512-completion" for "mistral-ocr-latest": no price for it,
    # so nothing can silently price a call by the echoed name.
    assert price_for("mistral", "mistral-ocr-2512-completion") is None


def test_price_table_is_read_only() -> None:
    with pytest.raises(TypeError):
        PRICES[("mistral", "new-model")] = Price(0.1, 0.1)  # type: ignore[index]


def test_per_thousand_converts_list_prices_to_per_page() -> None:
    assert Price.per_thousand(2, 3) == Price(per_page=0.002, per_annotated_page=0.003)
