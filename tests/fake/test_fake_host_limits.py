"""Fakes that tell the truth (issue 11): each host's page, size and document-kind limits, the
fields its model lacks, and the bodies it answers them with (WIRE.md rev.)."""

from __future__ import annotations

import base64

import pytest
from fake_helpers import Send, body, pdf_uri

from providers.fake import FakeProvider
from providers.samples import make_pdf

FILE = {"type": "file", "file_id": "3b6a0e2c-6f1e-4c1b-9a55-2f7d8a1b0c9e"}


@pytest.mark.parametrize("provider", ["azure_ai", "vertex_ai"])
async def test_azure_and_vertex_refuse_a_file_id(send: Send, provider: str) -> None:
    response = await send(FakeProvider(provider), {"model": "mistral-ocr-2505", "document": FILE})
    assert response.status_code == 400
    assert "file_id" in response.text


async def test_mistral_takes_a_file_id_its_files_api_holds_and_404s_one_it_does_not(
    send: Send,
) -> None:
    fake = FakeProvider("mistral")
    unknown = await send(fake, {"model": "mistral-ocr-2512", "document": FILE})
    assert unknown.status_code == 404
    assert unknown.json()["message"] == f"File {FILE['file_id']} not found"
    fake.add_file(make_pdf(3), file_id=FILE["file_id"])
    response = await send(fake, {"model": "mistral-ocr-2512", "document": FILE})
    assert response.status_code == 200
    assert response.json()["usage_info"]["pages_processed"] == 3  # the file's own pages
    assert fake.outcomes == {"file_not_found": 1, "ok": 1}


async def test_azure_refuses_more_than_30_pages_in_its_envelope(send: Send) -> None:
    fake = FakeProvider("azure_ai")
    refused = await send(fake, body(pdf_uri(31)))
    assert refused.status_code == 400
    assert "at most 30 pages" in refused.json()["error"]["message"]
    # The same document in a page range within the limit is served.
    assert (await send(fake, body(pdf_uri(31), pages=list(range(30))))).status_code == 200


async def test_vertex_passes_the_containers_own_bodies_through(send: Send) -> None:
    fake = FakeProvider("vertex_ai")
    too_long = await send(fake, body(pdf_uri(31)))
    assert too_long.status_code == 400
    assert "exceeds the maximum of 30 pages" in too_long.json()["detail"]
    newer = await send(fake, body(table_format="html", model="mistral-ocr-2505"))
    assert newer.status_code == 422
    assert newer.json() == {
        "detail": [
            {
                "type": "extra_forbidden",
                "loc": ["body", "table_format"],
                "msg": "Extra inputs are not permitted",
                "input": "html",
            }
        ]
    }


async def test_vertex_measures_the_request_body_against_10_mb(send: Send) -> None:
    content = make_pdf(1, image_bytes=8 * 1024 * 1024)  # 8 MB of document: a 10.7 MB body
    uri = "data:application/pdf;base64," + base64.b64encode(content).decode()
    response = await send(FakeProvider("vertex_ai"), body(uri))
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": 400,
        "message": "Request payload size exceeds the limit: 10485760 bytes.",
        "status": "INVALID_ARGUMENT",
    }
    # Azure counts the document's 8 MB against its 30 MB.
    assert (await send(FakeProvider("azure_ai"), body(uri))).status_code == 200


async def test_azure_counts_annotated_pages_apart_and_filters_content(send: Send) -> None:
    schema = {"name": "doc", "schema": {"type": "object"}}
    fake = FakeProvider("azure_ai")
    strict_format = {"type": "json_schema", "json_schema": {**schema, "strict": True}}
    strict = await send(fake, body(document_annotation_format=strict_format))
    answer = strict.json()
    assert answer["usage_info"]["pages_processed"] == 0
    assert answer["usage_info"]["pages_processed_annotation"] == 3
    assert answer["document_annotation"] is not None
    assert answer["content_filter_results"]["violence"] == {"filtered": False, "severity": "safe"}
    # Without strict the annotation is skipped and the pages are plain (field report).
    loose = await send(
        fake, body(document_annotation_format={"type": "json_schema", "json_schema": schema})
    )
    assert loose.json()["document_annotation"] is None
    assert loose.json()["usage_info"]["pages_processed"] == 3
    assert "pages_processed_annotation" not in loose.json()["usage_info"]


async def test_mistral_refuses_a_field_its_model_lacks(send: Send) -> None:
    response = await send(FakeProvider("mistral"), body(include_blocks=True))  # 2505: no blocks
    assert response.status_code == 422
    assert response.json()["raw_status_code"] == 422
    assert [item["loc"] for item in response.json()["detail"]] == [["body", "include_blocks"]]
    newer = {**body(include_blocks=True), "model": "mistral-ocr-latest"}
    assert (await send(FakeProvider("mistral"), newer)).status_code == 200
