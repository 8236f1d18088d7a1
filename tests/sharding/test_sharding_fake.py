"""The fakes answer each page of a PDF from that page's content, and charge latency per page."""

from __future__ import annotations

import base64

import httpx
import pytest

from providers.fake import FakeProvider
from providers.samples import make_pdf
from router.pdf import PdfPages


def pdf_body(content: bytes) -> dict[str, object]:
    uri = "data:application/pdf;base64," + base64.b64encode(content).decode()
    return {"model": "mistral-ocr-latest", "document": {"document_url": uri}}


async def post(fake: FakeProvider, body: dict[str, object]) -> httpx.Response:
    async with httpx.AsyncClient(transport=fake.mock_transport()) as client:
        return await client.post("http://fake/v1/ocr", json=body)


async def test_each_page_of_a_sub_pdf_is_answered_from_its_own_content() -> None:
    sub_pdf = PdfPages(make_pdf(30, "Book")).cut([16, 17])
    answer = (await post(FakeProvider("mistral"), pdf_body(sub_pdf))).json()
    assert [page["index"] for page in answer["pages"]] == [0, 1]
    assert "The page shows: Book Page 17 of 30" in answer["pages"][0]["markdown"]
    assert "The page shows: Book Page 18 of 30" in answer["pages"][1]["markdown"]


async def test_latency_is_charged_per_page_answered() -> None:
    fake = FakeProvider("mistral", latency=0.001, latency_per_page=0.002)
    body = pdf_body(make_pdf(4))
    await post(fake, body)
    await post(fake, {**body, "pages": [0]})
    assert [request.latency_s for request in fake.requests] == pytest.approx([0.009, 0.003])


async def test_a_refused_request_is_not_charged_per_page() -> None:
    fake = FakeProvider("mistral", latency_per_page=5.0)
    response = await post(fake, {**pdf_body(make_pdf(2)), "pages": [7]})
    assert response.status_code == 400 or response.status_code == 422
    assert fake.requests[0].latency_s == 0.0


def test_latency_per_page_must_be_seconds() -> None:
    with pytest.raises(ValueError, match="latency_per_page"):
        FakeProvider("mistral", latency_per_page=-1.0)
