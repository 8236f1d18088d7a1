"""Tell a document's MIME type from its first bytes, and build and check data URIs.

A dozen magic numbers cover every format Mistral OCR accepts, so this stays a short table
rather than a dependency; the extension of a file name is never trusted, content is.

Documents are megabytes, so the data URI path does a few C-level passes over the bytes and no
Python-level ones: `check_data_uri` accepts exactly what decoding the whole payload
(`parse_data_uri`) accepts, but checks the base64 alphabet with `bytes.translate` and decodes only
the first KBs to sniff the type (a zip, whose type lies in its directory at the end, is decoded
whole); `to_data_uri` encodes in one buffer.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
import zipfile

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"

# (offset, signature, mime); order matters only where one signature is a prefix of another.
_SIGNATURES: tuple[tuple[int, bytes, str], ...] = (
    (0, b"%PDF-", PDF),
    (0, b"\x89PNG\r\n\x1a\n", "image/png"),
    (0, b"\xff\xd8\xff", "image/jpeg"),
    (0, b"GIF87a", "image/gif"),
    (0, b"GIF89a", "image/gif"),
    (0, b"II*\x00", "image/tiff"),
    (0, b"MM\x00*", "image/tiff"),
    (0, b"BM", "image/bmp"),
    (4, b"ftypavif", "image/avif"),
    (4, b"ftypheic", "image/heic"),
)

_DATA_URI = re.compile(r"data:(?P<mime>[\w.+-]+/[\w.+-]+)(?:;[\w.+-]+=[\w.+-]+)*;base64,", re.ASCII)
_BASE64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
# Characters checked (or encoded) per step: bounds the transient copy of a megabytes-long URI.
_CHUNK_CHARACTERS = 1 << 16
_CHUNK_BYTES = 3 * (1 << 14)  # a multiple of 3: each chunk encodes without padding
# Base64 characters decoded to sniff a type: 3 KB, well past the deepest magic number (12 bytes).
_SNIFF_CHARACTERS = 4096
_ZIP = b"PK\x03\x04"

INVALID_HEADER = "a data URI must look like data:<mime>;base64,<payload>"
INVALID_BASE64 = "the data URI's payload is not valid base64"
EMPTY_DOCUMENT = "the data URI holds an empty document"


class UnknownDocumentTypeError(ValueError):
    """The bytes match no known document or image format."""


def sniff_mime(content: bytes) -> str | None:
    """Return the MIME type the content's magic number shows, or None when unknown."""
    for offset, signature, mime in _SIGNATURES:
        if content[offset : offset + len(signature)] == signature:
            return mime
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    if content[:4] == b"PK\x03\x04":
        return _office_mime(content)
    return None


def _office_mime(content: bytes) -> str | None:
    # DOCX and PPTX are both zip files; the folder names inside tell them apart.
    try:
        names = zipfile.ZipFile(io.BytesIO(content)).namelist()
    except (zipfile.BadZipFile, ValueError):
        return None
    if any(name.startswith("word/") for name in names):
        return DOCX
    if any(name.startswith("ppt/") for name in names):
        return PPTX
    return None


def is_image(mime: str) -> bool:
    return mime.startswith("image/")


def to_data_uri(content: bytes | bytearray | memoryview, mime: str | None = None) -> str:
    """Encode bytes as a base64 data URI, sniffing the MIME type when none is given."""
    return encode_data_uri(content, resolve_mime(content, mime))


def resolve_mime(content: bytes | bytearray | memoryview, mime: str | None = None) -> str:
    """`mime`, or the type sniffed from the content; `UnknownDocumentTypeError` when neither."""
    if not content:
        raise UnknownDocumentTypeError("the document is empty")
    resolved = mime or _sniff(content)
    if resolved is None:
        raise UnknownDocumentTypeError(
            "cannot tell the document type from its content "
            "(PDF, PNG, JPEG, GIF, TIFF, WebP, BMP, AVIF, HEIC, DOCX, PPTX are known); "
            "pass mime_type= to say what it is"
        )
    return resolved


