"""The fake over real sockets: an aiohttp server on 127.0.0.1 answering as a `FakeProvider` decides.

In-process fakes cannot show what a client does when a connection is reset, a body is cut short
or a server never answers; a real server can. Connection faults are performed on the socket:
`timeout` holds the request unanswered (until the client leaves, the server stops, or
`hang_seconds`) and then drops the connection; `reset` sets SO_LINGER (1, 0) and closes, so the
kernel sends an RST before any byte; `truncated` sends a Content-Length larger than the bytes
that follow, then closes. The server keeps per-request work minimal (no access log) so that it is
never the bottleneck of a benchmark.
"""

from __future__ import annotations

import asyncio
import queue
import socket
import struct
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from typing import Any

from aiohttp import web

from providers.fake.answer import Answering

MAX_BODY_BYTES = 100 * 1024 * 1024  # Mistral's 50 MB document limit, base64-encoded, plus room
SHUTDOWN_GRACE_SECONDS = 1.0  # in-flight requests get this long to finish when a server stops
_TRUNCATED_HEAD = b'{"pages": [{"index": 0, "markdown": "# Page 1'
_TRUNCATED_PROMISED = 4096  # the Content-Length a truncated answer claims


def _abort_with_reset(request: web.BaseRequest) -> None:
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        # Linger on with a zero timeout: close() then discards the buffers and sends an RST.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


def _send_truncated(request: web.BaseRequest) -> None:
    transport = request.transport
    if transport is None:
        return
    transport.write(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {_TRUNCATED_PROMISED}\r\n\r\n".encode()
        + _TRUNCATED_HEAD
    )
    transport.close()  # close, not abort: the partial bytes are flushed first


def _make_handler(fake: Answering, stopping: asyncio.Event) -> Any:
    async def handle(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        # Repeated headers are joined with ", " as httpx (the in-process transport) joins them:
        # keeping only the last would hide a client that sends two credentials.
        headers: dict[str, str] = {}
        for key, value in request.headers.items():
            name = key.lower()
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        answer = await fake.handle(request.method, request.path, dict(request.query), headers, body)
        fault = answer.connection_fault
        if fault is None:
            assert answer.reply is not None
            return web.Response(
                status=answer.reply.status, body=answer.reply.body, headers=answer.reply.headers
            )
        if fault == "timeout":
            with suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stopping.wait(), fake.hang_seconds)
            _abort_with_reset(request)
        elif fault == "reset":
            _abort_with_reset(request)
        else:
            _send_truncated(request)
        # The connection is gone: aiohttp's attempt to send this fails quietly (ConnectionError).
        return web.Response(status=500)

    return handle


@asynccontextmanager
async def serve(fake: Answering, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
    """Serve `fake` on `host:port` (0 picks a free port); yields `http://host:port`."""
    stopping = asyncio.Event()
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app.router.add_route("*", "/{tail:.*}", _make_handler(fake, stopping))
    # handler_cancellation: a request held by a `timeout` fault ends when its client leaves.
    runner = web.AppRunner(
        app, access_log=None, shutdown_timeout=SHUTDOWN_GRACE_SECONDS, handler_cancellation=True
    )
    await runner.setup()
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        site = web.SockSite(runner, sock)
        await site.start()
    except BaseException:
        sock.close()
        await runner.cleanup()
        raise
    bound_port = sock.getsockname()[1]
    url_host = f"[{host}]" if ":" in host else host
    try:
        yield f"http://{url_host}:{bound_port}"
    finally:
        stopping.set()  # releases requests held by `timeout` faults
        await runner.cleanup()


@contextmanager
def serve_in_thread(fake: Answering, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """`serve` on a new event loop in a daemon thread; yields the base URL once it listens."""
    started: queue.Queue[tuple[str | None, BaseException | None]] = queue.Queue()
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()

    async def run() -> None:
        try:
            async with serve(fake, host, port) as base_url:
                started.put((base_url, None))
                await stop.wait()
        except BaseException as error:
            started.put((None, error))

    thread = threading.Thread(
        target=loop.run_until_complete, args=(run(),), name=f"fake-{fake.provider}", daemon=True
    )
    thread.start()
    base_url, error = started.get()
    try:
        if error is not None:
            raise error
        assert base_url is not None
        yield base_url
    finally:
        if error is None:
            loop.call_soon_threadsafe(stop.set)
        thread.join()
        loop.close()


__all__ = ["serve", "serve_in_thread"]
