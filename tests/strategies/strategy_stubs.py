"""Stand-ins the strategy tests share: deployments with a dummy provider and a settable LoadView."""

from __future__ import annotations

import httpx

from providers.base import Provider, ProviderSettings
from router.deployment import Deployment


class DummyProvider(Provider):
    """A provider that is never called: strategies only look at deployments."""

    name = "dummy"

    def url(self) -> str:
        return "http://127.0.0.1:9/v1/ocr"

    async def auth_headers(self, client: httpx.AsyncClient) -> dict[str, str]:
        return {}


def make_deployment(
    deployment_id: str, *, weight: float = 1.0, price_per_page: float | None = None
) -> Deployment:
    return Deployment(
        id=deployment_id,
        group="ocr",
        model="mistral/x",
        provider=DummyProvider(ProviderSettings(model="x")),
        weight=weight,
        price_per_page=price_per_page,
    )


class StubLoadView:
    """A LoadView whose figures the test sets directly."""

    def __init__(
        self,
        in_flight: dict[str, int] | None = None,
        seconds_per_page: dict[str, float] | None = None,
    ) -> None:
        self.in_flight_by_id: dict[str, int] = dict(in_flight or {})
        self.seconds_per_page_by_id: dict[str, float] = dict(seconds_per_page or {})

    def in_flight(self, deployment_id: str) -> int:
        return self.in_flight_by_id.get(deployment_id, 0)

    def seconds_per_page(self, deployment_id: str) -> float | None:
        return self.seconds_per_page_by_id.get(deployment_id)
