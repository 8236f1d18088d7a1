"""A fake OCR endpoint for the large-document benchmark: it reads each body and answers one
fixed, valid OCR response, doing nothing else per byte.

The project's fake (`ocr-router fake-server`) validates and page-counts every document, as a real
host would; here that would measure the fake, not the client. This one is a raw asyncio protocol:
it parses the request head, counts `Content-Length` bytes as they arrive (keeping none) and
answers, on keep-alive connections. Run it as `python large_fake.py` in its own process: it prints
`large fake listening on http://127.0.0.1:PORT`.
"""

from __future__ import annotations

import asyncio
import json
import sys

ANSWER = json.dumps(
    {
        "pages": [
            {
                "index": 0,
                "markdown": "# Page 1",
                "images": [],
                "dimensions": {"dpi": 200, "height": 2200, "width": 1700},
            }
        ],
        "model": "mistral-ocr-2512",
        "usage_info": {"pages_processed": 1, "doc_size_bytes": None},
    },
    separators=(",", ":"),
).encode()
RESPONSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
    + str(len(ANSWER)).encode()
    + b"\r\n\r\n"
    + ANSWER
)
_MAX_HEAD = 64 * 1024


class _Connection(asyncio.Protocol):
    def __init__(self) -> None:
        self._head = bytearray()
        self._remaining = -1  # body bytes still to come; -1 while reading the head
        self._transport: asyncio.WriteTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]  # a TCP transport writes

    def data_received(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            if self._remaining < 0:
                self._head += view
                end = self._head.find(b"\r\n\r\n")
                if end < 0:
                    if len(self._head) > _MAX_HEAD:
                        self._close()
                    return
                head, rest = bytes(self._head[:end]), bytes(self._head[end + 4 :])
                self._head.clear()
                self._remaining = _content_length(head)
                view = memoryview(rest)
            taken = min(self._remaining, len(view))
            self._remaining -= taken
            view = view[taken:]
            if self._remaining == 0:
                self._remaining = -1
                assert self._transport is not None
                self._transport.write(RESPONSE)

    def _close(self) -> None:
        if self._transport is not None:
            self._transport.close()


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
    return 0


async def main() -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Connection, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    print(f"large fake listening on http://127.0.0.1:{port}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
