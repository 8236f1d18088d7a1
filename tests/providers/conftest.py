"""Keeps the provider tests hermetic: no real provider variables from the developer's shell."""

from __future__ import annotations

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
