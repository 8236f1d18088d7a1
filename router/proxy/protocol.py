"""The proxy's HTTP/1.1 protocol: uvicorn's httptools protocol, with the limits it lacks.

uvicorn over httptools reads request headers of any size (llhttp buffers a header line until it
ends: 500 MB of headers, 500 MB of memory), waits for ever for a head or a body that stops half
way, keeps every connection it accepts, and holds an HTTP/0.9 request line ("GET /" and no
version) open waiting for headers that never come. Each of those is a way to pin memory or file
descriptors before any auth. The limits belong where bytes arrive, so they live here, once, for
every route:

- the request line and headers together: `max_request_header_bytes`, else 431 and close;
- the head must be complete `header_read_timeout` seconds after its first byte (or after the
  connection opens), else 408 and close;
- the body may pause `body_read_timeout` seconds between reads, else 408 and close (the app then
  sees the client as gone);
- at most `max_connections` open connections per process: one more is answered 503 and closed;
- a request line with no HTTP version is answered 400 and closed at once.

The settings travel on the uvicorn `Config` (`ProxyServerConfig.proxy_limits`), which worker
processes receive pickled, so every worker applies the same limits.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from router.config import GeneralSettings


@dataclass(frozen=True)
class ServerLimits:
    """What one connection may cost (the defaults are `GeneralSettings`'s)."""

    max_request_header_bytes: int
    header_read_timeout: float
    body_read_timeout: float
    max_connections: int

    @classmethod
    def from_settings(cls, settings: GeneralSettings) -> ServerLimits:
        return cls(
            max_request_header_bytes=settings.max_request_header_bytes,
            header_read_timeout=settings.header_read_timeout,
            body_read_timeout=settings.body_read_timeout,
            max_connections=settings.max_connections,
        )


DEFAULT_LIMITS = ServerLimits.from_settings(GeneralSettings())
LINGER_SECONDS = 2.0  # how long a refused connection's further bytes are read and dropped


class ProxyServerConfig(uvicorn.Config):
    """A uvicorn `Config` that carries the proxy's `ServerLimits` (to each worker, pickled)."""

    def __init__(self, app: Any, *, proxy_limits: ServerLimits, **options: Any) -> None:
        super().__init__(app, http=GuardedHttpToolsProtocol, **options)
        self.proxy_limits = proxy_limits


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the limits of the module docstring."""

    def __init__(self, config: uvicorn.Config, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        self._limits: ServerLimits = getattr(config, "proxy_limits", DEFAULT_LIMITS)
        self._in_head = True  # reading a request line and headers (from the connection's start)
        self._head_bytes = 0
        self._in_body = False
        self._last_read = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._refused = False

    # ------------------------------------------------------------ connection

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self._limits.max_connections:
            self._refuse(503, "too many open connections to this proxy process")
            return
        self._last_read = self.loop.time()
        self._arm(self._limits.header_read_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # discarded while the refusal lingers (see `_refuse`)
        self._last_read = self.loop.time()
        fresh_head = self._in_head and self._head_bytes == 0
        if self._in_head:
            self._head_bytes += len(data)
        if fresh_head and not _has_http_version(data):
            self._refuse(400, "the request line has no HTTP version (HTTP/0.9 is not served)")
            return
        super().data_received(data)
        # Counted in raw bytes: llhttp buffers an unfinished header line whole, so waiting for
        # the parser to report a header would let the line grow first. Past the head, the bytes
        # of the same chunk are body: only a head still unfinished after a chunk is judged.
        if self._in_head and self._head_bytes > self._limits.max_request_header_bytes:
            limit = self._limits.max_request_header_bytes
            self._refuse(431, f"the request line and headers exceed {limit} bytes")

    def send_400_response(self, msg: str) -> None:
        if not self._refused:  # our own refusal was already sent on this connection
            self._refused = True
            super().send_400_response(msg)

    # ------------------------------------------------------------ parser callbacks

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if not self._in_head:  # the next request on a kept-alive connection
            self._in_head = True
            self._head_bytes = 0
            self._arm(self._limits.header_read_timeout)

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._disarm()
        super().on_headers_complete()
        self._in_body = True
        self._arm(self._limits.body_read_timeout)

    def on_message_complete(self) -> None:
        self._in_body = False
        self._disarm()
        super().on_message_complete()

    # ------------------------------------------------------------ the read timer

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._timer = self.loop.call_later(seconds, self._check_timeout)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _check_timeout(self) -> None:
        """One timer per connection, re-armed here rather than on every chunk received."""
        self._timer = None
        if self.transport.is_closing() or self._refused:
            return
        if self._in_head:
            self._refuse(408, "the request headers were not received in time")
            return
        if not self._in_body:
            return
        idle = self.loop.time() - self._last_read
        if self.flow.read_paused or idle < self._limits.body_read_timeout:
            # Reading paused by the app's own backpressure is not the client's pause.
            self._arm(max(self._limits.body_read_timeout - idle, 0.01))
            return
        self._refuse(408, "the request body paused longer than the body read timeout")

    def _refuse(self, status: int, message: str) -> None:
        """Answer `status` in Mistral's error envelope and close the connection."""
        self._refused = True
        self._disarm()
        body = json.dumps(
            {
                "object": "error",
                "message": message,
                "type": "invalid_request_error",
                "param": None,
                "code": "request_refused",
            }
        ).encode()
        head = [
            STATUS_LINE[status],
            b"content-type: application/json\r\n",
            b"content-length: " + str(len(body)).encode() + b"\r\n",
            b"connection: close\r\n\r\n",
        ]
        self.transport.write(b"".join(head) + body)
        # A lingering close (nginx's): closing with unread bytes in the socket makes the kernel
        # send a reset, which can destroy the answer before the client reads it. So end our side
        # (FIN after the answer), discard what still comes, and close after a short grace.
        if self.transport.can_write_eof():
            self.transport.write_eof()
            self.loop.call_later(LINGER_SECONDS, self.transport.close)
        else:  # pragma: no cover - TLS transports cannot half-close
            self.transport.close()


def _has_http_version(data: bytes) -> bool:
    """Whether the request line at the start of `data` ends with a version (unknown: True)."""
    start = data.lstrip(b"\r\n")
    end = start.find(b"\n")
    if end < 0:
        return True  # the line is not complete yet: the parser and the head limits decide
    return b" HTTP/" in start[:end]


__all__ = ["DEFAULT_LIMITS", "GuardedHttpToolsProtocol", "ProxyServerConfig", "ServerLimits"]
