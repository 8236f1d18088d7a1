"""The fast transport (router/transport.py) against httpx's own, over loopback sockets.

For each network failure both transports must raise the same httpx exception (pinned here, so a
change in either shows), and that must become the same `OCRRouterError` through `Provider.send`
and the Router. Answers must read the same, and closing must leave no aiohttp session open.
"""

from __future__ import annotations

import asyncio
import gc
import socket
import struct
import subprocess
import sys
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import pytest

from providers import create_provider
from providers.fake import FakeProvider
from router.errors import APIConnectionError, OCRRouterError, RequestTimeoutError
from router.router import Router
from router.transport import READ_WHOLE_BODY, fast_transport
from router.types import OCRRequest

aiohttp = pytest.importorskip("aiohttp")  # the optional extra `fast`
pytest.importorskip("httpx_aiohttp")

LIMITS = httpx.Limits(max_connections=8, max_keepalive_connections=4)
# "fast-whole": the fast transport as `RouterClient` drives it (the body read in one piece).
TRANSPORTS = ("httpx", "fast", "fast-whole")
SHORT = 0.3  # seconds: the timeout that the timeout scenarios exceed
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")


@pytest.fixture(autouse=True)
def _no_env_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def make(kind: str, limits: httpx.Limits = LIMITS) -> httpx.AsyncBaseTransport:
    if kind == "httpx":
        return httpx.AsyncHTTPTransport(limits=limits)
    transport = fast_transport(limits)
    assert transport is not None
    return _WholeBody(transport) if kind == "fast-whole" else transport


class _WholeBody(httpx.AsyncBaseTransport):
    """Marks each request as `RouterClient` does: its body will be read at once."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        request.extensions[READ_WHOLE_BODY] = True
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


# ------------------------------------------------------------------ loopback servers


@asynccontextmanager
async def raw_server(
    answer: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Any],
) -> AsyncIterator[str]:
    """A server on 127.0.0.1 that runs `answer` on each connection; yields its base URL."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await answer(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        server.close()
        await server.wait_closed()


