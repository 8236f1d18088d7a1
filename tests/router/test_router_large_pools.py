"""Groups larger than `SAMPLE_ABOVE`: decisions sample the pool, with the same guarantees."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from router_helpers import KEY, fleet

from providers.fake import FakeProvider
from router import Router
from router.strategies import STRATEGY_NAMES
from router.strategies._sampling import SAMPLE_ABOVE

SIZE = 2 * SAMPLE_ABOVE


def _fleet_of(size: int, *, broken: int = 0) -> dict[str, FakeProvider]:
    """`size` fakes named d0, d1, ...; the first `broken` answer 401 (a wrong key) to all."""
    return {
        f"d{index}": FakeProvider("mistral", api_key=KEY if index >= broken else "other-key")
        for index in range(size)
    }


@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
async def test_a_large_group_spreads_its_traffic(strategy: str, png_bytes: bytes) -> None:
    fakes = _fleet_of(SIZE)
    entries, transport = fleet(fakes)
    for entry in entries:
        entry["price_per_page"] = 0.001
    async with Router(entries, transport=transport, routing_strategy=strategy, seed=1) as router:
        await asyncio.gather(*(router.aocr("ocr", png_bytes) for _ in range(4 * SIZE)))
    used = sum(1 for fake in fakes.values() if fake.request_count)
    assert sum(fake.request_count for fake in fakes.values()) == 4 * SIZE
    assert used > SIZE // 2  # not a handful of favourites


@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
async def test_the_last_healthy_deployment_of_a_large_group_is_found(
    strategy: str, png_bytes: bytes
) -> None:
    # All but one have a wrong key: they fail once each and cool down for minutes; sampling
    # then misses the one left, and the exact pass must still find it.
    fakes = _fleet_of(SIZE, broken=SIZE - 1)
    entries, transport = fleet(fakes)
    async with Router(
        entries,
        transport=transport,
        routing_strategy=strategy,
        num_retries=SIZE,
        retry_budget_min_per_second=1_000,  # this test is about finding it, not about budgets
        seed=2,
    ) as router:
        for _ in range(20):
            response = await router.aocr("ocr", png_bytes, timeout=30)
            assert response.call_info is not None
            assert response.call_info.deployment_id == f"d{SIZE - 1}"
    # Each broken one was tried at most once: cooled deployments are never sampled again.
    assert all(fake.request_count <= 1 for name, fake in fakes.items() if name != f"d{SIZE - 1}")


async def test_a_large_first_tier_keeps_the_next_tier_idle(png_bytes: bytes) -> None:
    fakes = _fleet_of(SIZE + 2)
    entries, transport = fleet(fakes)
    for entry in entries[SIZE:]:
        entry["priority"] = 1
    async with Router(entries, transport=transport) as router:
        await asyncio.gather(*(router.aocr("ocr", png_bytes) for _ in range(300)))
    assert [fakes[f"d{SIZE}"].request_count, fakes[f"d{SIZE + 1}"].request_count] == [0, 0]


async def test_a_request_that_failed_on_one_deployment_goes_to_another(
    png_bytes: bytes,
) -> None:
    fakes = {
        f"d{index}": FakeProvider("mistral", api_key=KEY, faults={"500": 0.3}, seed=index)
        for index in range(SIZE)
    }
    entries, transport = fleet(fakes)
    async with Router(
        entries,
        transport=transport,
        num_retries=8,
        allowed_fails=1_000,
        retry_budget_min_per_second=1_000,
        seed=3,
    ) as router:
        responses = await asyncio.gather(
            *(router.aocr("ocr", png_bytes, timeout=30) for _ in range(200))
        )
    for response in responses:
        assert response.call_info is not None
        tried = Counter(attempt.deployment_id for attempt in response.call_info.attempts)
        assert max(tried.values()) == 1  # plenty of others: never the same one twice
