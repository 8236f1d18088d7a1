"""Extending the Router: a provider, a strategy and an async hook of one's own, and tags.

    python examples/extending.py

- `register_provider`: "gateway/<model>" now works wherever a model string does; this one speaks
  Mistral's dialect (a proxy in front of Mistral, say).
- `register_strategy`: "cheapest-first" is named in `routing_strategy` like a built-in one.
- An `async def` hook runs as a task of the router's loop: requests never wait for it.
- `tags=[...]` keeps a request to the deployments carrying one of them.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Callable, Sequence
from typing import ClassVar

from providers import register_provider
from providers.fake import FakeFleet, FakeProvider
from providers.mistral import MistralProvider
from providers.samples import make_pdf
from router import Router, RouterEvent, register_strategy
from router.deployment import Deployment
from router.strategies.base import LoadView


class Gateway(MistralProvider):
    name = "gateway"


class CheapestFirst:
    """Always the cheapest candidate (ties: the first listed)."""

    name: ClassVar[str] = "cheapest-first"

    def __init__(self, view: LoadView, *, rng: random.Random | None = None) -> None:
        self.view = view

    def choose(self, candidates: Sequence[Deployment]) -> Deployment:
        return min(candidates, key=lambda deployment: deployment.price_per_page or 0.0)

    def sample(
        self, pool: Sequence[Deployment], usable: Callable[[Deployment], bool]
    ) -> Deployment | None:
        return None  # no shortcut: the Router reads the whole tier and calls choose()


async def main() -> None:
    register_provider(Gateway)
    register_strategy(CheapestFirst.name, CheapestFirst)
    fleet = FakeFleet({"eu-gw": FakeProvider("mistral"), "us-gw": FakeProvider("mistral")})
    model_list = [
        {
            "model_name": "ocr",
            "model": "gateway/mistral-ocr-latest",
            "id": "eu-gw",
            "api_key": "example-key",
            "api_base": "https://eu-gw.fake",
            "price_per_page": 0.002,
            "tags": ["eu"],
        },
        {
            "model_name": "ocr",
            "model": "gateway/mistral-ocr-latest",
            "id": "us-gw",
            "api_key": "example-key",
            "api_base": "https://us-gw.fake",
            "price_per_page": 0.001,
            "tags": ["us"],
        },
    ]
    served: Counter[str] = Counter()

    async def count(event: RouterEvent) -> None:
        await asyncio.sleep(0)  # a push to a metrics service would go here
        if event.kind == "success":
            served[event.deployment_id] += 1

    async with Router(
        model_list, routing_strategy="cheapest-first", hooks=[count], transport=fleet.transport
    ) as router:
        for _ in range(3):
            await router.aocr("ocr", make_pdf(1))  # the cheapest: us-gw
        for _ in range(2):
            await router.aocr("ocr", make_pdf(1), tags=["eu"])  # kept in the EU
    print(f"served: {dict(sorted(served.items()))}")


if __name__ == "__main__":
    asyncio.run(main())
