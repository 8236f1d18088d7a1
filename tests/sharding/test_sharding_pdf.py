"""router/pdf.py: page counts, and sub-PDFs that hold their pages and only them."""

from __future__ import annotations

import builtins
import hashlib
import io
from typing import Any

import pypdf
import pytest
from pypdf.annotations import FreeText, Link

from providers.samples import make_pdf
from router.errors import InvalidRequestError, MissingExtraError
from router.pdf import PdfPages, count_pages, pdf_available


def page_texts(content: bytes) -> list[str]:
    return [page.extract_text() for page in pypdf.PdfReader(io.BytesIO(content)).pages]


def image_digests(content: bytes) -> list[str]:
    digests = []
    for page in pypdf.PdfReader(io.BytesIO(content)).pages:
        for xobject in page["/Resources"]["/XObject"].values():
            digests.append(hashlib.sha256(xobject.get_object().get_data()).hexdigest())
    return digests


@pytest.fixture(scope="module")
def long_pdf() -> bytes:
    return make_pdf(40, "Long", image_bytes=4096)


def test_count_pages(long_pdf: bytes) -> None:
    assert count_pages(long_pdf) == 40
    assert PdfPages(make_pdf(1)).page_count == 1


def test_a_cut_holds_exactly_its_pages_with_their_text_and_images(long_pdf: bytes) -> None:
    pages = PdfPages(long_pdf)
    shard = pages.cut([16, 17, 18])
    assert count_pages(shard) == 3
    assert [text.splitlines()[1] for text in page_texts(shard)] == [
        "Page 17 of 40",
        "Page 18 of 40",
        "Page 19 of 40",
    ]
    assert image_digests(shard) == image_digests(long_pdf)[16:19]
    # Only its pages' images came along: about 3 of the 40 images, not the whole file.
    assert len(shard) < len(long_pdf) * 4 / 40


def test_a_cut_keeps_an_embedded_font_the_pages_share() -> None:
    program = b"\x00\x01\x00\x00" + bytes(range(256)) * 8  # any bytes: it is carried, not read
    document = make_pdf(6, font_program=program)
    shard = PdfPages(document).cut([4, 5])
    for page in pypdf.PdfReader(io.BytesIO(shard)).pages:
        font = page["/Resources"]["/Font"]["/F2"].get_object()
        assert font["/FontDescriptor"]["/FontFile2"].get_object().get_data() == program


def test_cuts_in_any_order_and_non_contiguous(long_pdf: bytes) -> None:
    shard = PdfPages(long_pdf).cut([30, 2, 7])
    assert [text.splitlines()[1] for text in page_texts(shard)] == [
        "Page 31 of 40",
        "Page 3 of 40",
        "Page 8 of 40",
    ]


def test_links_to_other_pages_do_not_drag_those_pages_in(long_pdf: bytes) -> None:
    """A link's destination is another page: copied as it is, it would bring that page and
    everything it draws into the sub-PDF (a table of contents brings the whole book)."""
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(long_pdf)))
    for index in range(40):
        writer.add_annotation(index, Link(rect=(0, 0, 9, 9), target_page_index=(index + 20) % 40))
    writer.add_annotation(0, FreeText(text="A note", rect=(50, 50, 200, 100)))
    buffer = io.BytesIO()
    writer.write(buffer)
    linked = buffer.getvalue()
    shard = PdfPages(linked).cut([0, 1])
    assert len(shard) < len(linked) * 3 / 40
    first = pypdf.PdfReader(io.BytesIO(shard)).pages[0]
    kinds = [annotation.get_object()["/Subtype"] for annotation in first["/Annots"]]
    assert kinds == ["/FreeText"]  # what draws something stays


def test_a_page_past_the_end_is_a_clear_error(long_pdf: bytes) -> None:
    with pytest.raises(InvalidRequestError, match="past the document's last page"):
        PdfPages(long_pdf).cut([39, 40])


def test_a_damaged_pdf_is_a_clear_error() -> None:
    with pytest.raises(InvalidRequestError, match="cannot be read") as raised:
        PdfPages(b"%PDF-1.7\n this is not a PDF at all")
    assert raised.value.status_code == 422


def test_an_encrypted_pdf_is_refused_clearly(long_pdf: bytes) -> None:
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(make_pdf(2))))
    writer.encrypt("secret-password", algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    with pytest.raises(InvalidRequestError, match="encrypted with a password"):
        PdfPages(buffer.getvalue())


def test_without_the_extra_the_error_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def no_pypdf(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "pypdf" or name.startswith("pypdf."):
            raise ImportError("No module named 'pypdf'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pypdf)
    assert not pdf_available()
    with pytest.raises(MissingExtraError, match=r"ocr-router\[pdf\]") as raised:
        PdfPages(b"%PDF-1.7")
    assert raised.value.extra == "pdf"
    assert raised.value.status_code == 501
