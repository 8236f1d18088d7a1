import base64
import io
import json
from pathlib import Path
from typing import Any

import pytest

from router.errors import InvalidRequestError
from router.types import (
    DocumentURLChunk,
    FileChunk,
    ImageURLChunk,
    OCRRequest,
    OCRResponse,
)

PDF = b"%PDF-1.4\n% test\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 8
URL = "https://arxiv.org/pdf/2201.04234"


def test_seed_document_form_is_sent_as_given() -> None:
    request = OCRRequest.build({"type": "document_url", "document_url": URL}, pages=[0, 1])
    assert request.to_wire("mistral-ocr-latest") == {
        "model": "mistral-ocr-latest",
        "document": {"type": "document_url", "document_url": URL},
        "pages": [0, 1],
    }


@pytest.mark.parametrize(
    ("document", "expected_type"),
    [
        ({"document_url": URL}, DocumentURLChunk),
        ({"image_url": "https://example.org/a.png"}, ImageURLChunk),
        ({"image_url": {"url": "https://example.org/a.png"}}, ImageURLChunk),
        ({"file_id": "3b7e2c1a-0f4d-4e8b-9a6c-1d2e3f4a5b6c"}, FileChunk),
        (URL, DocumentURLChunk),
    ],
)
def test_document_type_is_inferred_when_omitted(document: object, expected_type: type) -> None:
    assert isinstance(OCRRequest.build(document).document, expected_type)


def test_local_path_bytes_and_file_objects_become_data_uris(tmp_path: Path) -> None:
    path = tmp_path / "scan.bin"  # the extension is meaningless: content decides
    path.write_bytes(PDF)
    for document in (path, PDF, io.BytesIO(PDF), {"type": "file", "file": str(path)}):
        sent = OCRRequest.build(document).to_wire()["document"]
        assert sent["type"] == "document_url"
        assert (
            sent["document_url"] == "data:application/pdf;base64," + base64.b64encode(PDF).decode()
        )


def test_images_become_image_url_chunks() -> None:
    sent = OCRRequest.build(PNG).to_wire()["document"]
    assert sent["type"] == "image_url"
    assert sent["image_url"].startswith("data:image/png;base64,")


def test_explicit_mime_type_for_raw_bytes() -> None:
    sent = OCRRequest.build({"type": "file", "file": PDF, "mime_type": "application/pdf"})
    assert sent.to_wire()["document"]["document_url"].startswith("data:application/pdf;")


def test_only_set_fields_are_sent() -> None:
    wire = OCRRequest.build(URL, include_image_base64=False, table_format="html").to_wire()
    assert set(wire) == {"document", "include_image_base64", "table_format"}


def test_every_optional_parameter_round_trips() -> None:
    schema = {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}}
    params = {
        "pages": "0,2-4",
        "include_image_base64": True,
        "image_limit": 10,
        "image_min_size": 100,
        "bbox_annotation_format": schema,
        "document_annotation_format": schema,
        "document_annotation_prompt": "Extract the title",
        "table_format": "markdown",
        "extract_header": True,
        "extract_footer": False,
        "include_blocks": True,
        "confidence_scores_granularity": "word",
    }
    wire = OCRRequest.build(URL, **params).to_wire()
    assert {key: wire[key] for key in params} == {
        **params,
        "bbox_annotation_format": {**schema, "json_schema": {**schema["json_schema"]}},
    }


def test_page_string_expands_to_indexes() -> None:
    assert OCRRequest.build(URL, pages="0,2-4").page_indexes == [0, 2, 3, 4]
    assert OCRRequest.build(URL).page_indexes is None


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"foo": 1}, "foo: unknown parameter"),
        ({"pages": [-1]}, "pages.0"),
        ({"pages": "4-2"}, "ends before it starts"),
        ({"pages": "a-b"}, "pages"),
        ({"pages": list(range(1001))}, "pages"),
        ({"image_limit": "many"}, "image_limit"),
        ({"table_format": "csv"}, "table_format"),
        ({"document_annotation_prompt": "x"}, "needs document_annotation_format"),
    ],
)
def test_bad_parameters_are_named(params: dict[str, object], named: str) -> None:
    with pytest.raises(InvalidRequestError, match=named) as caught:
        OCRRequest.build(URL, **params)
    assert caught.value.status_code == 422
    assert caught.value.errors


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ({"document_url": "file:///etc/passwd"}, "https://, http:// or data:"),
        ({"document_url": "ftp://example.org/a.pdf"}, "https://, http:// or data:"),
        ({"document_url": "https://x/a\r\nX-Injected: 1"}, "control characters"),
        ({"document_url": "data:application/pdf;base64,@@@"}, "not valid base64"),
        ({"image_url": "data:image/png;base64," + base64.b64encode(PDF).decode()}, "claims"),
        ({"type": "file", "file": b""}, "empty"),
        ({"type": "file", "file": b"plain text"}, "cannot tell"),
        ({"weird": 1}, "needs one of"),
        ({"file_id": "not-a-uuid"}, "file_id"),
    ],
)
def test_bad_documents_are_refused_with_the_reason(document: object, problem: str) -> None:
    with pytest.raises(InvalidRequestError, match=problem):
        OCRRequest.build(document)


