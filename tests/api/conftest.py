"""Fixtures for the ocr()/aocr() tests: hermetic environment, a distinctive key, sample PDFs."""

from __future__ import annotations

import base64

import pytest
from api_samples import SAMPLE_PAGES

from providers.samples import make_pdf


@pytest.fixture(autouse=True)
def _no_provider_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests decide which variables exist: a developer's real keys must never leak in.
    for name in (
        "MISTRAL_API_KEY",
        "AZURE_AI_API_KEY",
        "AZURE_AI_API_BASE",
        "VERTEXAI_PROJECT",
        "VERTEXAI_LOCATION",
        "GOOGLE_APPLICATION_CREDENTIALS",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def pdf_bytes() -> bytes:
    return make_pdf(SAMPLE_PAGES, title="ocr-router sample")


@pytest.fixture(scope="session")
def base64_pdf(pdf_bytes: bytes) -> str:
    return base64.b64encode(pdf_bytes).decode("utf-8")
