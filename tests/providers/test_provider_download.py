"""The remote-document download guard: a URL from an untrusted caller must not make the router
read its own network, however the address is spelt, resolved or redirected; and a document that
is too big or too slow must fail cleanly.

Non-loopback names are resolved by a stub and their bytes served by `httpx.MockTransport`, so
nothing here leaves the machine; the one real download is from an aiohttp server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import base64
import gzip
import tracemalloc
import zlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from aiohttp import web
from loopback_site import serving
from provider_helpers import (
    PDF_BYTES,
    PNG_BYTES,
    PUBLIC_IP,
    Recorder,
    mock_client,
    resolver_answering,
    resolver_that_must_not_be_called,
)

from providers.base import ProviderSettings
from providers.download import MAX_REDIRECTS, inline_remote_document, is_public_address
from router.errors import (
    BadRequestError,
    DocumentFetchError,
    DocumentTooLargeError,
    OCRRouterError,
    UnsafeDocumentURLError,
)
from router.types import DocumentURLChunk, ImageURL, ImageURLChunk, OCRRequest

PDF_URI = "data:application/pdf;base64," + base64.b64encode(PDF_BYTES).decode()


def settings(**values: Any) -> ProviderSettings:
    return ProviderSettings(model="mistral-ocr-2505", **values)


async def inline(
    document: Any,
    handler: Any = None,
    resolver: Any = None,
    **setting_values: Any,
) -> tuple[OCRRequest, Recorder]:
    recorder = Recorder(handler or (lambda request: httpx.Response(200, content=PDF_BYTES)))
    async with mock_client(recorder) as client:
        result = await inline_remote_document(
            OCRRequest.build(document),
            client,
            settings(**setting_values),
            resolver=resolver or resolver_answering(PUBLIC_IP),
        )
    return result, recorder


async def refusal(document: Any, **kwargs: Any) -> tuple[OCRRouterError, Recorder]:
    recorder = Recorder(
        kwargs.pop("handler", None) or (lambda r: httpx.Response(200, content=PDF_BYTES))
    )
    async with mock_client(recorder) as client:
        with pytest.raises(OCRRouterError) as caught:
            await inline_remote_document(
                OCRRequest.build(document),
                client,
                settings(**kwargs.pop("settings", {})),
                resolver=kwargs.pop("resolver", resolver_answering(PUBLIC_IP)),
            )
    return caught.value, recorder


# --- refused addresses --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/admin",
        "http://127.0.0.1:8080/a.pdf",
        "http://10.0.0.1/a.pdf",
        "http://192.168.1.10/a.pdf",
        "http://172.16.0.5/a.pdf",
        "http://169.254.169.254/latest/meta-data",
        "http://100.64.0.1/a.pdf",
        "http://0.0.0.0/a.pdf",
        "http://224.0.0.1/a.pdf",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:a9fe:a9fe]/latest/meta-data",
        "http://[fe80::1]/a.pdf",
        "http://[fd00::1]/a.pdf",
        "http://[64:ff9b::a00:1]/a.pdf",
        "http://[2002:7f00:1::]/a.pdf",
        "http://[fec0::1]/a.pdf",  # deprecated site-local, still routed inside some networks
        "https://127.0.0.1/a.pdf",
    ],
)
async def test_ip_literals_outside_the_public_internet_are_refused_before_any_request(
    url: str,
) -> None:
    error, recorder = await refusal(url, resolver=resolver_that_must_not_be_called)
    assert isinstance(error, UnsafeDocumentURLError)
    assert error.retryable is False
    assert recorder.requests == []


@pytest.mark.parametrize("private", ["10.1.2.3", "127.0.0.1", "169.254.169.254", "::1"])
async def test_a_public_looking_name_resolving_to_a_private_address_is_refused(
    private: str,
) -> None:
    error, recorder = await refusal(
        "https://docs.example.com/a.pdf", resolver=resolver_answering(private)
    )
    assert isinstance(error, UnsafeDocumentURLError)
    assert recorder.requests == []


async def test_metadata_hostname_is_refused_through_its_resolved_address() -> None:
    error, recorder = await refusal(
        "http://metadata.google.internal/computeMetadata/v1/",
        resolver=resolver_answering("169.254.169.254"),
    )
    assert isinstance(error, UnsafeDocumentURLError)
    assert recorder.requests == []


async def test_a_name_with_one_private_address_among_public_ones_is_refused() -> None:
    error, recorder = await refusal(
        "https://docs.example.com/a.pdf", resolver=resolver_answering(PUBLIC_IP, "10.0.0.7")
    )
    assert isinstance(error, UnsafeDocumentURLError)
    assert recorder.requests == []


def redirect_to(location: str) -> Any:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.host == PUBLIC_IP:
            return httpx.Response(302, headers={"Location": location})
        return httpx.Response(200, content=b"internal secrets")

    return answer


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.1/secret",
        "http://10.0.0.1/a.pdf",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/a.pdf",
    ],
)
async def test_a_redirect_to_a_private_address_is_refused(target: str) -> None:
    error, recorder = await refusal("https://docs.example.com/a.pdf", handler=redirect_to(target))
    assert isinstance(error, UnsafeDocumentURLError)
    assert [request.url.host for request in recorder.requests] == [PUBLIC_IP]


async def test_a_redirect_to_a_name_that_resolves_privately_is_refused() -> None:
    async def resolve(host: str) -> list[str]:
        return ["169.254.169.254"] if host == "metadata.google.internal" else [PUBLIC_IP]

    error, recorder = await refusal(
        "https://docs.example.com/a.pdf",
        handler=redirect_to("http://metadata.google.internal/computeMetadata/v1/"),
        resolver=resolve,
    )
    assert isinstance(error, UnsafeDocumentURLError)
    assert len(recorder.requests) == 1


async def test_a_redirect_to_another_scheme_is_refused() -> None:
    error, _ = await refusal(
        "https://docs.example.com/a.pdf", handler=redirect_to("file:///etc/passwd")
    )
    assert isinstance(error, UnsafeDocumentURLError)


async def test_redirects_are_followed_and_each_hop_is_checked() -> None:
    hops: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/start":
            return httpx.Response(301, headers={"Location": "https://cdn.example.net/a.pdf"})
        if request.url.path == "/a.pdf":
            return httpx.Response(307, headers={"Location": "/final.pdf"})
        return httpx.Response(200, content=PDF_BYTES)

    result, recorder = await inline(
        "http://docs.example.com/start",
        handler=answer,
        resolver=resolver_answering(PUBLIC_IP, calls=hops),
    )
    assert hops == ["docs.example.com", "cdn.example.net", "cdn.example.net"]
    assert [r.headers["host"] for r in recorder.requests] == [
        "docs.example.com",
        "cdn.example.net",
        "cdn.example.net",
    ]
    assert recorder.requests[-1].url.path == "/final.pdf"
    assert result.document == DocumentURLChunk(document_url=PDF_URI)


async def test_more_than_five_redirects_are_refused() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"Location": f"/hop{len(recorder_holder)}"})

    recorder_holder: list[int] = []
    error, recorder = await refusal("https://docs.example.com/a.pdf", handler=answer)
    assert isinstance(error, BadRequestError)
    assert "redirected more than 5" in str(error)
    assert len(recorder.requests) == MAX_REDIRECTS + 1


# --- size and time ------------------------------------------------------------------------------


class CountingStream(httpx.AsyncByteStream):
    """A body of `chunks` chunks of 1 KiB, optionally slow, that records how much was read."""

    def __init__(self, chunks: int, delay: float = 0.0) -> None:
        self.chunks, self.delay, self.sent = chunks, delay, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for index in range(self.chunks):
            if self.delay:
                await asyncio.sleep(self.delay)
            self.sent += 1
            yield (b"%PDF-1.4\n" + b"x" * 1015) if index == 0 else b"x" * 1024


async def test_an_oversized_body_without_content_length_is_cut_off_while_streaming() -> None:
    body = CountingStream(chunks=100)
    error, _ = await refusal(
        "https://docs.example.com/a.pdf",
        handler=lambda request: httpx.Response(200, stream=body),
        settings={"max_document_bytes": 10 * 1024},
    )
    assert isinstance(error, DocumentTooLargeError)
    assert body.sent == 11  # stopped at the first chunk over the cap, not at the end
    assert error.retryable is False


async def test_an_oversized_content_length_is_refused_before_reading_the_body() -> None:
    body = CountingStream(chunks=100)
    error, _ = await refusal(
        "https://docs.example.com/a.pdf",
        handler=lambda request: httpx.Response(
            200, stream=body, headers={"Content-Length": str(100 * 1024)}
        ),
        settings={"max_document_bytes": 10 * 1024},
    )
    assert isinstance(error, DocumentTooLargeError)
    assert body.sent == 0


async def test_a_body_of_exactly_the_cap_is_accepted() -> None:
    body = CountingStream(chunks=10)
    result, _ = await inline(
        "https://docs.example.com/a.pdf",
        handler=lambda request: httpx.Response(200, stream=body),
        max_document_bytes=10 * 1024,
    )
    assert isinstance(result.document, DocumentURLChunk)
    assert result.document.document_url.startswith("data:application/pdf;base64,")


class RawStream(httpx.AsyncByteStream):
    """A body delivered as a network would: in 64 KB chunks, still encoded (an `httpx.Response`
    built with `content=` is decoded in memory at once, which would hide how it is read)."""

    def __init__(self, content: bytes) -> None:
        self.content = content

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for start in range(0, len(self.content), 64 * 1024):
            yield self.content[start : start + 64 * 1024]


def encoded_answer(content: bytes, encoding: str) -> Any:
    return lambda request: httpx.Response(
        200, stream=RawStream(content), headers={"Content-Encoding": encoding}
    )


def raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


def gzip_of_zeros(size: int) -> bytes:
    """`size` zero bytes, gzip-compressed (about 1,000 to 1): a decompression bomb."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    megabyte = bytes(1024 * 1024)
    parts = [compressor.compress(megabyte) for _ in range(size // len(megabyte))]
    return b"".join([*parts, compressor.flush()])


async def test_a_gzip_bomb_is_cut_off_at_the_cap_without_inflating_the_rest() -> None:
    bomb = gzip_of_zeros(64 * 1024 * 1024)
    assert len(bomb) < 100 * 1024  # small on the wire, well under the cap as sent
    tracemalloc.start()
    try:
        error, _ = await refusal(
            "https://docs.example.com/a.pdf",
            handler=encoded_answer(bomb, "gzip"),
            settings={"max_document_bytes": 1024 * 1024},
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert isinstance(error, DocumentTooLargeError)
    # The cap holds for the decoded bytes: 64 MB of zeros are never materialised.
    assert peak < 16 * 1024 * 1024


@pytest.mark.parametrize(
    ("encoding", "encode"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),  # RFC 9110's deflate: zlib-wrapped
        ("deflate", raw_deflate),  # without the zlib wrapper, as some servers send it
        ("identity", lambda data: data),
    ],
)
async def test_an_encoded_document_is_decoded_before_inlining(encoding: str, encode: Any) -> None:
    result, recorder = await inline(
        "https://docs.example.com/a.pdf",
        handler=encoded_answer(encode(PDF_BYTES), encoding),
    )
    assert result.document == DocumentURLChunk(document_url=PDF_URI)
    # Only the codings the guard decodes under the cap are asked for (never br or zstd).
    assert recorder.requests[0].headers["accept-encoding"] == "gzip, deflate"


@pytest.mark.parametrize("encoding", ["gzip, gzip", "br", "zstd", "compress"])
async def test_a_content_encoding_the_guard_cannot_bound_is_refused(encoding: str) -> None:
    # Stacked codings multiply the ratio (1,000 x 1,000 per layer of gzip), so only one is taken.
    error, _ = await refusal(
        "https://docs.example.com/a.pdf",
        handler=encoded_answer(gzip.compress(gzip.compress(PDF_BYTES)), encoding),
    )
    assert isinstance(error, BadRequestError)
    assert "Content-Encoding" in error.message


async def test_a_corrupt_compressed_body_is_a_clear_error() -> None:
    error, _ = await refusal(
        "https://docs.example.com/a.pdf",
        handler=encoded_answer(b"not gzip at all", "gzip"),
    )
    assert isinstance(error, BadRequestError)
    assert "gzip" in error.message


async def test_a_slow_body_fails_after_the_fetch_timeout_as_retryable() -> None:
    body = CountingStream(chunks=1000, delay=0.05)
    error, _ = await refusal(
        "https://docs.example.com/a.pdf",
        handler=lambda request: httpx.Response(200, stream=body),
        settings={"document_fetch_timeout": 0.2},
    )
    assert isinstance(error, DocumentFetchError)
    assert error.retryable is True
    assert body.sent < 1000


# --- upstream answers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error_class", "retryable"),
    [
        (404, BadRequestError, False),
        (403, BadRequestError, False),
        (410, BadRequestError, False),
        (408, DocumentFetchError, True),
        (429, DocumentFetchError, True),
        (500, DocumentFetchError, True),
        (503, DocumentFetchError, True),
    ],
)
async def test_upstream_status_decides_whether_the_download_is_worth_retrying(
    status: int, error_class: type[OCRRouterError], retryable: bool
) -> None:
    error, _ = await refusal(
        "https://docs.example.com/a.pdf", handler=lambda request: httpx.Response(status)
    )
    assert type(error) is error_class
    assert error.retryable is retryable
    assert str(status) in str(error)


async def test_a_connection_failure_is_a_retryable_fetch_error() -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    error, _ = await refusal("https://docs.example.com/a.pdf", handler=fail)
    assert isinstance(error, DocumentFetchError) and error.retryable is True


async def test_messages_hide_the_query_string_and_user_info_of_signed_urls() -> None:
    url = "https://user:hunter2@docs.example.com/a.pdf?X-Amz-Signature=SIGNED-SECRET"
    error, _ = await refusal(url, handler=lambda request: httpx.Response(404))
    assert "docs.example.com/a.pdf" in str(error)
    for secret in ("SIGNED-SECRET", "hunter2", "user:"):
        assert secret not in str(error) and secret not in repr(error)


async def test_unknown_content_without_a_content_type_is_refused() -> None:
    error, _ = await refusal(
        "https://docs.example.com/a.bin",
        handler=lambda request: httpx.Response(200, content=b"\x00\x01 unknown bytes"),
    )
    assert isinstance(error, BadRequestError)
    assert "cannot tell the type" in str(error)


# --- what a successful download becomes ---------------------------------------------------------


async def test_a_data_uri_passes_unchanged_without_any_request() -> None:
    request = OCRRequest.build(PDF_URI)
    recorder = Recorder()
    async with mock_client(recorder) as client:
        result = await inline_remote_document(
            request, client, settings(), resolver=resolver_that_must_not_be_called
        )
    assert result is request
    assert recorder.requests == []


async def test_document_url_becomes_a_pdf_data_uri_keeping_its_name() -> None:
    result, _ = await inline(
        {"document_url": "https://docs.example.com/a", "document_name": "report"}
    )
    assert result.document == DocumentURLChunk(document_url=PDF_URI, document_name="report")


async def test_image_url_stays_an_image_url_in_the_same_shape() -> None:
    png = lambda request: httpx.Response(200, content=PNG_BYTES)  # noqa: E731
    png_uri = "data:image/png;base64," + base64.b64encode(PNG_BYTES).decode()
    as_string, _ = await inline({"image_url": "https://img.example.com/p"}, handler=png)
    assert as_string.document == ImageURLChunk(image_url=png_uri)
    as_object, _ = await inline(
        {"image_url": {"url": "https://img.example.com/p", "detail": "high"}}, handler=png
    )
    assert as_object.document == ImageURLChunk(image_url=ImageURL(url=png_uri, detail="high"))


async def test_content_type_is_used_when_the_content_cannot_be_sniffed() -> None:
    result, _ = await inline(
        {"image_url": "https://img.example.com/p.svg"},
        handler=lambda request: httpx.Response(
            200,
            content=b"<svg xmlns='http://www.w3.org/2000/svg'/>",
            headers={"Content-Type": "image/svg+xml; charset=utf-8"},
        ),
    )
    assert isinstance(result.document, ImageURLChunk)
    assert result.document.url.startswith("data:image/svg+xml;base64,")


async def test_sniffed_type_wins_over_a_wrong_content_type() -> None:
    result, _ = await inline(
        "https://docs.example.com/a.pdf",
        handler=lambda request: httpx.Response(
            200, content=PDF_BYTES, headers={"Content-Type": "application/octet-stream"}
        ),
    )
    assert result.document == DocumentURLChunk(document_url=PDF_URI)


async def test_the_other_fields_of_the_request_are_kept() -> None:
    recorder = Recorder(lambda request: httpx.Response(200, content=PDF_BYTES))
    async with mock_client(recorder) as client:
        request = OCRRequest.build("https://docs.example.com/a.pdf", pages=[1], table_format="html")
        result = await inline_remote_document(
            request, client, settings(), resolver=resolver_answering(PUBLIC_IP)
        )
    assert result.pages == [1] and result.table_format == "html"


@pytest.mark.parametrize(
    ("url", "host_header", "sni"),
    [
        ("https://docs.example.com/a.pdf", "docs.example.com", "docs.example.com"),
        ("https://docs.example.com:8443/a.pdf", "docs.example.com:8443", "docs.example.com"),
        ("http://docs.example.com/a.pdf", "docs.example.com", None),
    ],
)
async def test_the_download_connects_to_the_checked_ip_with_the_original_host(
    url: str, host_header: str, sni: str | None
) -> None:
    _, recorder = await inline(url)
    (download,) = recorder.requests
    assert download.url.host == PUBLIC_IP
    assert download.headers["host"] == host_header
    assert download.extensions.get("sni_hostname") == sni
    assert download.url.path == "/a.pdf"


async def test_a_public_ipv6_address_is_pinned_in_brackets() -> None:
    _, recorder = await inline(
        "https://docs.example.com/a.pdf", resolver=resolver_answering("2606:2800:220:1::1")
    )
    assert recorder.requests[0].url.host == "2606:2800:220:1::1"
    assert recorder.requests[0].headers["host"] == "docs.example.com"


# --- a real loopback server, allowed on purpose ------------------------------------------------


@pytest.fixture
async def loopback_document_server() -> AsyncIterator[str]:
    async def document(request: web.Request) -> web.Response:
        return web.Response(body=PDF_BYTES, content_type="application/pdf")

    async def moved(request: web.Request) -> web.Response:
        raise web.HTTPFound("/doc.pdf")

    app = web.Application()
    app.router.add_get("/doc.pdf", document)
    app.router.add_get("/moved", moved)
    async with serving(app) as base:
        yield base


async def test_a_loopback_server_is_downloaded_over_a_real_socket_when_allowed(
    loopback_document_server: str,
) -> None:
    async with httpx.AsyncClient(trust_env=False) as client:
        result = await inline_remote_document(
            OCRRequest.build(f"{loopback_document_server}/moved"),
            client,
            settings(allow_private_document_urls=True),
        )
    assert result.document == DocumentURLChunk(document_url=PDF_URI)


async def test_the_same_loopback_server_is_refused_by_default(
    loopback_document_server: str,
) -> None:
    async with httpx.AsyncClient(trust_env=False) as client:
        with pytest.raises(UnsafeDocumentURLError):
            await inline_remote_document(
                OCRRequest.build(f"{loopback_document_server}/doc.pdf"), client, settings()
            )


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.216.34", True),
        ("2606:4700::1111", True),
        ("::ffff:93.184.216.34", True),
        ("::ffff:10.0.0.1", False),
        ("64:ff9b::7f00:1", False),
        ("fe80::1%eth0", False),
        ("255.255.255.255", False),
        ("198.18.0.1", False),
    ],
)
def test_public_address_classification(address: str, public: bool) -> None:
    assert is_public_address(address) is public


async def test_provider_credentials_on_the_shared_client_never_reach_the_document_host() -> None:
    recorder = Recorder(lambda request: httpx.Response(200, content=PDF_BYTES))
    client = httpx.AsyncClient(
        transport=httpx.MockTransport(recorder),
        headers={"Authorization": "Bearer provider-key", "api-key": "provider-key"},
        auth=("router", "password"),
    )
    async with client:
        await inline_remote_document(
            OCRRequest.build("https://docs.example.com/a.pdf"),
            client,
            settings(),
            resolver=resolver_answering(PUBLIC_IP),
        )
    (download,) = recorder.requests
    assert "authorization" not in download.headers
    assert "api-key" not in download.headers


async def test_an_international_name_is_resolved_and_sent_in_its_ascii_form() -> None:
    asked: list[str] = []
    _, recorder = await inline(
        "https://bücher.example/a.pdf", resolver=resolver_answering(PUBLIC_IP, calls=asked)
    )
    assert asked == ["xn--bcher-kva.example"]
    assert recorder.requests[0].headers["host"] == "xn--bcher-kva.example"
    assert recorder.requests[0].extensions["sni_hostname"] == "xn--bcher-kva.example"
