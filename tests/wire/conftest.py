"""The `document_host` fixture: a loopback HTTP server holding the documents that Azure and Vertex
requests name by URL, so the providers' download-and-inline step runs over a real socket too."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from loopback_site import serving


@dataclass
class DocumentHost:
    """Where the documents are (`url("report.pdf")`) and the headers of each download received."""

    base_url: str
    downloads: list[dict[str, str]] = field(default_factory=list)

    def url(self, name: str) -> str:
        return f"{self.base_url}/{name}"


@pytest.fixture
async def document_host(pdf_bytes: bytes, png_bytes: bytes) -> AsyncIterator[DocumentHost]:
    """Serves `/report.pdf` (the 3-page `pdf_bytes`) and `/scan.png` (`png_bytes`) on 127.0.0.1."""
    documents = {
        "/report.pdf": (pdf_bytes, "application/pdf"),
        "/scan.png": (png_bytes, "image/png"),
    }
    downloads: list[dict[str, str]] = []

    async def serve(request: web.Request) -> web.Response:
        downloads.append({name.lower(): value for name, value in request.headers.items()})
        if request.path not in documents:
            return web.Response(status=404)
        content, content_type = documents[request.path]
        return web.Response(body=content, content_type=content_type)

    app = web.Application()
    app.router.add_get("/{name}", serve)
    async with serving(app, access_log=False) as base:
        yield DocumentHost(base, downloads)
