"""The fast data URI check accepts exactly what the old one did, with the same messages.

`router/mime.py` checks a data URI in a few C passes (alphabet by `bytes.translate`, padding by
arithmetic, only the first KBs decoded). The check it replaced (a control-character regex over
the whole URL, then a full strict `b64decode`) is kept here, verbatim, as the reference: both are
fuzzed against each other with hypothesis (bounded), over URIs built to sit on every edge
(padding, alphabet, header, magic numbers past and inside the sniffed window, zips).
"""

from __future__ import annotations

import base64
import binascii
import io
import re
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from router.mime import check_built_data_uri, check_data_uri, encode_data_uri, sniff_mime
from router.types import DocumentURLChunk, OCRRequest, _check_url

# ------------------------------------------------------------------ the reference (the old check)

_REFERENCE_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_REFERENCE_DATA_URI = re.compile(
    r"data:(?P<mime>[\w.+-]+/[\w.+-]+)(?:;[\w.+-]+=[\w.+-]+)*;base64,", re.ASCII
)


def _reference_parse_data_uri(uri: str) -> tuple[str, bytes]:
    match = _REFERENCE_DATA_URI.match(uri)
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
    jpeg = {"image/jpeg", "image/jpg", "image/pjpeg"}
    if sniffed is not None and sniffed != mime and not {mime, sniffed} <= jpeg:
        raise ValueError(f"the data URI claims {mime} but its content is {sniffed}")
    return mime, content


def _reference_check_url(url: str) -> str:
    if _REFERENCE_CONTROL.search(url):
        raise ValueError("the URL contains control characters")
    lowered = url[:8].lower()
    if not lowered.startswith(("https://", "http://", "data:")):
        raise ValueError("the URL must start with https://, http:// or data:")
    if lowered.startswith("data:"):
        _reference_parse_data_uri(url)
    elif len(url) > 8192:
        raise ValueError("the URL is longer than 8192 characters")
    return url


def _outcome(check: object, uri: str) -> str:
    try:
        check(uri)  # type: ignore[operator]
    except ValueError as error:
        return f"refused: {error}"
    return "accepted"


# ------------------------------------------------------------------ URIs on every edge


def _zip(folder: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(f"{folder}/document.xml", "x" * 5000)  # past the sniffed window
    return buffer.getvalue()


MAGIC = [
    b"%PDF-1.7\n",
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff\xe0",
    b"GIF89a",
    b"II*\x00",
    b"BM",
    b"\x00\x00\x00\x1cftypavif",
    b"RIFF\x00\x00\x00\x00WEBP",
    b"",
    _zip("word"),
    _zip("ppt"),
    _zip("other"),
    b"PK\x03\x04 not a zip",
]
MIMES = [
    "application/pdf",
    "image/png",
    "image/jpeg",
    "image/jpg",
    "IMAGE/PNG",
    "image/webp",
    "text/plain",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/zip",
    "bad mime",
    "a/b,c",
    "é/x",
    "a/b\n",
    "",
]
HEADERS = [
    *(f"data:{mime};base64," for mime in MIMES),
    "data:application/pdf;name=a.pdf;base64,",
    "data:application/pdf;name=a,b;base64,",
    "data:application/pdf,",
    "data:application/pdf;base64",
    "DATA:application/pdf;base64,",
    "data:;base64,",
    "data:application/pdf;charset=utf-8;base64,",
]
# Characters that break base64 one way or another, or are fine.
NOISE = ["=", "==", "\n", " ", "\x00", "\x7f", "-", "_", "é", "A", "+", "/", ",", '"', "\\", "\r"]


@st.composite
def data_uris(draw: st.DrawFn) -> str:
    header = draw(st.sampled_from(HEADERS))
    content = draw(st.sampled_from(MAGIC)) + draw(st.binary(max_size=40))
    if draw(st.booleans()):
        content += b"\x00" * draw(st.sampled_from([3070, 3072, 3073, 3075]))  # about 4096 chars
    payload = base64.b64encode(content).decode()
    for _ in range(draw(st.integers(0, 2))):
        edit = draw(st.sampled_from(["insert", "truncate", "append", "strip"]))
        at = draw(st.integers(0, len(payload)))
        noise = draw(st.sampled_from(NOISE))
        if edit == "insert":
            payload = payload[:at] + noise + payload[at:]
        elif edit == "truncate":
            payload = payload[:at]
        elif edit == "append":
            payload += noise
        else:
            payload = payload.rstrip("=")
    return header + payload


FUZZ = settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(data_uris())
def test_the_fast_check_accepts_and_refuses_exactly_as_the_reference(uri: str) -> None:
    assert _outcome(_check_url, uri) == _outcome(_reference_check_url, uri)
    expected = _outcome(_reference_parse_data_uri, uri)
    assert _outcome(check_data_uri, uri) == expected
    if expected == "accepted":
        assert check_data_uri(uri) == _reference_parse_data_uri(uri)[0]


@FUZZ
@given(st.sampled_from(MAGIC), st.binary(max_size=20), st.sampled_from(MIMES))
def test_a_built_uri_is_checked_from_its_bytes_as_the_reference_checks_the_uri(
    magic: bytes, tail: bytes, mime: str
) -> None:
    content = magic + tail
    uri = f"data:{mime};base64," + base64.b64encode(content).decode()
    assert encode_data_uri(content, mime) == uri
    # Refused ones go on to validation (router.types), which words the refusal as before.
    built = _outcome(lambda _: check_built_data_uri(content, mime), uri)
    assert (built == "accepted") is (_outcome(_reference_check_url, uri) == "accepted")


@pytest.mark.parametrize("position", [0, 5000, -3, -1])
@pytest.mark.parametrize("noise", ["*", "\n", "é", "="])
def test_a_bad_character_anywhere_in_a_long_payload_is_refused(position: int, noise: str) -> None:
    payload = base64.b64encode(b"%PDF-1.4\n" + bytes(range(256)) * 40).decode()
    uri = "data:application/pdf;base64," + payload[:position] + noise + payload[position:]
    assert _outcome(check_data_uri, uri) == _outcome(_reference_parse_data_uri, uri)
    assert _outcome(check_data_uri, uri).startswith("refused")


def test_a_zip_is_told_apart_by_its_directory_past_the_sniffed_window() -> None:
    word = base64.b64encode(_zip("word")).decode()
    docx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    assert check_data_uri(f"data:{docx};base64,{word}") == docx
    with pytest.raises(ValueError, match="claims application/zip"):
        check_data_uri(f"data:application/zip;base64,{word}")


def test_a_local_document_is_built_once_and_not_checked_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import router.types

    def refuse(uri: str) -> str:
        raise AssertionError("a URI the project built was checked again")

    monkeypatch.setattr(router.types, "check_data_uri", refuse)
    request = OCRRequest.build(b"%PDF-1.4\n" + b"x" * 100)
    assert isinstance(request.document, DocumentURLChunk)
    assert (
        request.document.document_url
        == "data:application/pdf;base64," + base64.b64encode(b"%PDF-1.4\n" + b"x" * 100).decode()
    )
