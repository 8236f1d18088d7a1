"""The table of what each host and model takes and costs (router.capabilities)."""

from __future__ import annotations

import datetime

import pytest

import router
from router.capabilities import MODELS, OCR4_FIELDS, ModelInfo, model_info
from router.config import build_deployments
from router.pricing import PRICES, resolve_prices


def test_model_info_is_typed_and_public() -> None:
    info = router.model_info("azure_ai/mistral-ocr-4-0")
    assert isinstance(info, ModelInfo)
    assert (info.max_pages_per_request, info.max_request_bytes) == (30, 30 * 1024 * 1024)
    assert info.request_bytes_measure == "document"
    assert not info.accepts_file_id and not info.fetches_urls
    assert "include_blocks" in info.supported_params
    assert (info.price_per_page, info.price_per_annotated_page) == (0.004, 0.005)
    assert info.retires_on is None and info.listed


@pytest.mark.parametrize(
    ("model", "pages", "megabytes", "measure", "file_id", "fetches"),
    [
        ("mistral/mistral-ocr-latest", 1000, 50, "document", True, True),
        ("azure_ai/mistral-document-ai-2512", 30, 30, "document", False, False),
        ("vertex_ai/mistral-ocr-2505", 30, 10, "body", False, False),
    ],
)
def test_each_host_has_its_published_limits(
    model: str, pages: int, megabytes: int, measure: str, file_id: bool, fetches: bool
) -> None:
    info = model_info(model)
    assert info.max_pages_per_request == pages
    assert info.max_request_bytes == megabytes * 1024 * 1024
    assert info.request_bytes_measure == measure
    assert (info.accepts_file_id, info.fetches_urls) == (file_id, fetches)


def test_document_ai_and_vertex_lack_the_newer_fields() -> None:
    for model in ("azure_ai/mistral-document-ai-2512", "vertex_ai/mistral-ocr-2505"):
        params = model_info(model).supported_params
        assert "table_format" not in params and "include_blocks" not in params
        assert "pages" in params and "document_annotation_format" in params
    assert "table_format" in model_info("mistral/mistral-ocr-2512").supported_params
    assert "include_blocks" not in model_info("mistral/mistral-ocr-2512").supported_params


def test_aliases_point_at_ocr_4_1() -> None:
    assert model_info("mistral/mistral-ocr-latest").alias_of == "mistral-ocr-4-1"
    assert model_info("mistral/mistral-ocr-4").alias_of == "mistral-ocr-4-1"


@pytest.mark.parametrize(
    ("model", "on", "expected"),
    [
        ("azure_ai/mistral-document-ai-2505", "2026-07-14", "current"),
        ("azure_ai/mistral-document-ai-2505", "2026-07-15", "retired"),
        ("mistral/mistral-ocr-4-0", "2026-09-29", "deprecated"),
        ("mistral/mistral-ocr-4-0", "2026-09-30", "retired"),
        ("mistral/mistral-ocr-2505", "2026-06-01", "retired"),
        ("azure_ai/mistral-document-ai-2512", "2026-12-01", "current"),
        ("azure_ai/mistral-document-ai-2512", "2027-02-15", "deprecated"),
        ("mistral/mistral-ocr-latest", "2030-01-01", "current"),
    ],
)
def test_lifecycle_follows_the_published_dates(model: str, on: str, expected: str) -> None:
    assert model_info(model).lifecycle(datetime.date.fromisoformat(on)) == expected


def test_every_deprecated_or_retired_model_names_a_listed_successor() -> None:
    for info in MODELS.values():
        if info.retires_on or info.deprecated_on:
            assert info.successor is not None, info.name
            provider, _, name = info.successor.partition("/")
            successor = MODELS[(provider, name)]
            assert successor.retires_on is None, info.name


def test_unlisted_model_gets_its_hosts_limits_and_no_price() -> None:
    info = model_info("azure_ai/mistral-ocr-2099")
    assert not info.listed
    assert info.max_pages_per_request == 30 and not info.accepts_file_id
    assert info.supported_params == OCR4_FIELDS
    assert info.price_per_page is None


def test_prices_are_read_from_the_capability_table() -> None:
    for key, price in PRICES.items():
        row = MODELS[key]
        assert (price.per_page, price.per_annotated_page) == (
            row.price_per_page,
            row.price_per_annotated_page,
        )
    priced = {key for key, row in MODELS.items() if row.price_per_page is not None}
    assert set(PRICES) == priced


def test_resolve_prices_never_passes_a_listed_plain_price_off_as_annotated() -> None:
    assert resolve_prices("vertex_ai", "mistral-ocr-2505", None, None) == (0.0005, None)
    # A caller's own figure for every page: annotated pages too.
    assert resolve_prices("mistral", "my-model", 0.01, None) == (0.01, 0.01)
    assert resolve_prices("vertex_ai", "mistral-ocr-2505", None, 0.002) == (0.0005, 0.002)


def test_a_deployments_own_settings_override_the_table() -> None:
    plain, tuned = build_deployments(
        [
            {"model_name": "ocr", "model": "azure_ai/mistral-ocr-4-0", "api_key": "k",
             "api_base": "https://a.services.ai.azure.com"},
            {"model_name": "ocr", "model": "azure_ai/mistral-ocr-4-0", "api_key": "k",
             "api_base": "https://b.services.ai.azure.com", "max_pages_per_request": 10,
             "max_document_bytes": 5_000_000, "price_per_page": 0.001},
        ]
    )  # fmt: skip
    assert (plain.request_limits.max_pages, plain.request_limits.max_bytes) == (30, 30 * 2**20)
    assert plain.info.price_per_page == 0.004
    assert (tuned.request_limits.max_pages, tuned.request_limits.max_bytes) == (10, 5_000_000)
    assert tuned.request_limits.max_document_bytes == 5_000_000
    assert tuned.info.price_per_page == 0.001
    assert tuned.info.price_per_annotated_page == 0.005  # the table's, on its own


def test_a_body_limit_leaves_room_for_base64() -> None:
    (vertex,) = build_deployments(
        [{"model_name": "ocr", "model": "vertex_ai/mistral-ocr-2505", "project": "p", "token": "t"}]
    )
    limits = vertex.request_limits
    assert limits.measure == "body"
    # About 7.5 MB of document in a 10 MB body (WIRE.md).
    assert 7.4 * 2**20 < limits.max_document_bytes < 7.5 * 2**20
