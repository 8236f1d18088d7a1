"""Read an HTTP response body under a cap on its *decoded* size: the one bound on what a peer may
make us hold, for provider answers and downloaded documents alike.

A hostile or broken peer can answer 200 MB, or a few kilobytes of gzip that inflate to gigabytes:
httpx inflates each received chunk whole (64 KB of gzip becomes 64 MB at once), and reads a body
whole when asked. So the body is read raw, chunk by chunk, and decoded here with zlib asked for at
most what the cap leaves: a bomb stops one byte past the cap, whatever its ratio. Only identity,
gzip and deflate are accepted (those are what `ACCEPT_ENCODING` asks for; br and zstd, which
httpx would add when their packages are installed, were not asked for, and stacked codings
multiply the ratio).

The caller turns the two failures into its own errors: a document too large is the request's
fault, a provider answer too large is the deployment's.
"""

from __future__ import annotations

import zlib
from typing import Any

import httpx

ACCEPT_ENCODING = "gzip, deflate"


class BodyTooLargeError(Exception):
    """The body is over `limit` decoded bytes (`declared`: its Content-Length, when it said so)."""

    def __init__(self, limit: int, declared: int | None = None) -> None:
        super().__init__(f"the body is over the {limit}-byte limit")
        self.limit = limit
        self.declared = declared


class UndecodableBodyError(Exception):
    """The body's Content-Encoding is not accepted, or its bytes are not valid for it."""


class BoundedDecoder:
    """Decodes one content coding without ever producing more than asked for."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self._zlib: Any = None
        self._first = False
        if encoding in ("gzip", "x-gzip"):
            self._zlib = zlib.decompressobj(zlib.MAX_WBITS | 16)
        elif encoding == "deflate":
            self._zlib = zlib.decompressobj(zlib.MAX_WBITS)
            self._first = True  # some servers send raw deflate without the zlib wrapper
        elif encoding not in ("", "identity"):
            raise UndecodableBodyError(
                f"a Content-Encoding that was not asked for ({encoding[:40]}): only gzip or deflate"
            )

    def decode(self, data: bytes, max_length: int) -> bytes:
        """At most `max_length` decoded bytes of `data` (more input left over means more)."""
        if self._zlib is None:
            return data
        try:
            return bytes(self._zlib.decompress(data, max_length))
        except zlib.error:
            if self._first:
                self._first = False
                self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
                return self.decode(data, max_length)
            raise UndecodableBodyError(f"the body is not valid {self.encoding} data") from None
        finally:
            self._first = False


def declared_length(response: httpx.Response) -> int | None:
    declared = response.headers.get("content-length")
    return int(declared) if declared is not None and declared.isdigit() else None


async def read_capped(response: httpx.Response, limit: int) -> bytes:
    """The decoded body of a response opened with `stream=True`, at most `limit` bytes, else
    `BodyTooLargeError` (before reading, when Content-Length already says so)."""
    declared = declared_length(response)
    if declared is not None and declared > limit:
        raise BodyTooLargeError(limit, declared)
    if response.is_stream_consumed:
        # Only an in-memory response (httpx.MockTransport) arrives already read and decoded.
        if len(response.content) > limit:
            raise BodyTooLargeError(limit)
        return response.content
    decoder = BoundedDecoder(response.headers.get("content-encoding", "").strip().lower())
    chunks: list[bytes] = []
    size = 0
    # Asking for one byte past what the cap leaves is enough to tell an oversized body, however
    # much its compressed chunk would inflate to.
    async for raw in response.aiter_raw():
        chunk = decoder.decode(raw, limit - size + 1)
        size += len(chunk)
        if size > limit:
            raise BodyTooLargeError(limit)
        chunks.append(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


__all__ = [
    "ACCEPT_ENCODING",
    "BodyTooLargeError",
    "BoundedDecoder",
    "UndecodableBodyError",
    "declared_length",
    "read_capped",
]
