"""`RouterClient`: the router's own pool sends straight to its transport, and nothing is lost."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from router.http_client import RouterClient

LIMITS = httpx.Limits(max_connections=4)


class _CutBody(httpx.AsyncByteStream):
    """A body that breaks after its first chunk, and remembers whether it was closed."""

    def __init__(self) -> None:
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b'{"pages":'
        raise httpx.ReadError("connection reset")

    async def aclose(self) -> None:
        self.closed = True


async def test_send_returns_the_whole_answer_with_its_request() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"ok": True}, headers={"set-cookie": "a=1"})

    async with RouterClient(httpx.MockTransport(answer), LIMITS) as client:
        request = httpx.Request("POST", "https://ocr.example/v1/ocr", content=b"{}")
        response = await client.send(request)
        assert response.json() == {"ok": True}
        assert response.request is request and seen == [request]
        assert not client.cookies  # the router never keeps a provider's cookies


async def test_a_body_cut_short_raises_and_closes_the_response() -> None:
    body = _CutBody()
    transport = httpx.MockTransport(lambda request: httpx.Response(200, stream=body))
    async with RouterClient(transport, LIMITS) as client:
        with pytest.raises(httpx.ReadError):
            await client.send(httpx.Request("POST", "https://ocr.example/v1/ocr"))
    assert body.closed


async def test_streaming_takes_httpx_own_path_and_leaves_the_body_unread() -> None:
    body = _Chunks()
    transport = httpx.MockTransport(lambda request: httpx.Response(200, stream=body))
    async with RouterClient(transport, LIMITS) as client:
        streamed = await client.send(httpx.Request("GET", "https://ocr.example/f"), stream=True)
        assert body.chunks_read == 0  # left for the caller, as httpx does
        assert await streamed.aread() == b"abc"
        await streamed.aclose()


class _Chunks(httpx.AsyncByteStream):
    def __init__(self) -> None:
        self.chunks_read = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in (b"a", b"b", b"c"):
            self.chunks_read += 1
            yield chunk


async def test_a_closed_client_refuses_to_send_like_httpx() -> None:
    client = RouterClient(httpx.MockTransport(lambda request: httpx.Response(200)), LIMITS)
    await client.aclose()
    with pytest.raises(RuntimeError, match="closed"):
        await client.send(httpx.Request("GET", "https://ocr.example/"))
