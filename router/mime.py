"""Tell a document's MIME type from its first bytes, and build data URIs.

A dozen magic numbers cover every format Mistral OCR accepts, so this stays a short table
rather than a dependency; the extension of a file name is never trusted, content is.
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


def to_data_uri(content: bytes, mime: str | None = None) -> str:
    """Encode bytes as a base64 data URI, sniffing the MIME type when none is given."""
    if not content:
        raise UnknownDocumentTypeError("the document is empty")
    resolved = mime or sniff_mime(content)
    if resolved is None:
        raise UnknownDocumentTypeError(
            "cannot tell the document type from its content "
            "(PDF, PNG, JPEG, GIF, TIFF, WebP, BMP, AVIF, HEIC, DOCX, PPTX are known); "
            "pass mime_type= to say what it is"
        )
    return f"data:{resolved};base64,{base64.b64encode(content).decode('ascii')}"


def parse_data_uri(uri: str) -> tuple[str, bytes]:
    """Split a base64 data URI into (mime, content), checking that the payload is valid base64
    and, for formats this module knows, that the content really is the MIME type it claims."""
    match = _DATA_URI.match(uri)
    if match is None:
        raise ValueError("a data URI must look like data:<mime>;base64,<payload>")
    mime = match.group("mime").lower()
    payload = uri[match.end() :]
    try:
        content = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the data URI's payload is not valid base64") from None
    if not content:
        raise ValueError("the data URI holds an empty document")
    sniffed = sniff_mime(content)
    if sniffed is not None and sniffed != mime and not _compatible(mime, sniffed):
        raise ValueError(f"the data URI claims {mime} but its content is {sniffed}")
    return mime, content


def _compatible(claimed: str, sniffed: str) -> bool:
    # image/jpg is a common misspelling that every provider accepts.
    return {claimed, sniffed} <= {"image/jpeg", "image/jpg", "image/pjpeg"}
