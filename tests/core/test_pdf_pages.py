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
    monkeypatch.setattr(
        pdf_pages, "_SMALL_PDF_CHARS", 0
    )  # the slice-by-slice scan, not the whole read
    monkeypatch.setattr(pdf_pages, "_SLICE_CHARS", 400)  # page objects cut by slice edges
    assert data_uri_pdf_page_count(uri(make_pdf(45))) == 45


@pytest.mark.parametrize(
    "text", ["data:application/pdf;base64,", "data:application/pdf;base64,JVBERi0xLjQK", "nope"]
)
def test_a_damaged_or_empty_document_is_unknown(text: str) -> None:
    assert data_uri_pdf_page_count(text) is None


def _not_called(text: str, start: int) -> int | None:
    raise AssertionError("pypdf was asked")


@pytest.mark.parametrize("pages", [1, 3, 45])
def test_a_small_pdf_is_counted_without_pypdf(monkeypatch: pytest.MonkeyPatch, pages: int) -> None:
    monkeypatch.setattr(pdf_pages, "_count_with_pypdf", _not_called)
    assert data_uri_pdf_page_count(uri(make_pdf(pages))) == pages


def test_a_small_pdf_updated_in_place_is_counted_by_pypdf() -> None:
    # An incremental update that removes a page leaves the old page object in the bytes.
    first = io.BytesIO()
    writer = pypdf.PdfWriter()
    for _ in range(3):
        writer.add_blank_page(100, 100)
    writer.write(first)
    updater = pypdf.PdfWriter(pypdf.PdfReader(io.BytesIO(first.getvalue())), incremental=True)
    updater.remove_page(0)
    updated = io.BytesIO()
    updater.write(updated)
    content = updated.getvalue()
    assert len(pdf_pages._PAGE_OBJECT.findall(content)) == 3  # the removed page still stands
    assert data_uri_pdf_page_count(uri(content)) == 2


def test_a_page_object_outside_the_page_tree_is_not_counted() -> None:
    stray = make_pdf(3) + b"\n99 0 obj\n<< /Type /Page >>\nendobj\n"
    assert data_uri_pdf_page_count(uri(stray)) == 3


@pytest.mark.parametrize("pages", [1, 45])
def test_a_large_pdf_is_counted_from_its_cross_reference_table(
    monkeypatch: pytest.MonkeyPatch, pages: int
) -> None:
    monkeypatch.setattr(pdf_pages, "_count_with_pypdf", _not_called)
    document = uri(make_pdf(pages, image_bytes=70 * 1024 // pages))  # past the small read
    assert len(document) > pdf_pages._SMALL_PDF_CHARS
    assert data_uri_pdf_page_count(document) == pages


def _large_updated_pdf() -> bytes:
    first = io.BytesIO()
    writer = pypdf.PdfWriter()
    for _ in range(3):
        writer.add_blank_page(100, 100)
    writer.add_attachment("scan.bin", bytes(range(256)) * 256)  # 64 KB: past the small read
    writer.write(first)
    updater = pypdf.PdfWriter(pypdf.PdfReader(io.BytesIO(first.getvalue())), incremental=True)
    updater.remove_page(0)
    updated = io.BytesIO()
    updater.write(updated)
    return updated.getvalue()


def test_a_large_pdf_updated_in_place_is_counted_by_pypdf(monkeypatch: pytest.MonkeyPatch) -> None:
    content = _large_updated_pdf()
    assert b"/Prev" in content and len(content) > 48 * 1024
    asked: list[int] = []
    original = pdf_pages._count_with_pypdf

    def spy(text: str, start: int) -> int | None:
        asked.append(1)
        return original(text, start)

    monkeypatch.setattr(pdf_pages, "_count_with_pypdf", spy)
    assert data_uri_pdf_page_count(uri(content)) == 2
    assert asked == [1]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b"/Count 3", b"/Count 9 0 R"),  # an indirect /Count
        (b"xref\n0 ", b"xref\n1 "),  # the table's offsets off by one object
    ],
)
def test_an_unexpected_cross_reference_reading_goes_to_pypdf(old: bytes, new: bytes) -> None:
    content = make_pdf(3, image_bytes=20 * 1024)
    assert old in content
    changed = uri(content.replace(old, new, 1))
    start = changed.find(",") + 1
    assert pdf_pages._xref_count(changed, start) is None
    assert pdf_pages._xref_count(uri(content), start) == 3
