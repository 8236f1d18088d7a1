"""A Router over in-process fakes, for the cache tests (each fake named by its host)."""

from __future__ import annotations

from typing import Any

import httpx

from providers.fake import FakeProvider

KEY = "cache-test-key-7f3Qz9Lm"
MODELS = {
    "mistral": "mistral/mistral-ocr-latest",
    "azure_ai": "azure_ai/mistral-document-ai-2512",
}


class HostTransport(httpx.AsyncBaseTransport):
    """Sends each request to the fake named by its host (`https://<name>.fake`)."""

    def __init__(self, fakes: dict[str, FakeProvider]) -> None:
        self._transports = {f"{name}.fake": fake.mock_transport() for name, fake in fakes.items()}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._transports[request.url.host].handle_async_request(request)


def fleet(
    fakes: dict[str, FakeProvider], *, group: str = "ocr"
) -> tuple[list[dict[str, Any]], HostTransport]:
    """model_list entries (id = the fake's name, all in `group`) and the transport to them."""
    entries = [
        {
            "model_name": group,
            "model": MODELS[fake.provider],
            "id": name,
            "api_base": f"https://{name}.fake",
            "api_key": KEY,
        }
        for name, fake in fakes.items()
    ]
    return entries, HostTransport(fakes)


def mistral() -> FakeProvider:
    return FakeProvider("mistral", api_key=KEY)
