"""Count the pages of an inline PDF cheaply, so routing knows a 45-page document before sending.

Hosts differ by pages per request (Mistral 1,000, Azure and Vertex 30), so the router needs the
page count of a whole-document request before it picks a deployment. Decoding a 40 MB document's
base64 and parsing it into objects costs more than everything else routing does, so neither is
done. With pypdf installed (the extras `pdf`, `fake`, `all`), the PDF is read through a file
object that decodes only the base64 it is asked for: pypdf reads the cross-reference table at the
end and the two or three objects leading to the page tree's `/Count` (milliseconds whatever the
size, measured in `tests/core/test_pdf_pages.py`'s neighbourhood). Without pypdf, or when that
fails, the bytes are scanned for page objects (`/Type /Page`) a slice at a time.

A small PDF (up to 48 KB: most requests in a busy pool are a page or two) is read whole first,
because opening pypdf's reader costs more than the rest of a call (about 0.13 ms for one page,
20 times the scan): its page objects are counted and taken when they agree with the page tree's
`/Count` in a file written once (one `startxref`, so no page an update replaced still stands in
the bytes). Any doubt goes to pypdf.

A larger PDF with a classic cross-reference table written once (no `/Prev`, no `/XRefStm`, not
encrypted) is read the way pypdf would read it, without pypdf's reader: `startxref` at the end,
the table's entries for the catalog and the page tree's root (20 bytes each, by position), and
those two objects, each checked to sit where the table says. That decodes a few KB instead of
opening a reader (about 0.8 ms for a 1 MB scan, on every request). Anything else (an xref
stream, an update, an indirect `/Count`, an offset that does not hold its object) goes to pypdf.

The answer may be None ("unknown": pages compressed in object streams and no pypdf, or a damaged
file): routing then lets the host decide, and a host's page-limit refusal still moves the request
to a deployment that takes it. Counted once per request, never per attempt.
"""

from __future__ import annotations

import binascii
import io
import re
from typing import Any

MAX_COUNTED_PAGES = 1_000_000  # a /Count beyond this is damage, not a document
_PAGE_OBJECT = re.compile(rb"/Type\s*/Page(?![A-Za-z0-9_.#-])")  # a leaf, not `/Pages`
_SLICE_CHARS = 4 * 256 * 1024  # base64 characters decoded at once (1 MB of PDF); a multiple of 4
_OVERLAP = 32  # bytes kept from the previous slice, so a token cut by a slice edge still counts
_READ_BUFFER = 64 * 1024
_SMALL_PDF_CHARS = 4 * 16 * 1024  # base64 characters (48 KB of PDF) read whole before pypdf
_PAGE_TREE_COUNT = re.compile(rb"/Count\s+(\d{1,7})(?!\d)")
_TAIL_BYTES = 1024  # where the last `startxref` is looked for
_MAX_XREF_BYTES = 4 * 1024 * 1024  # a longer table (200,000 objects) is left to pypdf
_OBJECT_WINDOW = 4096  # bytes read at an object's offset: a catalog or page tree root fits
_STARTXREF = re.compile(rb"startxref\s+(\d{1,15})\s+%%EOF\s*$")
_SUBSECTION = re.compile(rb"[ \t\r\n]*(\d{1,10})[ \t]+(\d{1,10})[ \t]*(?:\r\n|\r|\n)")
_ENTRY = re.compile(rb"(\d{10}) (\d{5}) n(?: \r| \n|\r\n)")
_TRAILER = re.compile(rb"[ \t\r\n]*trailer\s*<<")
_REFERENCE = rb"\s+(\d{1,10})\s+(\d{1,5})\s+R"
_ROOT = re.compile(rb"/Root" + _REFERENCE)
_PAGES = re.compile(rb"/Pages" + _REFERENCE)
_DIRECT_COUNT = re.compile(rb"/Count\s+(\d{1,7})(?![\d.])(?!\s+\d+\s+R)")
_ANY_COUNT = re.compile(rb"/Count(?![A-Za-z0-9_.#-])")


def data_uri_pdf_page_count(uri: str) -> int | None:
    """Pages of a `data:application/pdf;base64,...` URI, or None when they cannot be told."""
    start = uri.find(",") + 1
    if start <= 0:
        return None
    if len(uri) - start <= _SMALL_PDF_CHARS:
        count = _small_pdf_count(uri, start)
        if count is not None:
            return count
    count = _xref_count(uri, start)
    if count is not None:
        return count
    count = _count_with_pypdf(uri, start)
    return count if count is not None else _scan(uri, start)


def _small_pdf_count(uri: str, start: int) -> int | None:
    """The pages of a small PDF when two readings agree: its page objects, and the largest
    `/Count` of its page tree (the root's), in a file with one `startxref` (never updated in
    place). None: let pypdf decide."""
    try:
        content = binascii.a2b_base64(uri[start:])
    except (binascii.Error, ValueError):
        return None
    if content.count(b"startxref") != 1:
        return None
    leaves = len(_PAGE_OBJECT.findall(content))
    counts = [int(count) for count in _PAGE_TREE_COUNT.findall(content)]
    return leaves if leaves and counts and max(counts) == leaves else None


