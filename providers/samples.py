"""Small sample documents made in code, for tests and demos.

Tests need real documents (a PDF whose page count a fake can read, a PNG a MIME sniffer accepts)
without shipping binary fixtures in the repository. PDFs need `pypdf` (the `fake` extra); PNGs
need only the standard library.
"""

from __future__ import annotations

import io
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


def make_pdf(pages: int, title: str = "Sample") -> bytes:
    """A valid PDF with `pages` US-letter pages, each showing `title` and its page number."""
    if not 1 <= pages <= MAX_SAMPLE_PAGES:
        raise ValueError(f"pages must be between 1 and {MAX_SAMPLE_PAGES}, got {pages}")
    pypdf = _pypdf()
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = pypdf.PdfWriter()
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    font_reference = writer._add_object(font)
    safe_title = title.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    for number in range(1, pages + 1):
        page = writer.add_blank_page(width=612, height=792)
        content = DecodedStreamObject()
        content.set_data(
            f"BT /F1 24 Tf 72 700 Td ({safe_title}) Tj ET\n"
            f"BT /F1 12 Tf 72 670 Td (Page {number} of {pages}) Tj ET\n".encode(
                "latin-1", "replace"
            )
        )
        page[NameObject("/Contents")] = writer._add_object(content)
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font_reference})}
        )
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


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
