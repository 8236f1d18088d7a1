"""Fixtures for the Batch API tests: fake Mistral servers on 127.0.0.1, no keys from the machine."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from router.retry import instant_backoff


@pytest.fixture(autouse=True)
def _instant_backoff() -> Iterator[None]:
    with instant_backoff():
        yield


@pytest.fixture(autouse=True)
def _no_provider_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MISTRAL_API_KEY", "AZURE_AI_API_KEY", "AZURE_AI_API_BASE", "VERTEXAI_PROJECT"):
        monkeypatch.delenv(name, raising=False)
