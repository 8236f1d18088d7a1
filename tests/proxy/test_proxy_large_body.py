"""The proxy reads a large body once (a buffer sized by Content-Length), parses it once, and
forwards the document unchanged; text encodings and bad bytes are answered as json.loads would."""

from __future__ import annotations

import base64
import json
import tracemalloc

import pytest
from proxy_helpers import BEARER, PROVIDER_KEY, ProxyStarter
from starlette.requests import Request

from providers.fake import FakeProvider
from router.proxy.app import _read_json
from router.proxy.errors import ProxyError

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 16_000  # 4 MB (the fake reads no pixels)
URI = "data:image/png;base64," + base64.b64encode(PNG).decode()


async def test_a_large_document_goes_through_unchanged(start_proxy: ProxyStarter) -> None:
    fake = FakeProvider("mistral", api_key=PROVIDER_KEY)
    proxy = await start_proxy({"a": fake})
    body = {"model": "ocr", "document": {"type": "image_url", "image_url": URI}}
    async with proxy.client() as client:
        answer = await client.post("/v1/ocr", json=body, headers=BEARER, timeout=30)
    assert answer.status_code == 200, answer.text
    assert fake.requests[0].json["document"]["image_url"] == URI


async def test_a_utf16_body_is_parsed_and_bad_bytes_are_400(start_proxy: ProxyStarter) -> None:
    proxy = await start_proxy({"a": FakeProvider("mistral", api_key=PROVIDER_KEY)})
    small = "data:image/png;base64," + base64.b64encode(PNG[:64]).decode()
    body = json.dumps({"model": "ocr", "document": {"image_url": small}})
    async with proxy.client() as client:
        utf16 = await client.post("/v1/ocr", content=body.encode("utf-16"), headers=BEARER)
        garbage = await client.post("/v1/ocr", content=b'{"model": "\xff"}', headers=BEARER)
    assert utf16.status_code == 200, utf16.text
    assert garbage.status_code == 400
    assert "not UTF-8" in garbage.json()["message"]


def _request(body: bytes, piece: int) -> Request:
    pieces = [body[start : start + piece] for start in range(0, len(body), piece)]
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/v1/ocr",
        "headers": [(b"content-length", str(len(body)).encode())],
    }

    async def receive() -> dict[str, object]:
        chunk = pieces.pop(0) if pieces else b""
        return {"type": "http.request", "body": chunk, "more_body": bool(pieces)}

    return Request(scope, receive)


async def test_reading_and_parsing_holds_two_copies_of_the_body_at_most() -> None:
    body = json.dumps({"model": "ocr", "document": {"image_url": URI}}).encode()
    request = _request(body, 64 * 1024)
    tracemalloc.start()
    try:
        parsed = await _read_json(request, limit=len(body))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert parsed["document"]["image_url"] == URI
    assert peak < 2.2 * len(body)  # the buffer, then its text; then the text, then the URI


async def test_a_body_cut_short_of_its_length_is_malformed_json() -> None:
    body = json.dumps({"model": "ocr"}).encode()
    request = _request(body[:-3], 4)  # the stream ends before the declared length
    request.scope["headers"] = [(b"content-length", str(len(body)).encode())]
    with pytest.raises(ProxyError) as caught:
        await _read_json(request, limit=1000)
    assert caught.value.status == 400
    assert "malformed JSON" in caught.value.message


async def test_the_sized_buffer_takes_pieces_of_any_size() -> None:
    body = json.dumps({"model": "ocr", "n": list(range(1000))}).encode()
    for piece in (1, 7, 4096, len(body)):
        assert await _read_json(_request(body, piece), limit=len(body)) == json.loads(body)
