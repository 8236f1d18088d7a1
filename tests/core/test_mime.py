import base64
import io
import zipfile

import pytest

from router.mime import (
    DOCX,
    PDF,
    PPTX,
    UnknownDocumentTypeError,
    parse_data_uri,
    sniff_mime,
    to_data_uri,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


def _zip_with(name: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, "x")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"%PDF-1.7\n", PDF),
        (PNG, "image/png"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
        (b"GIF89a....", "image/gif"),
        (b"II*\x00\x08\x00", "image/tiff"),
        (b"MM\x00*\x00\x08", "image/tiff"),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"\x00\x00\x00\x18ftypavif", "image/avif"),
        (_zip_with("word/document.xml"), DOCX),
        (_zip_with("ppt/presentation.xml"), PPTX),
        (b"hello world", None),
        (_zip_with("other.txt"), None),
    ],
)
def test_sniff_mime_reads_the_magic_number(content: bytes, expected: str | None) -> None:
    assert sniff_mime(content) == expected


def test_to_data_uri_sniffs_and_encodes() -> None:
    uri = to_data_uri(PNG)
    assert uri.startswith("data:image/png;base64,")
    assert base64.b64decode(uri.split(",", 1)[1]) == PNG


def test_to_data_uri_trusts_an_explicit_mime_type() -> None:
    assert to_data_uri(b"plain", "text/plain").startswith("data:text/plain;base64,")


def test_to_data_uri_refuses_unknown_and_empty_content() -> None:
    with pytest.raises(UnknownDocumentTypeError, match="mime_type"):
        to_data_uri(b"no magic here")
    with pytest.raises(UnknownDocumentTypeError, match="empty"):
        to_data_uri(b"")


def test_parse_data_uri_round_trips() -> None:
    assert parse_data_uri(to_data_uri(b"%PDF-1.4 x")) == (PDF, b"%PDF-1.4 x")


@pytest.mark.parametrize(
    ("uri", "problem"),
    [
        ("data:application/pdf,%PDF", "look like"),
        ("data:application/pdf;base64,***", "not valid base64"),
        ("data:application/pdf;base64,", "empty"),
        ("data:image/png;base64," + base64.b64encode(b"%PDF-1.4").decode(), "claims image/png"),
    ],
)
def test_parse_data_uri_rejects_malformed_or_lying_uris(uri: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_data_uri(uri)


def test_jpg_alias_is_accepted_for_jpeg_content() -> None:
    jpeg = b"\xff\xd8\xff\xe0\x00\x10JFIF"
    uri = "data:image/jpg;base64," + base64.b64encode(jpeg).decode()
    assert parse_data_uri(uri)[1] == jpeg