async def read_request(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    """One request's head and body (Content-Length or chunked)."""
    head = await reader.readuntil(b"\r\n\r\n")
    headers = head.lower()
    if b"transfer-encoding: chunked" in headers:
        body = b""
        while size := int((await reader.readuntil(b"\r\n")).strip(), 16):
            body += (await reader.readexactly(size + 2))[:-2]
        await reader.readuntil(b"\r\n")
        return head, body
    length = 0
    for line in headers.split(b"\r\n"):
        if line.startswith(b"content-length:"):
            length = int(line.partition(b":")[2])
    return head, await reader.readexactly(length)


async def _close_unanswered(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request(reader)  # then close (FIN) without a byte of answer


async def _garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request(reader)
    writer.write(b"<html>502 Bad Gateway</html>\r\n\r\n")
    await writer.drain()


@asynccontextmanager
async def refused() -> AsyncIterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    yield f"http://127.0.0.1:{port}"  # nothing listens there any more


@asynccontextmanager
async def full_backlog() -> AsyncIterator[str]:
    """A listener that never accepts, its backlog filled: Linux drops further SYNs, so a
    connect hangs until the client's connect timeout."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    address = listener.getsockname()
    fillers = []
    for _ in range(3):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(address)
        fillers.append(filler)
    try:
        yield f"http://127.0.0.1:{address[1]}"
    finally:
        for sock in [*fillers, listener]:
            sock.close()


@asynccontextmanager
async def fake_with(fault: str) -> AsyncIterator[str]:
    async with FakeProvider("mistral", script=[fault], hang_seconds=5).serve() as url:
        yield url


# name -> (server, what both transports raise, what Provider.send raises)
FAILURES: dict[str, tuple[Callable[[], AbstractAsyncContextManager[str]], type, type]] = {
    "refused": (refused, httpx.ConnectError, APIConnectionError),
    "reset_before_answer": (lambda: fake_with("reset"), httpx.ReadError, APIConnectionError),
    "closed_unanswered": (
        lambda: raw_server(_close_unanswered),
        httpx.RemoteProtocolError,
        APIConnectionError,
    ),
    "truncated_body": (
        lambda: fake_with("truncated"),
        httpx.RemoteProtocolError,
        APIConnectionError,
    ),
    "garbage_status_line": (
        lambda: raw_server(_garbage),
        httpx.RemoteProtocolError,
        APIConnectionError,
    ),
    "no_answer_in_time": (lambda: fake_with("timeout"), httpx.ReadTimeout, RequestTimeoutError),
    "connect_hangs": (full_backlog, httpx.ConnectTimeout, RequestTimeoutError),
}
needs_linux = pytest.mark.skipif(
    sys.platform != "linux", reason="a full backlog drops SYNs on Linux only"
)
FAILURE_PARAMS = [
    pytest.param(name, marks=needs_linux) if name == "connect_hangs" else name for name in FAILURES
]


async def error_of(call: Awaitable[Any]) -> type[BaseException] | None:
    try:
        await call
    except Exception as error:
        return type(error)
    return None


# ------------------------------------------------------------------ failures


@pytest.mark.parametrize("name", FAILURE_PARAMS)
async def test_each_failure_raises_what_httpx_own_transport_raises(name: str) -> None:
    server, expected, _ = FAILURES[name]
    raised = {}
    for kind in TRANSPORTS:
        async with server() as url, httpx.AsyncClient(transport=make(kind)) as client:
            raised[kind] = await error_of(
                client.post(f"{url}/v1/ocr", content=b"{}", timeout=SHORT)
            )
    assert raised == dict.fromkeys(TRANSPORTS, expected)


@pytest.mark.parametrize("name", FAILURE_PARAMS)
async def test_each_failure_is_the_same_router_error_through_provider_send(name: str) -> None:
    server, _, expected = FAILURES[name]
    raised = {}
    for kind in TRANSPORTS:
        # The client's own timeout is long: only the per-request one Provider.send sets can
        # make a timeout of SHORT (else the fake drops the connection: APIConnectionError).
        async with server() as url, httpx.AsyncClient(transport=make(kind), timeout=30) as client:
            provider = create_provider(
                "mistral/mistral-ocr-latest", api_key="k", api_base=url, timeout=SHORT
            )
            raised[kind] = await error_of(provider.send(OCRRequest.build(PNG), client))
    assert raised == dict.fromkeys(TRANSPORTS, expected)


@pytest.mark.parametrize(
    ("fault", "expected"), [("reset", APIConnectionError), ("timeout", RequestTimeoutError)]
)
async def test_each_failure_is_the_same_router_error_through_the_router(
    fault: str, expected: type[OCRRouterError]
) -> None:
    raised = {}
    for kind in TRANSPORTS:
        fake = FakeProvider("mistral", api_key="k", script=[fault], hang_seconds=5)
        async with fake.serve() as url:
            entry = {
                "model_name": "ocr",
                "model": "mistral/mistral-ocr-latest",
                "api_key": "k",
                "api_base": url,
                "timeout": SHORT,
            }
            async with Router([entry], transport=make(kind), num_retries=0) as router:
                raised[kind] = await error_of(router.aocr("ocr", PNG))
        assert fake.request_count == 1
    assert raised == dict.fromkeys(TRANSPORTS, expected)


async def test_a_body_cut_by_a_reset_is_a_connection_error_either_way() -> None:
    # The one known difference: aiohttp does not say whether a cut body ended with a FIN or an
    # RST, so the fast transport says RemoteProtocolError where httpx says ReadError.
    async def cut_by_reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{")
        await writer.drain()
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # an RST
        writer.transport.abort()

    raised, wrapped = {}, {}
    for kind in TRANSPORTS:
        async with raw_server(cut_by_reset) as url, httpx.AsyncClient(transport=make(kind)) as c:
            raised[kind] = await error_of(c.post(url, content=b"{}"))
            provider = create_provider("mistral/mistral-ocr-latest", api_key="k", api_base=url)
            wrapped[kind] = await error_of(provider.send(OCRRequest.build(PNG), c))
    assert raised == {
        "httpx": httpx.ReadError,
        "fast": httpx.RemoteProtocolError,
        "fast-whole": httpx.RemoteProtocolError,
    }
    assert wrapped == dict.fromkeys(TRANSPORTS, APIConnectionError)


@pytest.mark.parametrize("kind", TRANSPORTS)
async def test_a_full_pool_is_a_pool_timeout(kind: str) -> None:
    fake = FakeProvider("mistral", script=["timeout", "ok"], hang_seconds=5)
    one = httpx.Limits(max_connections=1)
    async with fake.serve() as url, httpx.AsyncClient(transport=make(kind, one)) as client:
        held = asyncio.ensure_future(client.post(f"{url}/v1/ocr", content=b"{}", timeout=10))
        for _ in range(500):  # wait (at most 5 s) until the fake holds the only connection
            if fake.request_count:
                break
            await asyncio.sleep(0.01)
        request = client.build_request("POST", f"{url}/v1/ocr", content=b"{}")
        request.extensions["timeout"] = httpx.Timeout(10, pool=SHORT).as_dict()
        with pytest.raises(httpx.PoolTimeout):
            await client.send(request)
        held.cancel()
        with pytest.raises(asyncio.CancelledError):
            await held
        # The cancelled request gave its slot back: an answer (422: "{}" is no OCR request).
        assert (await client.post(f"{url}/v1/ocr", content=b"{}", timeout=5)).status_code == 422


@pytest.mark.parametrize("kind", TRANSPORTS)
async def test_an_upload_the_server_stops_reading_is_a_write_timeout(kind: str) -> None:
    # aiohttp has no write timeout of its own: without the bound this would hang.
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # small, and no autotuning
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.setblocking(False)
    accepted: list[socket.socket] = []

    async def accept_and_never_read() -> None:
        while True:
            accepted.append((await asyncio.get_running_loop().sock_accept(listener))[0])

    acceptor = asyncio.ensure_future(accept_and_never_read())
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/v1/ocr"
    try:
        async with httpx.AsyncClient(transport=make(kind)) as client:
            with pytest.raises(httpx.WriteTimeout):
                await client.post(url, content=b"x" * (16 * 1024 * 1024), timeout=SHORT)
    finally:
        acceptor.cancel()
        for sock in [*accepted, listener]:
            sock.close()


# ------------------------------------------------------------------ answers


async def test_an_answer_reads_the_same_and_the_server_sees_the_same_request() -> None:
    import gzip

    seen: list[tuple[list[tuple[str, str]], bytes]] = []
    body = gzip.compress(b'{"pages": []}')

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                head, content = await read_request(reader)
            except asyncio.IncompleteReadError:
                return
            lines = head.decode().split("\r\n")[1:-2]
            headers = [(n.lower(), v.strip()) for n, _, v in (x.partition(":") for x in lines)]
            seen.append((sorted(headers), content))
            writer.write(
                b"HTTP/1.1 201 Made It\r\nContent-Type: application/json\r\nX-Twice: a\r\n"
                b"X-Twice: b\r\nSet-Cookie: s=1; Path=/\r\nContent-Encoding: gzip\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            await writer.drain()

    results = {}
    async with raw_server(answer) as address:
        url = address.replace("127.0.0.1", "localhost")  # aiohttp's jar ignores IP addresses
        for kind in TRANSPORTS:
            seen.clear()
            async with httpx.AsyncClient(transport=make(kind)) as client:
                first = await client.post(f"{url}/a?q=1", content=b"\x00raw bytes\xff")
                client.cookies.clear()  # httpx's jar is the only one: nothing may resend it

                async def chunks() -> AsyncIterator[bytes]:
                    yield b"stream"
                    yield b"ed"

                second = await client.post(f"{url}/b", content=chunks())
            results[kind] = (
                [
                    (r.status_code, r.reason_phrase, r.headers.multi_items(), r.content)
                    for r in (first, second)
                ],
                list(seen),
            )
            assert first.http_version == "HTTP/1.1"
    assert results["fast"] == results["fast-whole"] == results["httpx"]
    responses, requests = results["fast"]
    assert responses[0][3] == b'{"pages": []}'  # httpx decoded the gzip body
    assert [content for _, content in requests] == [b"\x00raw bytes\xff", b"streamed"]
    assert not any(name in ("cookie", "content-type") for name, _ in requests[1][0])


@pytest.mark.parametrize("kind", TRANSPORTS)
async def test_a_success_through_provider_send(kind: str) -> None:
    fake = FakeProvider("mistral", api_key="k")
    async with fake.serve() as url, httpx.AsyncClient(transport=make(kind)) as client:
        provider = create_provider("mistral/mistral-ocr-latest", api_key="k", api_base=url)
        response = await provider.send(OCRRequest.build(PNG), client, timeout=5)
    assert response.pages and fake.outcomes == {"ok": 1}
    assert fake.requests[0].headers["content-type"] == "application/json"


async def test_connections_are_kept_alive_as_httpx_keeps_them() -> None:
    connections = {}
    for kind in TRANSPORTS:
        count = 0

        async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            nonlocal count
            count += 1
            while True:
                try:
                    await read_request(reader)
                except asyncio.IncompleteReadError:
                    return
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()

        async with raw_server(answer) as url, httpx.AsyncClient(transport=make(kind)) as client:
            for _ in range(3):
                assert (await client.post(url, content=b"{}")).content == b"ok"
        connections[kind] = count
    assert connections == dict.fromkeys(TRANSPORTS, 1)


# ------------------------------------------------------------------ lifetime and import


async def test_aclose_closes_the_aiohttp_session_and_connector() -> None:
    fake = FakeProvider("mistral")
    transport = make("fast")
    async with fake.serve() as url:
        async with httpx.AsyncClient(transport=transport) as client:
            await client.post(f"{url}/v1/ocr", content=b"{}")
            session = transport.client  # type: ignore[attr-defined]
            assert isinstance(session, aiohttp.ClientSession)
            connector = session.connector
            assert not session.closed and connector is not None and not connector.closed
        assert session.closed and connector.closed
    reported: list[dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _, context: reported.append(context))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        del client, transport, session, connector
        gc.collect()
    loop.set_exception_handler(None)
    assert [str(w.message) for w in caught if "nclosed" in str(w.message)] == []
    assert reported == []


def test_a_pool_left_behind_by_asyncio_run_is_closed_with_its_loop() -> None:
    # The Router drops the pool of a loop that has ended (it cannot close it there): aiohttp
    # would log "Unclosed client session" when it is collected.
    transport = make("fast")
    client = httpx.AsyncClient(transport=transport)
    with FakeProvider("mistral").serve_in_thread() as url:
        assert asyncio.run(client.post(f"{url}/v1/ocr", content=b"{}")).status_code == 422
    session = transport.client  # type: ignore[attr-defined]
    assert isinstance(session, aiohttp.ClientSession) and session.closed


def test_fast_transport_is_none_without_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "router._aiohttp_transport", raising=False)
    monkeypatch.setitem(sys.modules, "httpx_aiohttp", None)  # as if not installed
    assert fast_transport(LIMITS) is None


@pytest.mark.parametrize("variable", ["HTTPS_PROXY", "http_proxy", "ALL_PROXY"])
def test_fast_transport_leaves_env_proxies_to_httpx(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    # httpx.AsyncClient ignores env proxies when given a transport: the default one must serve.
    monkeypatch.setenv(variable, "http://proxy.invalid:3128")
    assert fast_transport(LIMITS) is None
    assert httpx.AsyncClient(transport=make("httpx"))._mounts == {}  # what None avoids


def test_importing_the_router_does_not_import_aiohttp() -> None:
    code = (
        "import sys, router, router.transport, router.router; "
        "sys.exit('aiohttp' in sys.modules or 'httpx_aiohttp' in sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
