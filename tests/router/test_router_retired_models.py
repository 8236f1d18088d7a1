"""A retired model's 404, over real sockets: the Router moves the request to another deployment
and cools the retired one for the long period (WIRE.md's status table), in a mixed group."""

from __future__ import annotations

import contextlib
import datetime
from typing import Any

import pytest
from router_helpers import KEY, FakeClock

from providers.fake import FakeProvider
from router.errors import NotFoundError
from router.router import NoDeploymentAvailableError, Router

MISTRAL_2505_RETIRES = datetime.date(2026, 5, 31)  # router.capabilities
AZURE_DOC_AI_2505_RETIRES = datetime.date(2026, 7, 15)
LONG = 300.0  # auth_cooldown_time: 401/403/404


def _entry(name: str, model: str, base_url: str) -> dict[str, Any]:
    return {"model_name": "ocr", "model": model, "id": name, "api_base": base_url, "api_key": KEY}


@contextlib.asynccontextmanager
async def _served(fakes: dict[str, tuple[FakeProvider, str]]) -> Any:
    """Each fake over real HTTP on 127.0.0.1; yields its model_list."""
    async with contextlib.AsyncExitStack() as stack:
        entries = []
        for name, (fake, model) in fakes.items():
            base_url = await stack.enter_async_context(fake.serve())
            entries.append(_entry(name, model, base_url))
        yield entries


async def test_a_model_serves_until_its_retirement_day_then_its_404_moves_the_request_and_cools_it(
    png_bytes: bytes,
) -> None:
    day_before = AZURE_DOC_AI_2505_RETIRES - datetime.timedelta(days=1)
    fakes = {
        "azure-retiring": (
            FakeProvider("azure_ai", api_key=KEY, today=day_before),
            "azure_ai/mistral-document-ai-2505",
        ),
        "azure-current": (FakeProvider("azure_ai", api_key=KEY), "azure_ai/mistral-ocr-4-0"),
        "mistral-current": (FakeProvider("mistral", api_key=KEY), "mistral/mistral-ocr-latest"),
    }
    retiring = fakes["azure-retiring"][0]
    clock = FakeClock()
    async with (
        _served(fakes) as entries,
        Router(
            entries, routing_strategy="round-robin", auth_cooldown_time=LONG, clock=clock
        ) as router,
    ):
        served_by = set()
        for _ in range(6):
            response = await router.aocr("ocr", png_bytes)
            assert response.call_info is not None
            served_by.add(response.call_info.deployment_id)
        assert served_by == set(fakes)  # the day before, the old model still serves
        assert retiring.outcomes == {"ok": 2}

        retiring.today = AZURE_DOC_AI_2505_RETIRES
        for _ in range(6):
            response = await router.aocr("ocr", png_bytes)
            assert response.call_info is not None
            assert response.call_info.deployment_id != "azure-retiring"
        assert retiring.outcomes == {"ok": 2, "retired": 1}  # tried once, then left alone
        health = router.health()["azure-retiring"]
        assert health.status == "cooling"
        assert health.cooldown_until == clock.now + LONG
        assert health.reason is not None and "NotFoundError 404" in health.reason
        assert router.health()["azure-current"].status == "healthy"
        assert router.health()["mistral-current"].status == "healthy"


async def test_a_group_of_only_retired_deployments_fails_with_the_404(png_bytes: bytes) -> None:
    fakes = {
        "mistral-2505": (FakeProvider("mistral", api_key=KEY), "mistral/mistral-ocr-2505"),
        "azure-2505": (
            FakeProvider("azure_ai", api_key=KEY),
            "azure_ai/mistral-document-ai-2505",
        ),
    }
    async with _served(fakes) as entries, Router(entries, num_retries=2) as router:
        with pytest.raises(NotFoundError) as raised:
            await router.aocr("ocr", png_bytes)
        assert raised.value.status_code == 404
        # Both were tried once, with their own host's 404, and are now cooled.
        assert [fake.outcomes for fake, _ in fakes.values()] == [{"retired": 1}, {"retired": 1}]
        with pytest.raises(NoDeploymentAvailableError):
            await router.aocr("ocr", png_bytes)
        assert [fake.request_count for fake, _ in fakes.values()] == [1, 1]
