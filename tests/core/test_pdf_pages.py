"""Counting an inline PDF's pages without decoding it whole (router.pdf_pages)."""

from __future__ import annotations

import base64
import io

import pypdf
import pytest

from providers.samples import make_pdf
from router import pdf_pages
from router.pdf_pages import data_uri_pdf_page_count


def uri(content: bytes) -> str:
    return "data:application/pdf;base64," + base64.b64encode(content).decode()


@pytest.mark.parametrize("pages", [1, 3, 45])
def test_counts_the_pages_of_a_pdf(pages: int) -> None:
    assert data_uri_pdf_page_count(uri(make_pdf(pages))) == pages


def test_counts_pages_held_in_compressed_object_streams() -> None:
    writer = pypdf.PdfWriter()
    for _ in range(7):
        writer.add_blank_page(100, 100)
    buffer = io.BytesIO()
    writer.write(buffer)
    assert data_uri_pdf_page_count(uri(buffer.getvalue())) == 7


def test_reads_only_a_little_of_a_large_document(monkeypatch: pytest.MonkeyPatch) -> None:
    document = uri(make_pdf(4, image_bytes=2 * 1024 * 1024))  # about 8 MB
    decoded: list[int] = []
    original = pdf_pages.binascii.a2b_base64

    def counting(text: str | bytes) -> bytes:
        result = original(text)
        decoded.append(len(result))
        return result

    monkeypatch.setattr(pdf_pages.binascii, "a2b_base64", counting)
    assert data_uri_pdf_page_count(document) == 4
    assert sum(decoded) < len(document) // 8  # the cross-reference table and a few objects


def test_without_pypdf_the_bytes_are_scanned(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pdf_pages, "_count_with_pypdf", lambda text, start: None)
    monkeypatch.setattr(pdf_pages, "_SLICE_CHARS", 400)  # page objects cut by slice edges
    assert data_uri_pdf_page_count(uri(make_pdf(45))) == 45


@pytest.mark.parametrize(
    "text", ["data:application/pdf;base64,", "data:application/pdf;base64,JVBERi0xLjQK", "nope"]
)
def test_a_damaged_or_empty_document_is_unknown(text: str) -> None:
    assert data_uri_pdf_page_count(text) is None
