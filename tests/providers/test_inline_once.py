"""A remote document inlined for Azure or Vertex is downloaded once per request (not once per
attempt) and its data URI is built holding two copies of it at most.

Over real sockets: a loopback document server counting its downloads, Azure and Vertex fakes
that fail first, and a Router retrying across them. Memory is traced (tracemalloc counts every
bytes and str the download and the URI take).
"""

from __future__ import annotations

import base64
import tracemalloc
from collections.abc import AsyncIterator

import httpx
import pytest
from aiohttp import web
from hypothesis import given, settings
from hypothesis import strategies as st
from loopback_site import serving

from providers.base import ProviderSettings
from providers.download import inline_remote_document
from providers.fake import FakeProvider
from providers.samples import make_pdf
from router.errors import DocumentTooLargeError
from router.mime import Base64Builder, encode_data_uri
from router.router import Router
from router.types import DocumentURLChunk, OCRRequest
from tests.router.router_helpers import KEY, entry

PDF = b"%PDF-1.4\n" + bytes(range(256)) * 16_000  # 4 MB
REAL_PDF = make_pdf(2)  # the fakes count its pages


@pytest.fixture
async def document_server() -> AsyncIterator[tuple[str, list[str]]]:
    """A loopback server of PDF at /doc.pdf (REAL_PDF at /real.pdf); yields the URL of
    /doc.pdf and the list of paths it served."""
    served: list[str] = []

    async def document(request: web.Request) -> web.Response:
        served.append(request.path)
        body = REAL_PDF if request.path == "/real.pdf" else PDF
        return web.Response(body=body, content_type="application/pdf")

    app = web.Application()
    app.router.add_get("/doc.pdf", document)
    app.router.add_get("/real.pdf", document)
    async with serving(app) as base:
        yield f"{base}/doc.pdf", served


async def test_a_request_retried_across_deployments_downloads_its_document_once(
    document_server: tuple[str, list[str]], fake_server
) -> None:
    url, served = document_server
    url = url.replace("/doc.pdf", "/real.pdf")
    azure = FakeProvider("azure_ai", api_key=KEY, script=["503", "503"])
    vertex = FakeProvider("vertex_ai", api_key=KEY)
    guard = {"allow_private_document_urls": True}
    azure_url, vertex_url = await fake_server(azure), await fake_server(vertex)
    entries = [
        entry("a1", azure, group="ocr", api_base=azure_url, **guard),
        entry("a2", azure, group="ocr", api_base=azure_url, **guard),
        entry("v", vertex, group="ocr-vertex", api_base=vertex_url, **guard),
    ]
    async with Router(entries, fallbacks={"ocr": ["ocr-vertex"]}, num_retries=3) as router:
        response = await router.aocr("ocr", url)
    assert response.call_info is not None
    assert [a.provider for a in response.call_info.attempts] == ["azure_ai"] * 2 + ["vertex_ai"]
    assert served == ["/real.pdf"]  # three attempts, one download
    inlined = azure.requests[0].json["document"]["document_url"]
    assert inlined == "data:application/pdf;base64," + base64.b64encode(REAL_PDF).decode()
    assert vertex.requests[0].json["document"]["document_url"] == inlined


async def test_a_cached_download_still_obeys_each_deployments_cap(
    document_server: tuple[str, list[str]],
) -> None:
    url, served = document_server
    request = OCRRequest.build(url)
    roomy = ProviderSettings(model="m", allow_private_document_urls=True)
    tight = ProviderSettings(
        model="m", allow_private_document_urls=True, max_document_bytes=len(PDF) - 1
    )
    async with httpx.AsyncClient(trust_env=False) as client:
        first = await inline_remote_document(request, client, roomy)
        again = await inline_remote_document(request, client, roomy)
        assert again.document is first.document  # the same data URI, not downloaded again
        # A copy with other parameters shares the download, and keeps its own parameters.
        copy = request.model_copy(update={"pages": [0]})
        paged = await inline_remote_document(copy, client, roomy)
        assert paged.document is first.document and paged.pages == [0]
        # A copy naming another document shares the memo, and still downloads its own.
        real = OCRRequest.build(url.replace("/doc.pdf", "/real.pdf")).document
        other = await inline_remote_document(
            request.model_copy(update={"document": real}), client, roomy
        )
        assert other.document != first.document
        with pytest.raises(DocumentTooLargeError):
            await inline_remote_document(request, client, tight)
    assert served == ["/doc.pdf", "/real.pdf"]


async def test_inlining_holds_two_copies_of_the_document_at_most(
    document_server: tuple[str, list[str]],
) -> None:
    url, _ = document_server
    uri_size = len(encode_data_uri(PDF, "application/pdf"))
    settings_ = ProviderSettings(model="m", allow_private_document_urls=True)
    async with httpx.AsyncClient(trust_env=False) as client:
        await inline_remote_document(OCRRequest.build(url), client, settings_)  # warm
        tracemalloc.start()
        try:
            inlined = await inline_remote_document(OCRRequest.build(url), client, settings_)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert isinstance(inlined.document, DocumentURLChunk)
    assert len(inlined.document.document_url) == uri_size
    assert peak < 2.2 * uri_size  # the encoded pieces, then the URI they join into


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000), st.lists(st.integers(1, 700), max_size=8))
def test_a_document_fed_in_any_chunks_encodes_as_it_would_whole(
    content: bytes, cuts: list[int]
) -> None:
    builder = Base64Builder()
    at = 0
    for size in cuts:
        builder.feed(content[at : at + size])
        at += size
    builder.feed(content[at:])
    assert builder.size == len(content)
    assert builder.data_uri("application/pdf") == "data:application/pdf;base64," + (
        base64.b64encode(content).decode()
    )
    assert builder.sniffable() == (content if content.startswith(b"PK\x03\x04") else content[:4096])