def encode_data_uri(content: bytes | bytearray | memoryview, mime: str) -> str:
    """`data:<mime>;base64,<content>` built as bytes in one buffer of its final size, then made
    a str once (an f-string of `b64encode(...).decode()` held three copies of the URI)."""
    head = f"data:{mime};base64,".encode("utf-8", "surrogatepass")  # refused later if not ASCII
    size = len(content)
    buffer = bytearray(len(head) + 4 * ((size + 2) // 3))
    buffer[: len(head)] = head
    view, at = memoryview(content), len(head)
    for start in range(0, size, _CHUNK_BYTES):
        encoded = binascii.b2a_base64(view[start : start + _CHUNK_BYTES], newline=False)
        buffer[at : at + len(encoded)] = encoded
        at += len(encoded)
    return buffer.decode("utf-8", "surrogatepass")  # ASCII (all but a bad mime): a copy


class Base64Builder:
    """Content fed a chunk at a time (a download as it arrives) and encoded as it comes, so that
    its data URI is made holding two copies at most: the encoded pieces, then the URI they join
    into. The raw bytes are never kept whole, but for the first KBs (the type is told from them)
    and for a zip (whose type is in its directory, at the end)."""

    def __init__(self) -> None:
        self.size = 0
        self.head = b""  # the first _SNIFF_CHARACTERS bytes
        self._pieces: list[str] = []
        self._carry = b""  # at most 2 bytes: base64 encodes 3 at a time
        self._raw: list[bytes] | None = []  # kept while it may be a zip

    def feed(self, chunk: bytes) -> None:
        if not chunk:
            return
        self.size += len(chunk)
        if len(self.head) < _SNIFF_CHARACTERS:
            self.head += chunk[: _SNIFF_CHARACTERS - len(self.head)]
        if self._raw is not None:
            self._raw.append(chunk)
            if len(self.head) >= len(_ZIP) and not self.head.startswith(_ZIP):
                self._raw = None
        data = memoryview(self._carry + chunk if self._carry else chunk)
        whole = len(data) - len(data) % 3
        self._pieces.append(binascii.b2a_base64(data[:whole], newline=False).decode("ascii"))
        self._carry = bytes(data[whole:])

    def sniffable(self) -> bytes:
        """What `sniff_mime` needs to tell the type: the head, or a zip whole."""
        return b"".join(self._raw) if self._raw is not None else self.head

    def data_uri(self, mime: str) -> str:
        """The data URI of everything fed (once: the pieces are given up to it)."""
        pieces, self._pieces = self._pieces, []
        pieces.append(binascii.b2a_base64(self._carry, newline=False).decode("ascii"))
        pieces.insert(0, f"data:{mime};base64,")
        return "".join(pieces)


def check_built_data_uri(content: bytes | bytearray | memoryview, mime: str) -> None:
    """What `check_data_uri` would refuse in `encode_data_uri(content, mime)`, told from the
    bytes themselves: a URI the project builds is never checked again over its megabytes."""
    header = f"data:{mime};base64,"
    match = _DATA_URI.fullmatch(header) if header.index(",") == len(header) - 1 else None
    if match is None:
        raise ValueError(INVALID_HEADER)
    if not content:
        raise ValueError(EMPTY_DOCUMENT)
    _check_claim(match.group("mime").lower(), _sniff(content))


def check_data_uri(uri: str) -> str:
    """The MIME type of a base64 data URI, raising `ValueError` for exactly the URIs (and with
    the messages) `parse_data_uri` refuses, without decoding the payload: the header is matched
    up to the first comma (where the header regex must stop), the payload's characters are
    checked against the base64 alphabet in C (`bytes.translate`), the padding by arithmetic,
    and only its first KBs are decoded for the type (a zip whole: its type is in its directory).
    """
    comma = uri.find(",")
    match = _DATA_URI.fullmatch(uri, 0, comma + 1) if comma >= 0 else None
    if match is None:
        raise ValueError(INVALID_HEADER)
    start = comma + 1
    if not _is_strict_base64(uri, start):
        raise ValueError(INVALID_BASE64)
    if start == len(uri):
        raise ValueError(EMPTY_DOCUMENT)
    mime = match.group("mime").lower()
    head = base64.b64decode(uri[start : start + _SNIFF_CHARACTERS])
    if head.startswith(_ZIP) and len(uri) - start > _SNIFF_CHARACTERS:
        head = base64.b64decode(uri[start:])  # rare: DOCX and PPTX tell apart in the directory
    _check_claim(mime, sniff_mime(head))
    return mime


def _is_strict_base64(uri: str, start: int) -> bool:
    """Whether `uri[start:]` decodes under `b64decode(validate=True)` (binascii's strict mode).

    Strict mode refuses any character outside the alphabet and any '=' that something other
    than '=' follows, so everything before the final run of '=' must be alphabet (checked in C,
    a chunk at a time). What the final run may be (how much padding, after how many data
    characters) varies between Python versions, so binascii itself judges it, on a few last data
    characters and the run: the same count of data characters modulo 4, the same answer.
    """
    last = uri[-64:]
    padding = len(last) - len(last.rstrip("="))
    if padding == len(last):  # a long run of '=': rare, and worth one copy to measure
        padding = len(uri) - len(uri.rstrip("="))
    data_end = max(len(uri) - padding, start)
    if not uri.isascii():  # O(1): CPython keeps whether a str is ASCII
        return False
    for chunk_start in range(start, data_end, _CHUNK_CHARACTERS):
        chunk = uri[chunk_start : min(chunk_start + _CHUNK_CHARACTERS, data_end)]
        if chunk.encode("ascii").translate(None, _BASE64_ALPHABET):
            return False
    count = data_end - start
    tail_start = data_end - (count % 4 + 4) if count >= 8 else start
    try:
        binascii.a2b_base64(uri[tail_start:].encode("ascii"), strict_mode=True)
    except binascii.Error:
        return False
    return True


def _sniff(content: bytes | bytearray | memoryview) -> str | None:
    head = bytes(content[:_SNIFF_CHARACTERS])
    return sniff_mime(bytes(content) if head.startswith(_ZIP) else head)


def _check_claim(mime: str, sniffed: str | None) -> None:
    if sniffed is not None and sniffed != mime and not _compatible(mime, sniffed):
        raise ValueError(f"the data URI claims {mime} but its content is {sniffed}")


def parse_data_uri(uri: str) -> tuple[str, bytes]:
    """Split a base64 data URI into (mime, content), checking that the payload is valid base64
    and, for formats this module knows, that the content really is the MIME type it claims."""
    mime = check_data_uri(uri)
    return mime, base64.b64decode(uri[uri.index(",") + 1 :])


def _compatible(claimed: str, sniffed: str) -> bool:
    # image/jpg is a common misspelling that every provider accepts.
    return {claimed, sniffed} <= {"image/jpeg", "image/jpg", "image/pjpeg"}
