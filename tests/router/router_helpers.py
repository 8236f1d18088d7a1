"""Helpers for the Router tests: fake fleets in-process, a fake clock.

`fleet({"a": FakeProvider("mistral"), ...}, group="ocr", a={"weight": 2})` gives model_list
entries (one per fake, with id = its name) plus one transport that sends each request to the
fake named by its host (`https://a.fake`), so a Router serves several fakes in-process.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from providers.fake import FakeProvider

KEY = "router-test-key-0123456789"

MODELS = {
    "mistral": "mistral/mistral-ocr-latest",
    "azure_ai": "azure_ai/mistral-ocr-4-0",
    "vertex_ai": "vertex_ai/mistral-ocr-2505",
}


def entry(
    name: str,
    fake: FakeProvider,
    *,
    group: str = "ocr",
    api_base: str | None = None,
    **options: Any,
) -> dict[str, Any]:
    """A model_list entry for `fake`, with the fleet key as its credential and `name` as id."""
    credentials: dict[str, Any] = (
        {"vertex_project": "p-1", "token": KEY}
        if fake.provider == "vertex_ai"
        else {"api_key": KEY}
    )
    return {
        "model_name": group,
        "model": MODELS[fake.provider],
        "id": name,
        "api_base": api_base or f"https://{name}.fake",
        **credentials,
        **options,
    }


class HostTransport(httpx.AsyncBaseTransport):
    """Sends each request to the fake named by its host, counting concurrency per fake."""

    def __init__(self, fakes: Mapping[str, FakeProvider]) -> None:
        self._transports = {f"{name}.fake": fake.mock_transport() for name, fake in fakes.items()}
        self.in_flight: dict[str, int] = dict.fromkeys(fakes, 0)
        self.most_in_flight: dict[str, int] = dict.fromkeys(fakes, 0)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        name = request.url.host.removesuffix(".fake")
        self.in_flight[name] += 1
        self.most_in_flight[name] = max(self.most_in_flight[name], self.in_flight[name])
        try:
            response = await self._transports[request.url.host].handle_async_request(request)
            await response.aread()
            return response
        finally:
            self.in_flight[name] -= 1


def fleet(
    fakes: Mapping[str, FakeProvider], *, group: str = "ocr", **per_fake: dict[str, Any]
) -> tuple[list[dict[str, Any]], HostTransport]:
    entries = [
        entry(name, fake, group=group, **per_fake.get(name, {})) for name, fake in fakes.items()
    ]
    return entries, HostTransport(fakes)


class FakeClock:
    """A clock that moves only when told to (for cooldowns measured in seconds)."""

    def __init__(self, start: float = 1_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
