"""Fixtures for the config tests: a clean provider environment and YAML files on disk.

- every test starts with none of the providers' environment variables set, so a key found in
  the machine's environment can never make a test pass by accident;
- `write_yaml(text, mode=0o600)` writes a config file under `tmp_path` and returns its path.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

PROVIDER_ENVIRONMENT = (
    "MISTRAL_API_KEY",
    "AZURE_AI_API_KEY",
    "AZURE_AI_API_BASE",
    "VERTEXAI_PROJECT",
    "VERTEXAI_LOCATION",
)

WriteYaml = Callable[..., Path]


@pytest.fixture(autouse=True)
def clean_provider_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROVIDER_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def write_yaml(tmp_path: Path) -> WriteYaml:
    def write(text: str, *, name: str = "router.yaml", mode: int = 0o600) -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        os.chmod(path, mode)
        return path

    return write
