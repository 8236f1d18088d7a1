"""`FastTransport`: httpx-aiohttp's transport raising httpx's errors (see router/transport.py).

Imports aiohttp: only `router.transport.fast_transport` imports this module, when called.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport

from router.bounded_body import BodyTooLargeError
from router.request_body import SplicedBody
from router.request_extensions import MAX_RESPONSE_BYTES, READ_WHOLE_BODY

T = TypeVar("T")

# aiohttp's error -> what httpx's own transport raises for the same event (checked against
# loopback servers in tests/core/test_transport.py). First match wins: subclasses come first.
_ERRORS: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (aiohttp.ClientConnectorError, httpx.ConnectError),  # refused, DNS, TLS handshake
    (aiohttp.ConnectionTimeoutError, httpx.ConnectTimeout),
    (aiohttp.ServerTimeoutError, httpx.ReadTimeout),  # SocketTimeoutError: no byte within `read`
    (aiohttp.ServerDisconnectedError, httpx.RemoteProtocolError),  # closed before a full answer
    (aiohttp.ClientPayloadError, httpx.RemoteProtocolError),  # body cut short or badly framed
    (aiohttp.ClientResponseError, httpx.RemoteProtocolError),  # unparsable status line or header
    (aiohttp.ClientConnectionError, httpx.ReadError),  # ClientOSError: connection reset
)
# httpx sets these (or was told not to); aiohttp would add its own defaults, such as
# Content-Type: application/octet-stream on a body.
_HTTPX_DECIDES = ("Accept", "Accept-Encoding", "Content-Type", "User-Agent")
# aiohttp sends a body this small without awaiting the socket (its write buffer's limit), so only
# a larger or streamed body can stall on a peer that stops reading.
_UNBLOCKED_BODY_BYTES = 64 * 1024


@contextmanager
def _httpx_errors() -> Iterator[None]:
    """Re-raise aiohttp's errors (raw, or as httpx-aiohttp mapped them) as httpx's."""
    try:
        yield
    except (httpx.TransportError, aiohttp.ClientError) as error:
        origin = error.__cause__ if isinstance(error, httpx.TransportError) else error
        for aiohttp_error, httpx_error in _ERRORS:
            if isinstance(origin, aiohttp_error):
                raise httpx_error(str(origin) or type(origin).__name__) from origin
        if isinstance(error, httpx.TransportError):
            raise  # ours (PoolTimeout, WriteTimeout), or httpx-aiohttp's right ones
        raise httpx.TransportError(str(error)) from error


class FastTransport(AiohttpTransport):
    """An httpx transport over one aiohttp session, with httpx's errors and pool semantics."""

    def __init__(self, limits: httpx.Limits) -> None:
        super().__init__(limits=limits)
        # The pool limit is ours, not aiohttp's: aiohttp times the wait for a free connection
        # and the connect together, so a full pool would read as ConnectTimeout.
        size = limits.max_connections
        self._slots = asyncio.Semaphore(size) if size is not None else None
        self._closer: AsyncIterator[None] | None = None

    def get_client(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=0,  # unlimited: self._slots limits
            keepalive_timeout=self.limits.keepalive_expiry,
            ssl=self.ssl_context,  # httpx's default context: certifi, SSL_CERT_FILE/DIR
        )
        return aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),  # httpx keeps cookies; a 2nd jar resends cleared
            skip_auto_headers=_HTTPX_DECIDES,
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.client is None:
            self.client = self.get_client()
            self._closer = self._close_when_the_loop_ends()
            await anext(self._closer)  # its first step registers it with the running loop
        timeout: dict[str, float | None] = request.extensions.get("timeout", {})
        await self._acquire(timeout.get("pool"))
        if request.extensions.get(READ_WHOLE_BODY) and _has_whole_body(request):
            try:
                with _httpx_errors():
                    return await self._whole(request, timeout)
            finally:
                self._release()
        # The base gives "pool" to aiohttp's `connect` timer (pool wait, DNS and connect); the
        # pool wait is ours, so that timer is httpx's connect timeout.
        request.extensions["timeout"] = {**timeout, "pool": timeout.get("connect")}
        try:
            with _httpx_errors():
                sending = super().handle_async_request(request)
                response = await _within(_head_bound(request, timeout), sending)
        except BaseException:
            self._release()
            raise
        finally:
            request.extensions["timeout"] = timeout
        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = _Body(response.stream, self._release)
        return response

    async def _whole(
        self, request: httpx.Request, timeout: dict[str, float | None]
    ) -> httpx.Response:
        """The answer read to its end by aiohttp and handed over in one piece, for a caller that
        reads it whole anyway (`RouterClient`): the streamed path's chain of async generators
        (aiohttp's, httpx-aiohttp's, ours, httpx's) costs more than the routing of a call."""
        assert isinstance(self.client, aiohttp.ClientSession)
        opening = self.client.request(
            request.method,
            str(request.url),
            headers=request.headers,
            data=_payload(request),
            allow_redirects=False,
            auto_decompress=False,  # httpx decodes, as on the streamed path
            compress=False,
            timeout=aiohttp.ClientTimeout(
                sock_connect=timeout.get("connect"),
                sock_read=timeout.get("read"),
                connect=timeout.get("connect"),  # the pool wait is ours (see handle_...)
            ),
            server_hostname=request.extensions.get("sni_hostname"),
        )
        answer = await _within(_head_bound(request, timeout), opening)
        try:
            content = await _read_raw(answer, request.extensions.get(MAX_RESPONSE_BYTES))
        finally:
            answer.release()
        extensions: dict[str, Any] = {"http_version": b"HTTP/1.1"}
        if answer.reason:
            extensions["reason_phrase"] = answer.reason.encode()
        return httpx.Response(
            answer.status,
            headers=answer.raw_headers,
            # A stream, not `content=`: httpx would decode content at once, whole (a gzip bomb
            # inflated before any cap); the reader decodes it (`aread`, or `read_capped`).
            stream=httpx.ByteStream(content),
            request=request,
            extensions=extensions,
        )

    async def _close_when_the_loop_ends(self) -> AsyncIterator[None]:
        """Closes the session when the loop shuts its async generators down (`asyncio.run` does,
        before closing the loop), or when the transport is dropped unclosed while it runs. A pool
        left behind by its loop (the Router's after an `asyncio.run`) would otherwise make aiohttp
        log "Unclosed client session" at garbage collection."""
        try:
            yield
        finally:
            await self.aclose()

    async def _acquire(self, pool_timeout: float | None) -> None:
        if self._slots is None:
            return
        if pool_timeout is None or not self._slots.locked():
            await self._slots.acquire()
            return
        try:
            await asyncio.wait_for(self._slots.acquire(), pool_timeout)
        except TimeoutError:
            raise httpx.PoolTimeout("no free connection within the pool timeout") from None

    def _release(self) -> None:
        if self._slots is not None:
            self._slots.release()


