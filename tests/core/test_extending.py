"""Extension points: a provider and a strategy of one's own, and tags that route."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

import pytest

import providers
import router.strategies
from providers.fake import FakeFleet, FakeProvider
from providers.mistral import MistralProvider
from providers.samples import make_pdf
from router import (
    ConfigError,
    InvalidRequestError,
    NoDeploymentAvailableError,
    Router,
    register_strategy,
)
from router.deployment import Deployment
from router.strategies.base import LoadView


@pytest.fixture(autouse=True)
def _registries_restored(monkeypatch: pytest.MonkeyPatch) -> None:
    """What a test registers is gone after it (the registries are process-wide)."""
    monkeypatch.setattr(providers, "_REGISTRY", dict(providers._REGISTRY))
    monkeypatch.setattr(
        router.strategies, "_STRATEGY_CLASSES", dict(router.strategies._STRATEGY_CLASSES)
    )


class Gateway(MistralProvider):
    """Mistral's dialect and key, at another host."""

    name = "gateway"


async def test_a_registered_provider_serves_through_a_router_and_a_config() -> None:
    fake = FakeProvider("mistral", api_key="gw-key")
    providers.register_provider(Gateway)
    entry = {
        "model_name": "ocr",
        "model": "gateway/mistral-ocr-latest",
        "api_key": "gw-key",
        "api_base": "https://gw.fake",
        "price_per_page": 0.002,
    }
    fleet = FakeFleet({"gw": fake})

    async with Router([entry], transport=fleet.transport) as routed:
        response = await routed.aocr("ocr", make_pdf(2))

    assert response.call_info.provider == "gateway"
    assert response.call_info.cost_usd == pytest.approx(0.004)
    assert fake.outcomes["ok"] == 1
    with pytest.raises(ConfigError, match="already registered"):
        providers.register_provider(Gateway)
    with pytest.raises(ConfigError, match="lower-case"):
        providers.register_provider(type("Bad", (Gateway,), {"name": "Bad Name"}))


def test_an_unregistered_provider_is_named_with_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown provider 'gateway'.*mistral, azure_ai"):
        Router([{"model_name": "ocr", "model": "gateway/m", "api_key": "k"}])


class LastListed:
    name = "last-listed"

    def __init__(self, view: LoadView, *, rng: random.Random | None = None) -> None:
        self.view = view

    def choose(self, candidates: Sequence[Deployment]) -> Deployment:
        return candidates[-1]

    def sample(
        self, pool: Sequence[Deployment], usable: Callable[[Deployment], bool]
    ) -> Deployment | None:
        return None  # the Router reads the whole tier and calls choose()


async def test_a_registered_strategy_is_named_like_a_built_in_one() -> None:
    register_strategy("Last_Listed", LastListed)  # names follow the built-in ones' rule
    fleet = FakeFleet({name: FakeProvider("mistral") for name in ("a", "b", "c")})

    async with fleet.router(routing_strategy="last-listed") as routed:
        served = {(await routed.aocr("ocr", make_pdf(1))).call_info.deployment_id for _ in range(5)}

    assert served == {"c"}
    assert routed.settings.routing_strategy == "last-listed"
    with pytest.raises(ConfigError, match="already defined"):
        register_strategy("least_busy", LastListed)


async def test_tags_keep_a_request_to_deployments_carrying_one_of_them() -> None:
    fleet = FakeFleet({name: FakeProvider("mistral") for name in ("eu-1", "eu-2", "us")})
    entries = fleet.model_list(
        **{"eu-1": {"tags": ["eu"]}, "eu-2": {"tags": ["eu", "gdpr"]}, "us": {"tags": ["us"]}}
    )

    async with Router(entries, transport=fleet.transport, seed=1) as routed:
        eu = {
            (await routed.aocr("ocr", make_pdf(1), tags=["eu"])).call_info.deployment_id
            for _ in range(20)
        }
        gdpr = (await routed.aocr("ocr", make_pdf(1), tags=["gdpr", "none"])).call_info
        untagged = {
            (await routed.aocr("ocr", make_pdf(1))).call_info.deployment_id for _ in range(30)
        }
        with pytest.raises(NoDeploymentAvailableError, match="carries none of the tags asia"):
            await routed.aocr("ocr", make_pdf(1), tags=["asia"])
        with pytest.raises(InvalidRequestError, match="tags must be a list"):
            await routed.aocr("ocr", make_pdf(1), tags="eu")  # type: ignore[arg-type]

    assert eu == {"eu-1", "eu-2"}
    assert gdpr.deployment_id == "eu-2"
    assert untagged == {"eu-1", "eu-2", "us"}
