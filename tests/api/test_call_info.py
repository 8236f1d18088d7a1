"""`response.call_info` over real sockets: latency, pages and a cost priced by the model asked for.

The fakes echo a dated model name (as Mistral does for `mistral-ocr-latest`); the cost must
follow the configured model's price regardless.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from api_samples import SAMPLE_PAGES, SECRET_KEY

from providers.fake import FakeProvider
from router.api import aocr
from router.errors import UnprocessableEntityError
from router.pricing import price_for

FakeServer = Callable[[FakeProvider], Any]
DOCUMENT_FORMAT = {
    "type": "json_schema",
    "json_schema": {"name": "doc", "schema": {"type": "object"}, "strict": True},
}


@pytest.fixture
def data_uri(base64_pdf: str) -> dict[str, str]:
    return {"type": "document_url", "document_url": f"data:application/pdf;base64,{base64_pdf}"}


async def test_cost_follows_the_asked_model_although_the_fake_echoes_another(
    fake_server: FakeServer, data_uri: dict[str, str]
) -> None:
    fake = FakeProvider("mistral", api_key=SECRET_KEY, echo_model="mistral-ocr-2512-completion")
    base_url = await fake_server(fake)
    response = await aocr(
        "mistral/mistral-ocr-latest", data_uri, api_key=SECRET_KEY, api_base=base_url
    )
    asked, echoed = (
        price_for("mistral", "mistral-ocr-latest"),
        price_for("mistral", "mistral-ocr-2512"),
    )
    assert asked is not None and echoed is not None and asked != echoed
    assert response.model == "mistral-ocr-2512-completion"
    info = response.call_info
    assert info is not None
    assert info.model == "mistral/mistral-ocr-latest"
    assert info.pages == SAMPLE_PAGES == response.usage_info.pages_processed
    assert info.cost_usd == pytest.approx(SAMPLE_PAGES * asked.per_page)
    assert info.latency_s > 0
    assert [attempt.latency_s for attempt in info.attempts] == [info.latency_s]


async def test_cost_counts_the_pages_processed_not_the_pages_of_the_document(
    fake_server: FakeServer, data_uri: dict[str, str]
) -> None:
    base_url = await fake_server(FakeProvider("azure_ai", api_key=SECRET_KEY))
    response = await aocr(
        "azure_ai/mistral-ocr-2505",
        data_uri,
        api_key=SECRET_KEY,
        api_base=base_url,
        pages=[1],
    )
    listed = price_for("azure_ai", "mistral-ocr-2505")
    assert listed is not None
    assert response.call_info is not None
    assert response.call_info.pages == 1
    assert response.call_info.cost_usd == pytest.approx(listed.per_page)


async def test_annotated_call_is_priced_at_the_annotated_price(
    fake_server: FakeServer, data_uri: dict[str, str]
) -> None:
    base_url = await fake_server(FakeProvider("mistral", api_key=SECRET_KEY))
    response = await aocr(
        "mistral/mistral-ocr-2512",
        data_uri,
        api_key=SECRET_KEY,
        api_base=base_url,
        document_annotation_format=DOCUMENT_FORMAT,
    )
    listed = price_for("mistral", "mistral-ocr-2512")
    assert listed is not None and listed.per_annotated_page is not None
    assert response.document_annotation is not None
    assert response.call_info is not None
    assert response.call_info.cost_usd == pytest.approx(SAMPLE_PAGES * listed.per_annotated_page)


async def test_annotated_call_on_vertex_is_unpriced_since_no_annotated_price_is_published(
    fake_server: FakeServer, data_uri: dict[str, str]
) -> None:
    # Changed on purpose (issue 11): the table used to invent 1.5 per 1,000 annotated pages.
    base_url = await fake_server(FakeProvider("vertex_ai", api_key=SECRET_KEY))
    response = await aocr(
        "vertex_ai/mistral-ocr-2505",
        data_uri,
        api_base=base_url,
        vertex_project="p-1",
        token=SECRET_KEY,
        document_annotation_format=DOCUMENT_FORMAT,
    )
    assert response.document_annotation is not None
    assert response.call_info is not None
    assert response.call_info.pages == SAMPLE_PAGES
    assert response.call_info.cost_usd is None


async def test_explicit_price_overrides_the_table(
    fake_server: FakeServer, data_uri: dict[str, str]
) -> None:
    base_url = await fake_server(FakeProvider("mistral", api_key=SECRET_KEY))
    response = await aocr(
        "mistral/mistral-ocr-latest",
        data_uri,
        api_key=SECRET_KEY,
        api_base=base_url,
        price_per_page=0.25,
    )
    assert response.call_info is not None
    assert response.call_info.cost_usd == pytest.approx(SAMPLE_PAGES * 0.25)


async def test_model_missing_from_the_table_has_no_cost(
    fake_server: FakeServer, data_uri: dict[str, str]
) -> None:
    base_url = await fake_server(FakeProvider("mistral", api_key=SECRET_KEY))
    response = await aocr(
        "mistral/mistral-ocr-2099-preview", data_uri, api_key=SECRET_KEY, api_base=base_url
    )
    assert response.call_info is not None
    assert response.call_info.pages == SAMPLE_PAGES
    assert response.call_info.cost_usd is None


async def test_extra_body_field_reaches_mistral_which_refuses_it_by_name(
    fake_server: FakeServer, data_uri: dict[str, str]
) -> None:
    fake = FakeProvider("mistral", api_key=SECRET_KEY)
    base_url = await fake_server(fake)
    with pytest.raises(UnprocessableEntityError, match="experimental_layout") as caught:
        await aocr(
            "mistral/mistral-ocr-latest",
            data_uri,
            api_key=SECRET_KEY,
            api_base=base_url,
            extra_body={"experimental_layout": True},
        )
    assert fake.requests[-1].json["experimental_layout"] is True
    assert caught.value.status_code == 422
    assert caught.value.retryable is False
