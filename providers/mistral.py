"""Mistral's own OCR API (`POST https://api.mistral.ai/v1/ocr`).

The reference dialect: the request body is Mistral's schema unchanged, remote URLs and uploaded
`file_id`s are passed through (Mistral fetches them itself), and the key is a Bearer token.
Settings are resolved when the provider is built, so a missing key fails when the configuration
loads, not on the first request.

A `file_id` that answers 404 is the request's `FileIdNotFoundError` (router/errors.py), which
cools nothing and goes to no other deployment. Because a file may answer 404 for a moment just
after its upload (a field report), that 404 is retried on the same deployment after
`FILE_ID_RETRY_DELAYS` (0.5 s, then 1 s): the usual upload-then-OCR flow gets its answer instead
of an error, and a wrong id costs at most two more calls (a 404 is not billed) and 1.5 s more.
The retries stay inside the call's `timeout`: one that would not fit is not made, so the caller
gets the file's 404, never a timeout that would cool the deployment.
"""

from __future__ import annotations

import time

import httpx
from pydantic import SecretStr

from providers.base import Provider, ProviderSettings
from router.errors import FileIdNotFoundError
from router.retry import backoff_sleep
from router.types import OCRRequest, OCRResponse

DEFAULT_API_BASE = "https://api.mistral.ai/v1"
API_KEY_ENV = "MISTRAL_API_KEY"
# The waits before asking again about a `file_id` that answered 404 (see the module docstring).
FILE_ID_RETRY_DELAYS = (0.5, 1.0)


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

    async def send(
        self, request: OCRRequest, client: httpx.AsyncClient, *, timeout: float | None = None
    ) -> OCRResponse:
        """One call; a `file_id` that answers 404 is asked about again, briefly (see above)."""
        limit = timeout if timeout is not None else self.settings.timeout
        started = time.monotonic()

        def left() -> float | None:
            return None if limit is None else limit - (time.monotonic() - started)

        for number, delay in enumerate(FILE_ID_RETRY_DELAYS):
            attempt_started = time.monotonic()
            try:
                # The first call has the whole timeout; a retry has what is left of it.
                return await super().send(request, client, timeout=left() if number else timeout)
            except FileIdNotFoundError:
                remaining = left()
                # Room for the wait and for another call as long as this one took, twice over.
                needed = delay + 2 * (time.monotonic() - attempt_started)
                if remaining is not None and remaining <= needed:
                    raise
            await backoff_sleep(delay)
        return await super().send(request, client, timeout=left())


__all__ = [
    "API_KEY_ENV",
    "DEFAULT_API_BASE",
    "FILE_ID_RETRY_DELAYS",
    "MistralProvider",
    "mistral_ocr_url",
]
