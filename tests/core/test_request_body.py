"""The outgoing body (router/request_body.py): a large document spliced in, never escaped again,
sent without one more joined copy, and exactly the JSON `json.dumps` would have made.

Over loopback for every transport: the server must see one Content-Length body (not chunked)
equal to the dumped request, and a peer that stops reading must still end in a write timeout.
"""

from __future__ import annotations

import asyncio
import base64
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from providers import create_provider
from router.request_body import SPLICE_FROM_CHARACTERS, SplicedBody, encode_body
from router.transport import READ_WHOLE_BODY, fast_transport
from router.types import OCRRequest, document_url_of

PDF = b"%PDF-1.4\n" + bytes(range(256)) * 2000  # 512 KB: past the splicing threshold
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 2000
TRANSPORTS = ("httpx", "fast", "fast-whole")


def _joined(body: bytes | SplicedBody) -> bytes:
    return body if isinstance(body, bytes) else b"".join(body)


def _dumped(request: OCRRequest, model: str = "m") -> bytes:
    return json.dumps(request.to_wire(model), separators=(",", ":")).encode()


@pytest.mark.parametrize(
    "document",
    [
        PDF,
        PNG,
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,", "detail": "high"}},
        {"document_url": "data:application/pdf;base64,", "document_name": 'a "quoted" name'},
    ],
)
def test_a_large_document_is_spliced_into_exactly_the_dumped_json(document: Any) -> None:
    if isinstance(document, dict):  # fill the URL in: large
        holder = document.get("image_url", document)
        key = "url" if "url" in holder else "document_url"
        content = PNG if "image" in holder[key] else PDF
        holder[key] += base64.b64encode(content).decode()
    request = OCRRequest.build(document, pages=[0], include_image_base64=True)
    body = encode_body(request.to_wire("m"), document_url_of(request.document))
    assert isinstance(body, SplicedBody)
    assert _joined(body) == _dumped(request)
    assert body.length == len(_dumped(request))
    assert body.document is document_url_of(request.document)  # the URI itself, not a copy


def test_a_small_document_is_dumped_whole() -> None:
    request = OCRRequest.build(b"%PDF-1.4\n small")
    body = encode_body(request.to_wire("m"), document_url_of(request.document))
    assert isinstance(body, bytes) and body == _dumped(request)
    assert len(document_url_of(request.document) or "") < SPLICE_FROM_CHARACTERS


def test_extra_body_replacing_the_document_is_sent_as_given() -> None:
    other = {"type": "document_url", "document_url": "https://example.com/other.pdf"}
    request = OCRRequest.build(PDF, extra_body={"document": other})
    body = encode_body(request.to_wire("m"), document_url_of(request.document))
    assert isinstance(body, bytes)
    assert json.loads(body)["document"] == other


def test_a_field_holding_the_placeholder_falls_back_to_plain_json() -> None:
    from router import request_body

    request = OCRRequest.build(PDF, extra_body={"note": request_body._PLACEHOLDER})
    body = encode_body(request.to_wire("m"), document_url_of(request.document))
    assert isinstance(body, bytes) and body == _dumped(request)


def test_an_unvalidated_url_needing_escapes_is_dumped_whole() -> None:
    from router.types import DocumentURLChunk

    url = "data:application/pdf;base64," + 'A"\\' * SPLICE_FROM_CHARACTERS
    document = DocumentURLChunk.model_construct(document_url=url)
    request = OCRRequest.model_construct(document=document)
    body = encode_body(request.to_wire("m"), url)
    assert isinstance(body, bytes) and json.loads(body)["document"]["document_url"] == url


# ------------------------------------------------------------------ over loopback


class _WholeBody(httpx.AsyncBaseTransport):
    """Marks each request as `RouterClient` does: its answer will be read at once."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        request.extensions[READ_WHOLE_BODY] = True
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def _transport(kind: str) -> httpx.AsyncBaseTransport:
    if kind == "httpx":
        return httpx.AsyncHTTPTransport()
    pytest.importorskip("httpx_aiohttp")
    transport = fast_transport(httpx.Limits(max_connections=4))
    assert transport is not None
    return _WholeBody(transport) if kind == "fast-whole" else transport


ANSWER = json.dumps({"pages": [], "model": "m", "usage_info": {"pages_processed": 1}}).encode()


@asynccontextmanager
async def recording_server(seen: list[tuple[bytes, bytes]]) -> AsyncIterator[str]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                int(line.partition(b":")[2])
                for line in head.lower().split(b"\r\n")
                if line.startswith(b"content-length:")
            )
            seen.append((head.lower(), await reader.readexactly(length)))
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(ANSWER)}\r\n\r\n".encode()
                + ANSWER
            )
            await writer.drain()
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        server.close()
        await server.wait_closed()


@pytest.mark.parametrize("kind", TRANSPORTS)
async def test_the_server_receives_the_dumped_request_with_its_length(kind: str) -> None:
    seen: list[tuple[bytes, bytes]] = []
    request = OCRRequest.build(PDF, pages=[0])
    async with recording_server(seen) as url:
        provider = create_provider("mistral/mistral-ocr-latest", api_key="k", api_base=url)
        async with httpx.AsyncClient(transport=_transport(kind)) as client:
            response = await provider.send(request, client, timeout=10)
    assert response.usage_info.pages_processed == 1
    [(head, content)] = seen
    assert b"transfer-encoding" not in head
    assert content == _dumped(request, "mistral-ocr-latest")


@pytest.mark.parametrize("kind", TRANSPORTS)
async def test_a_spliced_upload_the_server_stops_reading_is_a_write_timeout(kind: str) -> None:
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.setblocking(False)
    accepted: list[socket.socket] = []

    async def accept_and_never_read() -> None:
        while True:
            accepted.append((await asyncio.get_running_loop().sock_accept(listener))[0])

    acceptor = asyncio.ensure_future(accept_and_never_read())
    content = b"%PDF-1.4\n" + bytes(range(256)) * 48_000  # a 16 MB URI: more than buffers hold
    request = OCRRequest.build(content)
    try:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        provider = create_provider("mistral/mistral-ocr-latest", api_key="k", api_base=url)
        http_request = await provider.build_request(request, httpx.AsyncClient())
        assert isinstance(http_request.stream, SplicedBody)
        async with httpx.AsyncClient(transport=_transport(kind)) as client:
            http_request.extensions["timeout"] = httpx.Timeout(0.3).as_dict()
            with pytest.raises(httpx.WriteTimeout):
                await client.send(http_request)
    finally:
        acceptor.cancel()
        for sock in [*accepted, listener]:
            sock.close()
