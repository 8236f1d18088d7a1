"""A hostile upstream: an HTTP/1.1 server on 127.0.0.1 that answers what no real host should.

    async with hostile_upstream(huge_body(200 * MB)) as upstream:
        upstream.url, upstream.requests, upstream.bytes_sent

Each request is read whole (head and Content-Length body), then answered by the `Answer` given
(a coroutine writing raw bytes). `bytes_sent` counts what the server managed to hand to the
socket before the client stopped reading or closed: the measure of how much a client read.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

MB = 1024 * 1024
CHUNK = 256 * 1024

Send = Callable[[bytes], Awaitable[None]]
Answer = Callable[[Send], Awaitable[None]]


@dataclass
class Upstream:
    url: str
    requests: int = 0
    bytes_sent: int = 0


def _head(status: str, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status}", *(f"{name}: {value}" for name, value in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def huge_body(size: int, *, declared: bool = False) -> Answer:
    """A 200 whose body is `size` bytes of one JSON string (chunked unless `declared`)."""

    async def answer(send: Send) -> None:
        headers = {"Content-Type": "application/json"}
        if declared:
            headers["Content-Length"] = str(size)
        else:
            headers["Transfer-Encoding"] = "chunked"
        await send(_head("200 OK", headers))
        filler = b"a" * CHUNK
        sent = 0
        while sent < size:
            piece = filler[: min(CHUNK, size - sent)]
            await send(piece if declared else b"%x\r\n%s\r\n" % (len(piece), piece))
            sent += len(piece)
        if not declared:
            await send(b"0\r\n\r\n")

    return answer


def dripping(interval: float) -> Answer:
    """A 200 whose chunked body comes one byte per `interval` seconds, for ever (each byte
    arrives well within any read timeout: only a deadline on the whole call stops it)."""

    async def answer(send: Send) -> None:
        await send(_head("200 OK", {"Transfer-Encoding": "chunked"}))
        while True:
            await send(b"1\r\n \r\n")
            await asyncio.sleep(interval)

    return answer


def gzip_bomb(inflated: int) -> Answer:
    """A 200 of a few hundred KB of gzip that inflates to `inflated` bytes of zeros."""
    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    zeros = bytes(MB)
    body = b"".join(packer.compress(zeros) for _ in range(inflated // MB)) + packer.flush()

    async def answer(send: Send) -> None:
        headers = {
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
            "Content-Length": str(len(body)),
        }
        await send(_head("200 OK", headers) + body)

    return answer


def status(line: str, headers: dict[str, str] | None = None, body: bytes = b"") -> Answer:
    """Any status line, headers and a small body (a 302, a 418, a 429 with odd Retry-After)."""

    async def answer(send: Send) -> None:
        fields = {"Content-Length": str(len(body)), **(headers or {})}
        await send(_head(line, fields) + body)

    return answer


def error_echoing(secret: str, *, at: int) -> Answer:
    """A 400 whose message quotes `secret` starting at character `at` (where a cut would fall)."""
    message = "x" * at + secret + "y" * 200
    return status(
        "400 Bad Request",
        {"Content-Type": "application/json"},
        json.dumps({"message": message}).encode(),
    )


@contextlib.asynccontextmanager
async def hostile_upstream(answer: Answer) -> AsyncIterator[Upstream]:
    upstream = Upstream(url="")

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async def send(data: bytes) -> None:
            writer.write(data)
            await writer.drain()
            upstream.bytes_sent += len(data)

        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                await reader.readexactly(length)
                upstream.requests += 1
                await answer(send)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass  # the client went away: what it read so far is in bytes_sent
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    upstream.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    try:
        yield upstream
    finally:
        server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 5)
