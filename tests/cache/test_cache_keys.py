"""What makes two requests the same request for the result cache."""

from __future__ import annotations

import base64

from router.cache import document_digest, request_parameters, result_key
from router.types import OCRRequest


def key_of(document: object, group: str = "ocr", **params: object) -> str:
    request = OCRRequest.build(document, **params)
    return result_key(document_digest(request.document), group, request_parameters(request))


def test_the_same_bytes_give_the_same_key_however_they_are_given(png_bytes: bytes) -> None:
    uri = "data:image/png;base64," + base64.b64encode(png_bytes).decode()
    assert key_of(png_bytes) == key_of(uri) == key_of({"type": "image_url", "image_url": uri})


def test_other_bytes_groups_and_answer_changing_parameters_give_other_keys(
    png_bytes: bytes, pdf_bytes: bytes
) -> None:
    keys = {
        key_of(pdf_bytes),
        key_of(png_bytes),
        key_of(pdf_bytes, group="other"),
        key_of(pdf_bytes, pages=[0]),
        key_of(pdf_bytes, pages=[1]),
        key_of(pdf_bytes, include_image_base64=True),
        key_of(pdf_bytes, table_format="html"),
        key_of(
            pdf_bytes,
            document_annotation_format={
                "type": "json_schema",
                "json_schema": {"name": "a", "schema": {"type": "object"}},
            },
        ),
        key_of(pdf_bytes, extra_body={"new_option": 1}),
    }
    assert len(keys) == 9


def test_a_documents_name_does_not_change_its_key(pdf_bytes: bytes) -> None:
    uri = "data:application/pdf;base64," + base64.b64encode(pdf_bytes).decode()
    named = {"type": "document_url", "document_url": uri, "document_name": "a.pdf"}
    assert key_of(named) == key_of(uri)


def test_a_remote_url_is_keyed_by_the_url_and_the_key_shows_nothing_of_it() -> None:
    signed = "https://bucket.example/a.pdf?X-Amz-Signature=secret-sig-123"
    key = key_of(signed)
    assert key == key_of(signed)
    assert key != key_of("https://bucket.example/a.pdf?X-Amz-Signature=other")
    assert len(key) == 64 and all(c in "0123456789abcdef" for c in key)
    assert document_digest(OCRRequest.build(signed).document).startswith("url:")


def test_an_uploaded_file_is_keyed_by_its_id() -> None:
    file_id = "0f8fad5b-d9cb-469f-a165-70867728950e"
    request = OCRRequest.build({"type": "file", "file_id": file_id})
    assert document_digest(request.document) == f"file:{file_id}"


async def test_a_large_document_is_hashed_off_the_loop_to_the_same_digest() -> None:
    from router.cache import adocument_digest

    big = OCRRequest.build(b"%PDF-1.7\n" + bytes(range(256)) * 8192)  # 2 MB: a worker thread
    small = OCRRequest.build(b"%PDF-1.7\n" + bytes(range(256)))
    for request in (big, small):
        assert await adocument_digest(request.document) == document_digest(request.document)
