"""Fixtures for the command-line tests: a clean provider environment.

Every test starts with none of the providers' environment variables set, so a key found in the
machine's environment can never make a test pass (or reach a real provider) by accident.
"""

from __future__ import annotations

import pytest

PROVIDER_ENVIRONMENT = (
    "MISTRAL_API_KEY",
    "AZURE_AI_API_KEY",
    "AZURE_AI_API_BASE",
    "VERTEXAI_PROJECT",
    "VERTEXAI_LOCATION",
    "OCR_ROUTER_CONFIG",
)


@pytest.fixture(autouse=True)
def clean_provider_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROVIDER_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
