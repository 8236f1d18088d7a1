"""Small sample documents made in code, for tests and demos.

Tests need real documents (a PDF whose page count a fake can read, a PNG a MIME sniffer accepts)
without shipping binary fixtures in the repository. PDFs need `pypdf` (the `fake` extra); PNGs
need only the standard library.
"""

from __future__ import annotations

import io
import random
import struct
import zlib
from typing import Any

MAX_SAMPLE_PAGES = 1000  # Mistral's per-document limit; a larger sample is surely a mistake


def _pypdf() -> Any:
    try:
        import pypdf
    except ImportError:  # pragma: no cover - depends on the installed extras
        raise ImportError("sample PDFs need pypdf: pip install 'ocr-router[fake]'") from None
    return pypdf


def make_pdf(
    pages: int,
    title: str = "Sample",
    *,
    image_bytes: int = 0,
    font_program: bytes | None = None,
) -> bytes:
    """A valid PDF with `pages` US-letter pages, each showing `title` and "Page N of M".

    `image_bytes` > 0 gives every page an image of its own of about that many bytes (content
    that does not compress, different on each page), so a long sample weighs what a scan does.
    `font_program` (a TrueType file) is embedded once and used by every page, as real documents
    share a font: a sub-PDF cut from this one must carry it along.
    """
    if not 1 <= pages <= MAX_SAMPLE_PAGES:
        raise ValueError(f"pages must be between 1 and {MAX_SAMPLE_PAGES}, got {pages}")
    if image_bytes < 0:
        raise ValueError("image_bytes must be >= 0")
    pypdf = _pypdf()
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = pypdf.PdfWriter()
    fonts = DictionaryObject({NameObject("/F1"): writer._add_object(_standard_font())})
    if font_program is not None:
        fonts[NameObject("/F2")] = writer._add_object(_embedded_font(writer, font_program))
    safe_title = title.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    for number in range(1, pages + 1):
        page = writer.add_blank_page(width=612, height=792)
        operators = [
            f"BT /F1 24 Tf 72 700 Td ({safe_title}) Tj ET",
            f"BT /F1 12 Tf 72 670 Td (Page {number} of {pages}) Tj ET",
        ]
        resources = DictionaryObject({NameObject("/Font"): fonts})
        if font_program is not None:
            operators.append(f"BT /F2 12 Tf 72 650 Td (Embedded font on page {number}) Tj ET")
        if image_bytes:
            image = _page_image(number, image_bytes)
            resources[NameObject("/XObject")] = DictionaryObject(
                {NameObject("/Im1"): writer._add_object(image)}
            )
            operators.append("q 468 0 0 351 72 250 cm /Im1 Do Q")
        content = DecodedStreamObject()
        content.set_data("\n".join(operators).encode("latin-1", "replace") + b"\n")
        page[NameObject("/Contents")] = writer._add_object(content)
        page[NameObject("/Resources")] = resources
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def _standard_font() -> Any:
    from pypdf.generic import DictionaryObject, NameObject

    return DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )


def _embedded_font(writer: Any, program: bytes) -> Any:
    """A simple TrueType font dictionary embedding `program` (FontFile2)."""
    from pypdf.generic import (
        ArrayObject,
        DecodedStreamObject,
        DictionaryObject,
        NameObject,
        NumberObject,
    )

    plain = DecodedStreamObject()
    plain.set_data(program)
    stream = plain.flate_encode()  # as real documents store their fonts
    stream[NameObject("/Length1")] = NumberObject(len(program))
    descriptor = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/FontDescriptor"),
            NameObject("/FontName"): NameObject("/SampleEmbedded"),
            NameObject("/Flags"): NumberObject(32),
            NameObject("/FontBBox"): ArrayObject(
                [NumberObject(v) for v in (-1021, -463, 1793, 1232)]
            ),
            NameObject("/ItalicAngle"): NumberObject(0),
            NameObject("/Ascent"): NumberObject(928),
            NameObject("/Descent"): NumberObject(-236),
            NameObject("/CapHeight"): NumberObject(729),
            NameObject("/StemV"): NumberObject(80),
            NameObject("/FontFile2"): writer._add_object(stream),
        }
    )
    return DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/TrueType"),
            NameObject("/BaseFont"): NameObject("/SampleEmbedded"),
            NameObject("/FirstChar"): NumberObject(32),
            NameObject("/LastChar"): NumberObject(126),
            NameObject("/Widths"): ArrayObject([NumberObject(600)] * 95),
            NameObject("/Encoding"): NameObject("/WinAnsiEncoding"),
            NameObject("/FontDescriptor"): writer._add_object(descriptor),
        }
    )


def _page_image(number: int, size: int) -> Any:
    """A grey image of about `size` bytes whose pixels differ from page to page."""
    from pypdf.generic import DecodedStreamObject, NameObject, NumberObject

    width = 256
    height = max(size // width, 1)
    image = DecodedStreamObject()
    image.set_data(random.Random(number).randbytes(width * height))
    image.update(
        {
            NameObject("/Type"): NameObject("/XObject"),
            NameObject("/Subtype"): NameObject("/Image"),
            NameObject("/Width"): NumberObject(width),
            NameObject("/Height"): NumberObject(height),
            NameObject("/ColorSpace"): NameObject("/DeviceGray"),
            NameObject("/BitsPerComponent"): NumberObject(8),
        }
    )
    return image


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def make_png(width: int = 8, height: int = 8) -> bytes:
    """A valid 8-bit RGB PNG of `width` x `height` pixels (a simple gradient)."""
    if not (1 <= width <= 4096 and 1 <= height <= 4096):
        raise ValueError("width and height must be between 1 and 4096 pixels")
    rows = b"".join(
        b"\x00"  # filter type "none" for each scanline
        + bytes(
            channel for x in range(width) for channel in (x * 255 // width, y * 255 // height, 128)
        )
        for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(rows))
        + _png_chunk(b"IEND", b"")
    )


__all__ = ["make_pdf", "make_png"]