class _Base64File(io.RawIOBase):
    """The decoded bytes of `text[start:]` (unbroken base64) as a seekable file: each read
    decodes only the 4-character groups it covers."""

    def __init__(self, text: str, start: int) -> None:
        super().__init__()
        self._text, self._start, self._position = text, start, 0
        payload = len(text) - start
        self._size = payload // 4 * 3 - (text.endswith("==") + text.endswith("="))

    def forget(self) -> None:
        """Drop the text: whatever still holds this file no longer holds the document."""
        self._text, self._size = "", 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = (0, self._position, self._size)[whence]
        self._position = max(0, base + offset)
        return self._position

    def readinto(self, buffer: Any) -> int:
        wanted = min(len(buffer), self._size - self._position)
        if wanted <= 0:
            return 0
        first = self._position // 3 * 4
        last = -(-(self._position + wanted) // 3) * 4
        decoded = binascii.a2b_base64(self._text[self._start + first : self._start + last])
        skip = self._position - first // 4 * 3
        chunk = decoded[skip : skip + wanted]
        buffer[: len(chunk)] = chunk
        self._position += len(chunk)
        return len(chunk)


def _xref_count(uri: str, start: int) -> int | None:
    """The page tree's `/Count` through a classic cross-reference table written once, or None
    (not such a file, or anything unexpected): pypdf decides then."""
    file = _Base64File(uri, start)
    try:
        return _xref_count_of(file)
    except (binascii.Error, ValueError):
        return None
    finally:
        file.forget()


def _read_at(file: _Base64File, offset: int, size: int) -> bytes:
    file.seek(offset)
    buffer = bytearray(size)
    return bytes(buffer[: file.readinto(buffer)])


def _xref_count_of(file: _Base64File) -> int | None:
    size = file.seek(0, io.SEEK_END)
    tail = _read_at(file, max(0, size - _TAIL_BYTES), _TAIL_BYTES)
    found = _STARTXREF.search(tail, max(0, tail.rfind(b"startxref")))
    if found is None:
        return None
    xref_at = int(found.group(1))
    if not 0 <= xref_at < size or size - xref_at > _MAX_XREF_BYTES:
        return None
    table = _read_at(file, xref_at, size - xref_at)
    if not table.startswith(b"xref"):
        return None  # an xref stream (PDF 1.5 object streams): pypdf reads those
    sections: list[tuple[int, int, int]] = []  # (first object, entries, where they start)
    position = 4
    while (subsection := _SUBSECTION.match(table, position)) is not None:
        first, entries = int(subsection.group(1)), int(subsection.group(2))
        sections.append((first, entries, subsection.end()))
        position = subsection.end() + 20 * entries
    trailer_start = _TRAILER.match(table, position)
    if trailer_start is None:
        return None
    trailer = table[trailer_start.end() : table.rfind(b"startxref")]
    if b"/Prev" in trailer or b"/XRefStm" in trailer or b"/Encrypt" in trailer:
        return None  # updated in place, hybrid, or encrypted: pypdf's reading, as before
    root = _single(_ROOT, trailer)
    catalog = root and _object(file, table, sections, root)
    pages = catalog and _single(_PAGES, catalog)
    tree = pages and _object(file, table, sections, pages)
    if not tree or len(_ANY_COUNT.findall(tree)) != 1:
        return None
    count = _DIRECT_COUNT.search(tree)
    if count is None:
        return None  # an indirect /Count
    pages_count = int(count.group(1))
    return pages_count if 0 < pages_count <= MAX_COUNTED_PAGES else None


def _single(pattern: re.Pattern[bytes], text: bytes) -> tuple[int, int] | None:
    """The one reference `pattern` finds in `text` (object, generation), or None."""
    matches = pattern.findall(text)
    if len(matches) != 1:
        return None
    number, generation = matches[0]
    return int(number), int(generation)


def _object(
    file: _Base64File,
    table: bytes,
    sections: list[tuple[int, int, int]],
    reference: tuple[int, int],
) -> bytes | None:
    """The text of object `reference` up to its `endobj`, when the table gives it one offset
    and that offset holds it; else None."""
    number, generation = reference
    entries = [
        table[start + 20 * (number - first) : start + 20 * (number - first + 1)]
        for first, count, start in sections
        if first <= number < first + count
    ]
    if len(entries) != 1:
        return None
    entry = _ENTRY.fullmatch(entries[0])
    if entry is None or int(entry.group(2)) != generation:
        return None
    window = _read_at(file, int(entry.group(1)), _OBJECT_WINDOW)
    header = re.match(rb"\s*%d\s+%d\s+obj(?![A-Za-z0-9_.#-])" % reference, window)
    end = window.find(b"endobj")
    if header is None or end < 0 or b"stream" in window[header.end() : end]:
        return None
    return window[header.end() : end]


def _count_with_pypdf(uri: str, start: int) -> int | None:
    try:
        import pypdf
    except ImportError:
        return None
    raw = _Base64File(uri, start)
    try:
        file = io.BufferedReader(raw, _READ_BUFFER)
        trailer: Any = pypdf.PdfReader(file, strict=False).trailer
        count = trailer["/Root"]["/Pages"]["/Count"]
        count = int(count.get_object() if hasattr(count, "get_object") else count)
    except Exception:  # pypdf raises many kinds for a damaged or unusual file
        return None
    finally:
        # pypdf's reader is a reference cycle, freed by a later garbage collection, not when
        # this returns: it must not keep the document (megabytes) alive until then.
        raw.forget()
    return count if 0 < count <= MAX_COUNTED_PAGES else None


def _scan(uri: str, start: int) -> int | None:
    """Page objects counted in the decoded bytes, a slice at a time (memory stays bounded)."""
    leaves = 0
    tail = b""
    try:
        for offset in range(start, len(uri), _SLICE_CHARS):
            chunk = tail + binascii.a2b_base64(uri[offset : offset + _SLICE_CHARS])
            # A match ending inside the kept tail was counted with the previous slice.
            leaves += sum(1 for match in _PAGE_OBJECT.finditer(chunk) if match.end() > len(tail))
            tail = chunk[-_OVERLAP:]
    except (binascii.Error, ValueError):
        return None
    return leaves or None


__all__ = ["MAX_COUNTED_PAGES", "data_uri_pdf_page_count"]
