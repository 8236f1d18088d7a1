"""`FakeFleet`: a Router over several fake providers, in-process, in three lines.

Testing failover means several deployments, each failing in its own way. A fleet names each fake,
gives each a model_list entry (its name as the deployment id, a credential the fake accepts) and
one transport that sends each request to the fake its host names (`https://<name>.fake`), so a
Router serves them all without a socket:

```python
fleet = FakeFleet({"a": FakeProvider("mistral"), "b": FakeProvider("azure_ai", script=["503"])})
async with fleet.router(routing_strategy="least-busy") as router:
    response = await router.aocr("ocr", make_pdf(2))   # from providers.samples
fleet["b"].outcomes, fleet.transport.most_in_flight
```

`fleet.model_list(group=..., b={"weight": 2})` gives the entries alone (per-fake options by name),
to build a Router of one's own with `transport=fleet.transport`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import httpx

from providers.fake.provider import FakeProvider

if TYPE_CHECKING:
    from router.router import Router

FLEET_KEY = "fake-fleet-key-0123456789"  # the credential every entry carries

MODELS = {
    "mistral": "mistral/mistral-ocr-latest",
    "azure_ai": "azure_ai/mistral-ocr-4-0",
    "vertex_ai": "vertex_ai/mistral-ocr-2505",
}


def fleet_entry(
    name: str,
    fake: FakeProvider,
    *,
    group: str = "ocr",
    api_base: str | None = None,
    **options: Any,
) -> dict[str, Any]:
    """A model_list entry for `fake`: `name` as id, the fleet key (or a token) as credential."""
    credentials: dict[str, Any] = (
        {"vertex_project": "fleet-project", "token": FLEET_KEY}
        if fake.provider == "vertex_ai"
        else {"api_key": FLEET_KEY}
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
    """Sends each request to the fake named by its host (`<name>.fake`), counting how many are
    in flight on each fake (and the most seen at once)."""

    def __init__(self, fakes: Mapping[str, FakeProvider]) -> None:
        self._transports = {f"{name}.fake": fake.mock_transport() for name, fake in fakes.items()}
        self.in_flight: dict[str, int] = dict.fromkeys(fakes, 0)
        self.most_in_flight: dict[str, int] = dict.fromkeys(fakes, 0)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        transport = self._transports.get(request.url.host)
        if transport is None:
            raise httpx.ConnectError(f"no fake serves {request.url.host}", request=request)
        name = request.url.host.removesuffix(".fake")
        self.in_flight[name] += 1
        self.most_in_flight[name] = max(self.most_in_flight[name], self.in_flight[name])
        try:
            response = await transport.handle_async_request(request)
            await response.aread()
            return response
        finally:
            self.in_flight[name] -= 1


class FakeFleet(Mapping[str, FakeProvider]):
    """Named fakes behind one in-process transport (see the module docstring)."""

    def __init__(self, fakes: Mapping[str, FakeProvider]) -> None:
        self._fakes = dict(fakes)
        self.transport = HostTransport(self._fakes)

    def __getitem__(self, name: str) -> FakeProvider:
        return self._fakes[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._fakes)

    def __len__(self) -> int:
        return len(self._fakes)

    def model_list(self, *, group: str = "ocr", **per_fake: dict[str, Any]) -> list[dict[str, Any]]:
        """One entry per fake, in group `group`; `per_fake[name]` adds options to that entry."""
        unknown = set(per_fake) - set(self._fakes)
        if unknown:
            raise KeyError(f"no fake named {', '.join(sorted(unknown))} in the fleet")
        return [
            fleet_entry(name, fake, group=group, **per_fake.get(name, {}))
            for name, fake in self._fakes.items()
        ]

    def router(self, *, group: str = "ocr", **settings: Any) -> Router:
        """A Router over every fake of the fleet (group `group`), with `settings`."""
        from router.router import Router  # the Router imports `providers`: not at module level

        return Router(self.model_list(group=group), transport=self.transport, **settings)


__all__ = ["FLEET_KEY", "MODELS", "FakeFleet", "HostTransport", "fleet_entry"]