class _Body(httpx.AsyncByteStream):
    """A response body: aiohttp's errors as httpx's; closing it frees its pool slot, once."""

    def __init__(self, stream: httpx.AsyncByteStream, release: Callable[[], None]) -> None:
        self._stream = stream
        self._release: Callable[[], None] | None = release

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _httpx_errors():
            async for chunk in self._stream:
                yield chunk

    async def aclose(self) -> None:
        try:
            with _httpx_errors():
                await self._stream.aclose()
        finally:
            release, self._release = self._release, None
            if release is not None:
                release()


async def _read_raw(answer: aiohttp.ClientResponse, limit: int | None) -> bytes:
    """The raw body, or `BodyTooLargeError` once it is known to pass `limit` raw bytes (from
    Content-Length before reading, else as it arrives); the connection is dropped then."""
    if limit is None:
        return await answer.read()
    declared = answer.content_length
    if declared is not None and declared > limit:
        answer.close()
        raise BodyTooLargeError(limit, declared)
    if declared is not None:
        return await answer.read()
    chunks: list[bytes] = []
    size = 0
    while chunk := await answer.content.readany():
        size += len(chunk)
        if size > limit:
            answer.close()
            raise BodyTooLargeError(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _head_bound(request: httpx.Request, timeout: dict[str, float | None]) -> float | None:
    """How long the response head may take when the body can stall, else None.

    aiohttp has no write timeout and starts its read timer once the body is sent, so a peer that
    stops reading an upload would hold it forever. httpx allows connect, then `write` to send
    (the whole body, when it is bytes), then `read`: past their sum, httpx would have given up.
    """
    phases = (timeout.get("connect"), timeout.get("write"), timeout.get("read"))
    try:
        small = len(request.content) <= _UNBLOCKED_BODY_BYTES
    except httpx.RequestNotRead:
        small = False  # a streamed body
    if small or any(phase is None for phase in phases):
        return None
    return sum(phase for phase in phases if phase is not None)


class _SplicedPayload(aiohttp.payload.Payload):
    """A `SplicedBody` for aiohttp: its size known (so Content-Length, not chunked), written a
    slice at a time, each awaiting the socket's drain (one `write` of the whole body would copy
    all the peer had not yet taken into the event loop's buffer)."""

    def __init__(self, body: SplicedBody) -> None:
        super().__init__(body, content_type="application/json")
        self._body = body
        self._size = body.length

    async def write(self, writer: aiohttp.abc.AbstractStreamWriter) -> None:
        for chunk in self._body.chunks():
            await writer.write(chunk)

    def decode(self, encoding: str = "utf-8", errors: str = "strict") -> str:
        return b"".join(self._body.chunks()).decode(encoding, errors)


def _payload(request: httpx.Request) -> bytes | _SplicedPayload | None:
    if isinstance(request.stream, SplicedBody):
        return _SplicedPayload(request.stream)
    return request.content or None


def _has_whole_body(request: httpx.Request) -> bool:
    """Whether the request's body is in memory (a streamed one takes the streamed path)."""
    if isinstance(request.stream, SplicedBody):
        return True
    try:
        request.content  # noqa: B018 - raises when the body is a stream not yet read
    except httpx.RequestNotRead:
        return False
    return True


async def _within(seconds: float | None, sending: Awaitable[T]) -> T:
    if seconds is None:
        return await sending
    try:
        return await asyncio.wait_for(sending, seconds)
    except TimeoutError:
        raise httpx.WriteTimeout(f"no response head within {seconds:g} s: upload stalled") from None
