"""Mistral's own OCR API (`POST https://api.mistral.ai/v1/ocr`).

The reference dialect: the request body is Mistral's schema unchanged, remote URLs and uploaded
`file_id`s are passed through (Mistral fetches them itself), and the key is a Bearer token.
Settings are resolved when the provider is built, so a missing key fails when the configuration
loads, not on the first request.
"""

from __future__ import annotations

import httpx
from pydantic import SecretStr

from providers.base import Provider, ProviderSettings

DEFAULT_API_BASE = "https://api.mistral.ai/v1"
API_KEY_ENV = "MISTRAL_API_KEY"


def mistral_ocr_url(api_base: str | None) -> str:
    """`{base}/ocr` when the base already ends in `/v1`, else `{base}/v1/ocr`."""
    base = (api_base or DEFAULT_API_BASE).rstrip("/")
    return f"{base}/ocr" if base.endswith("/v1") else f"{base}/v1/ocr"


class MistralProvider(Provider):
    """`mistral/<model>`: key from the deployment, else `$MISTRAL_API_KEY` (required)."""

    name = "mistral"

    def __init__(self, settings: ProviderSettings) -> None:
        super().__init__(settings)
        key = settings.api_key.get_secret_value() if settings.api_key else self.env(API_KEY_ENV)
        self._api_key = SecretStr(self.require(key, "API key", API_KEY_ENV))
        self._extra_secrets.append(self._api_key.get_secret_value())
        self._url = self.checked_url(mistral_ocr_url(settings.api_base))

    def url(self) -> str:
        return self._url

    async def auth_headers(self, client: httpx.AsyncClient) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._api_key.get_secret_value()}"}


__all__ = ["API_KEY_ENV", "DEFAULT_API_BASE", "MistralProvider", "mistral_ocr_url"]
