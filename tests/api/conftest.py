"""Fixtures for the ocr()/aocr() tests: a hermetic environment and the sample PDF as base64."""

from __future__ import annotations

import base64

import pytest


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
def base64_pdf(pdf_bytes: bytes) -> str:
    """The shared `pdf_bytes` sample, base64-encoded as the seed's example does."""
    return base64.b64encode(pdf_bytes).decode("utf-8")
