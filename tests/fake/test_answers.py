"""The fakes' 200 answers follow the request and conform to Mistral's OpenAPI schema."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fake_helpers import CURRENT_MODELS, PROVIDERS, Send, body, pdf_uri

from providers.fake import FakeProvider
from router.types import OCRResponse

Validate = Any  # the `validate_spec` fixture from tests/conftest.py

BOOK_SCHEMA = {
    "type": "json_schema",
    "json_schema": {
        "name": "book",
        "schema": {
            "type": "object",
            "properties": {
                "title": {"type": "string"},
                "year": {"type": "integer", "minimum": 1900},
                "authors": {"type": "array", "items": {"type": "string"}},
                "kind": {"enum": ["novel", "essay"]},
            },
            "required": ["title", "year", "authors", "kind"],
            "additionalProperties": False,
        },
        "strict": True,
    },
}


def indexes(response_json: dict[str, Any]) -> list[int]:
    return [page["index"] for page in response_json["pages"]]


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_every_option_answer_validates_against_the_spec(
    send: Send, validate_spec: Validate, provider: str
) -> None:
    # What each host's current model takes: Vertex's 2505 has none of the newer fields.
    newer = {} if provider == "vertex_ai" else {"table_format": "html", "extract_header": True}
    payload = body(
        include_image_base64=True,
        extract_footer=None if provider == "vertex_ai" else True,
        bbox_annotation_format=BOOK_SCHEMA,
        document_annotation_format=BOOK_SCHEMA,
        **newer,
    )
    payload = {key: value for key, value in payload.items() if value is not None}
    response = await send(FakeProvider(provider), {**payload, "model": CURRENT_MODELS[provider]})
    assert response.status_code == 200
    validate_spec(response.json(), "OCRResponse")
    OCRResponse.model_validate(response.json())


async def test_plain_answer_validates_against_the_spec(send: Send, validate_spec: Validate) -> None:
    response = await send(FakeProvider("mistral"), body())
    validate_spec(response.json(), "OCRResponse")


async def test_all_pages_of_the_pdf_are_answered_when_none_are_asked_for(send: Send) -> None:
    response = await send(FakeProvider("mistral"), body(pdf_uri(5)))
    payload = response.json()
    assert indexes(payload) == [0, 1, 2, 3, 4]
    assert payload["usage_info"]["pages_processed"] == 5
    assert payload["usage_info"]["doc_size_bytes"] > 0


@pytest.mark.parametrize(
    ("pages", "expected"), [([1, 3], [1, 3]), ("0,2-4", [0, 2, 3, 4]), ([4, 9], [4])]
)
async def test_only_the_pages_asked_for_that_exist_are_answered(
    send: Send, pages: object, expected: list[int]
) -> None:
    response = await send(FakeProvider("azure_ai"), body(pdf_uri(5), pages=pages))
    assert indexes(response.json()) == expected
    assert response.json()["usage_info"]["pages_processed"] == len(expected)


@pytest.mark.parametrize(("provider", "status"), [("mistral", 422), ("vertex_ai", 400)])
async def test_asking_only_for_pages_past_the_end_is_refused_naming_them(
    send: Send, provider: str, status: int
) -> None:
    response = await send(FakeProvider(provider), body(pdf_uri(2), pages=[5, 7]))
    assert response.status_code == status
    assert "[5, 7]" in response.text


async def test_each_page_has_its_own_markdown_naming_its_index(send: Send) -> None:
    pages = (await send(FakeProvider("mistral"), body(pdf_uri(3)))).json()["pages"]
    markdowns = [page["markdown"] for page in pages]
    assert len(set(markdowns)) == 3
    for page in pages:
        assert f"page index {page['index']}" in page["markdown"]
        assert page["dimensions"] == {"dpi": 200, "height": 2200, "width": 1700}


async def test_same_request_gets_the_same_answer(send: Send) -> None:
    fake = FakeProvider("mistral")
    first = await send(fake, body(pages=[0]))
    second = await send(fake, body(pages=[0]))
    assert first.content == second.content


@pytest.mark.parametrize("include", [True, False, None])
async def test_image_base64_only_when_asked_for(send: Send, include: bool | None) -> None:
    params: dict[str, Any] = {} if include is None else {"include_image_base64": include}
    images = (await send(FakeProvider("mistral"), body(**params))).json()["pages"][0]["images"]
    assert len(images) == 1
    if include:
        assert images[0]["image_base64"].startswith("data:image/png;base64,")
    else:
        assert images[0]["image_base64"] is None


async def test_annotations_are_json_strings_satisfying_the_schema(send: Send) -> None:
    payload = (
        await send(
            FakeProvider("mistral"),
            body(document_annotation_format=BOOK_SCHEMA, bbox_annotation_format=BOOK_SCHEMA),
        )
    ).json()
    document_annotation = json.loads(payload["document_annotation"])
    image_annotation = json.loads(payload["pages"][0]["images"][0]["image_annotation"])
    for annotation in (document_annotation, image_annotation):
        assert set(annotation) == {"title", "year", "authors", "kind"}
        assert annotation["year"] >= 1900
        assert annotation["kind"] == "novel"


async def test_no_annotation_unless_asked_for(send: Send) -> None:
    payload = (await send(FakeProvider("mistral"), body())).json()
    assert payload["document_annotation"] is None
    assert payload["pages"][0]["images"][0]["image_annotation"] is None


@pytest.mark.parametrize("table_format", ["markdown", "html"])
async def test_tables_follow_the_table_format(send: Send, table_format: str) -> None:
    payload = {**body(table_format=table_format), "model": CURRENT_MODELS["mistral"]}
    page = (await send(FakeProvider("mistral"), payload)).json()["pages"][0]
    assert [table["format"] for table in page["tables"]] == [table_format]
    assert page["tables"][0]["id"] in page["markdown"]


async def test_header_and_footer_only_when_asked_for(send: Send) -> None:
    fake = FakeProvider("mistral")
    plain = (await send(fake, body())).json()["pages"][0]
    asked = {**body(extract_header=True, extract_footer=True), "model": CURRENT_MODELS["mistral"]}
    extracted = (await send(fake, asked)).json()["pages"][0]
    assert (plain["header"], plain["footer"]) == (None, None)
    assert extracted["header"] and extracted["footer"]


@pytest.mark.parametrize(
    ("sent", "echoed"),
    [("mistral-ocr-latest", "mistral-ocr-2512"), ("mistral-ocr-2512", "mistral-ocr-2512")],
)
async def test_model_is_echoed_as_the_service_does(send: Send, sent: str, echoed: str) -> None:
    payload = (await send(FakeProvider("mistral"), {**body(), "model": sent})).json()
    assert payload["model"] == echoed


async def test_echo_model_is_configurable(send: Send) -> None:
    fake = FakeProvider("mistral", echo_model="mistral-ocr-2601-completion")
    payload = (await send(fake, {**body(), "model": "mistral-ocr-latest"})).json()
    assert payload["model"] == "mistral-ocr-2601-completion"


async def test_a_damaged_pdf_is_refused(send: Send) -> None:
    damaged = "data:application/pdf;base64,JVBERi0xLjQKZ2FyYmFnZQ=="  # "%PDF-1.4\ngarbage"
    response = await send(FakeProvider("azure_ai"), body(damaged))
    assert response.status_code == 400
    assert "PDF" in response.json()["error"]["message"]


@pytest.mark.parametrize(("image_limit", "images"), [(None, 3), (0, 0), (2, 2), (5, 3)])
async def test_image_limit_caps_the_images_of_the_whole_document(
    send: Send, image_limit: int | None, images: int
) -> None:
    params = {} if image_limit is None else {"image_limit": image_limit}
    response = await send(FakeProvider("mistral"), body(pdf_uri(3), **params))
    pages = response.json()["pages"]
    assert sum(len(page["images"]) for page in pages) == images
    for page in pages:  # the markdown names exactly the images returned
        for image in page["images"]:
            assert f"![{image['id']}]({image['id']})" in page["markdown"]
        assert page["markdown"].count("![") == len(page["images"])


async def test_image_min_size_drops_images_smaller_than_it(send: Send) -> None:
    fake = FakeProvider("mistral")
    kept = (await send(fake, body(image_min_size=100))).json()["pages"]
    dropped = (await send(fake, body(image_min_size=5000))).json()["pages"]
    assert all(len(page["images"]) == 1 for page in kept)
    assert all(page["images"] == [] and "![" not in page["markdown"] for page in dropped)


async def test_a_document_sent_again_is_not_decoded_again_and_each_is_counted_right(
    send: Send, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Decoding megabytes and parsing the PDF per request made the fake the bottleneck.
    from providers.fake import responses

    decoded: list[str] = []
    parse = responses.parse_data_uri

    def counting(uri: str) -> tuple[str, bytes]:
        decoded.append(uri)
        return parse(uri)

    monkeypatch.setattr(responses, "parse_data_uri", counting)
    monkeypatch.setattr(responses, "_FACTS", {})
    fake = FakeProvider("mistral")
    two, three = pdf_uri(2), pdf_uri(3)
    answers = [await send(fake, body(uri)) for uri in (two, three, two, three)]
    assert [len(indexes(answer.json())) for answer in answers] == [2, 3, 2, 3]
    assert decoded == [two, three]
