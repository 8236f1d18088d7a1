"""Helpers for the fake-provider tests: each dialect's route, request bodies, credentials."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Mapping
from typing import Any, Protocol

import httpx

from providers.fake import FakeProvider
from providers.samples import make_pdf, make_png

KEY = "fake-key-123"
ROUTES = {
    "mistral": "/v1/ocr",
    "azure_ai": "/providers/mistral/azure/ocr?api-version=2024-05-01-preview",
    "vertex_ai": "/v1/projects/demo/locations/us-central1/publishers/mistralai/models/"
    "mistral-ocr-2505:rawPredict",
}
PROVIDERS = tuple(ROUTES)


def pdf_uri(pages: int = 3) -> str:
    return "data:application/pdf;base64," + base64.b64encode(make_pdf(pages)).decode()


def png_uri() -> str:
    return "data:image/png;base64," + base64.b64encode(make_png()).decode()


# Each host's current model (router.capabilities), for bodies with the newer fields.
CURRENT_MODELS = {
    "mistral": "mistral-ocr-4-1",
    "azure_ai": "mistral-ocr-4-0",
    "vertex_ai": "mistral-ocr-2505",
}


def body(document_url: str | None = None, **params: Any) -> dict[str, Any]:
    """A valid request body for every dialect (a 3-page PDF data URI unless told otherwise)."""
    return {
        "model": "mistral-ocr-2512",
        "document": {"type": "document_url", "document_url": document_url or pdf_uri()},
        **params,
    }


def auth(key: str = KEY) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


class Send(Protocol):
    def __call__(
        self,
        fake: FakeProvider,
        json: Any = None,
        *,
        path: str | None = None,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
    ) -> Awaitable[httpx.Response]: ...
