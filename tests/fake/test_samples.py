"""Sample documents made in code are real documents."""

from __future__ import annotations

import io
import struct
import zlib

import pypdf
import pytest

from providers.samples import make_pdf, make_png
from router.mime import sniff_mime


@pytest.mark.parametrize("pages", [1, 5])
def test_make_pdf_has_that_many_pages_with_text(pages: int) -> None:
    reader = pypdf.PdfReader(io.BytesIO(make_pdf(pages, title="Invoice")))
    assert len(reader.pages) == pages
    assert f"Page {pages} of {pages}" in reader.pages[-1].extract_text()
    assert "Invoice" in reader.pages[0].extract_text()


def test_make_pdf_refuses_zero_pages() -> None:
    with pytest.raises(ValueError, match="pages"):
        make_pdf(0)


def test_make_png_is_a_valid_png_of_that_size() -> None:
    png = make_png(5, 3)
    assert sniff_mime(png) == "image/png"
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (5, 3)
    # Chunks carry correct CRCs and the pixel data decompresses to one filter byte + RGB per row.
    position, chunks = 8, {}
    while position < len(png):
        (length,) = struct.unpack(">I", png[position : position + 4])
        kind, data = png[position + 4 : position + 8], png[position + 8 : position + 8 + length]
        (crc,) = struct.unpack(">I", png[position + 8 + length : position + 12 + length])
        assert crc == zlib.crc32(kind + data)
        chunks[kind] = data
        position += 12 + length
    assert len(zlib.decompress(chunks[b"IDAT"])) == 3 * (1 + 5 * 3)
