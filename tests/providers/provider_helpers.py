"""Helpers shared by the provider tests: a recording `httpx.MockTransport`, sample documents,
a canned OCR answer and a DNS stub, so no test ever resolves or contacts a real host."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

PDF_BYTES = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< >>\n%%EOF\n"
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 17
PUBLIC_IP = "93.184.216.34"  # example.com's documented address: public, never contacted here

OCR_OK = {
    "pages": [
        {
            "index": 0,
            "markdown": "# Title\n\ntext",
            "images": [],
            "dimensions": {"dpi": 200, "height": 2200, "width": 1700},
        }
    ],
    "model": "mistral-ocr-2505",
    "document_annotation": None,
    "usage_info": {"pages_processed": 1, "doc_size_bytes": 1234},
}

Handler = Callable[[httpx.Request], "httpx.Response | Awaitable[httpx.Response]"]


class Recorder:
    """A MockTransport handler that keeps every request it answers."""

    def __init__(self, handler: Handler | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self._handler = handler

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self._handler is None:
            return httpx.Response(200, json=OCR_OK)
        answer = self._handler(request)
        if not isinstance(answer, httpx.Response):
            answer = await answer
        return answer

    @property
    def posts(self) -> list[httpx.Request]:
        return [request for request in self.requests if request.method == "POST"]

    def only_post_body(self) -> Any:
        assert len(self.posts) == 1
        return json.loads(self.posts[0].content)


def mock_client(handler: Handler | Recorder) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


def resolver_answering(*addresses: str, calls: list[str] | None = None) -> Any:
    """A DNS stub: every name resolves to `addresses`; `calls` records the names asked."""

    async def resolve(host: str) -> list[str]:
        if calls is not None:
            calls.append(host)
        return list(addresses)

    return resolve


async def resolver_that_must_not_be_called(host: str) -> list[str]:
    raise AssertionError(f"resolver called for {host}")