def test_extra_body_passes_unknown_fields_on_purpose() -> None:
    request = OCRRequest.build(URL, extra_body={"id": "abc"})
    assert request.to_wire()["id"] == "abc"
    assert request.with_document(DocumentURLChunk(document_url=URL)).to_wire()["id"] == "abc"


def test_annotated_requests_are_flagged() -> None:
    schema = {"type": "json_schema", "json_schema": {"name": "x", "schema": {}}}
    assert OCRRequest.build(URL, bbox_annotation_format=schema).is_annotated
    assert not OCRRequest.build(URL).is_annotated


def test_response_keeps_unknown_fields_and_tolerates_missing_optional_ones() -> None:
    response = OCRResponse.model_validate(
        {
            "pages": [{"index": 0, "markdown": "# Title", "confidence_scores": {"a": 1}, "new": 2}],
            "model": "mistral-ocr-2512",
            "usage_info": {"pages_processed": 1},
            "future_field": {"x": 1},
        }
    )
    assert response.pages[0].markdown == "# Title"
    assert response.pages[0].images == []
    dumped = response.model_dump(exclude_unset=True)
    assert dumped["future_field"] == {"x": 1}
    assert dumped["pages"][0]["new"] == 2
    assert getattr(response, "call_info", None) is None  # parsed, not served: no call_info


def test_the_proxy_json_is_the_wire_dict_with_unknown_fields_and_unicode() -> None:
    response = OCRResponse.model_validate(
        {
            "pages": [{"index": 0, "markdown": "Zoë — 東京 \u2028", "new": [1.5, None]}],
            "model": "mistral-ocr-2512",
            "usage_info": {"pages_processed": 1, "doc_size_bytes": 10},
            "future_field": {"x": 1e-05},
        }
    )
    assert json.loads(response.to_wire_json()) == response.to_wire()


def test_null_arrays_from_a_provider_read_as_empty() -> None:
    response = OCRResponse.model_validate(
        {
            "pages": [{"index": 0, "markdown": "", "images": None, "tables": None}],
            "model": "m",
            "usage_info": {"pages_processed": 1},
        }
    )
    assert response.pages[0].images == []
    assert response.pages[0].tables == []
    assert response.to_wire()["pages"][0]["hyperlinks"] == []


def test_to_wire_conforms_to_the_spec(validate_spec: object) -> None:
    minimal = OCRResponse.model_validate(
        {
            "pages": [{"index": 0, "markdown": "x", "tables": [{"id": "t", "content": "c"}]}],
            "model": "mistral-ocr-2512",
            "usage_info": {"pages_processed": 1},
            "brand_new": True,
        }
    )
    wire = minimal.to_wire()
    assert wire["brand_new"] is True
    validate_spec(wire, "OCRResponse")  # type: ignore[operator]


def test_the_vendored_spec_is_the_projects_spec() -> None:
    tests = Path(__file__).parents[1]
    shared = tests.parents[1] / "shared/spec/mistral-ocr-openapi.yaml"
    vendored = tests / "spec/mistral-ocr-openapi.yaml"
    if not shared.is_file():
        pytest.skip(f"no project spec beside the repository ({shared}) to compare with")
    assert vendored.read_bytes() == shared.read_bytes()


@pytest.mark.parametrize(
    "annotation",
    ['{"title": "Invoice"}', {"title": "Invoice"}, [{"title": "Invoice"}, {"title": "Annex"}]],
)
def test_annotations_are_kept_as_they_came(annotation: Any) -> None:
    # The spec says JSON strings; Mistral's docs and its Azure cookbook show objects too.
    answer = {
        "pages": [
            {
                "index": 0,
                "markdown": "x",
                "images": [{"id": "img-0.jpeg", "image_annotation": annotation}],
            }
        ],
        "model": "mistral-ocr-4-0",
        "document_annotation": annotation,
        "usage_info": {"pages_processed": 0, "pages_processed_annotation": 1},
    }
    response = OCRResponse.model_validate_json(json.dumps(answer))
    assert response.document_annotation == annotation
    assert response.pages[0].images[0].image_annotation == annotation
    assert response.to_wire()["document_annotation"] == annotation
    assert response.usage_info.total_pages == 1
    assert response.usage_info.billed_pages(annotated_request=True) == (0, 1)
