"""Strategies as the Router runs them: shares counted at the fakes, load and latency followed."""

from __future__ import annotations

import asyncio

from router_helpers import KEY, fleet

from providers.fake import FakeProvider
from router.router import Router


def _fakes(*names: str, **options: object) -> dict[str, FakeProvider]:
    return {name: FakeProvider("mistral", api_key=KEY, **options) for name in names}  # type: ignore[arg-type]


async def test_round_robin_spreads_300_requests_exactly_evenly(png_bytes: bytes) -> None:
    fakes = _fakes("a", "b", "c")
    entries, transport = fleet(fakes)
    async with Router(entries, transport=transport, routing_strategy="round-robin") as router:
        await asyncio.gather(*(router.aocr("ocr", png_bytes) for _ in range(300)))
    assert [fake.request_count for fake in fakes.values()] == [100, 100, 100]


async def test_round_robin_respects_weights_1_2_3(png_bytes: bytes) -> None:
    fakes = _fakes("a", "b", "c")
    entries, transport = fleet(fakes, a={"weight": 1}, b={"weight": 2}, c={"weight": 3})
    async with Router(entries, transport=transport, routing_strategy="round-robin") as router:
        await asyncio.gather(*(router.aocr("ocr", png_bytes) for _ in range(300)))
    assert [fake.request_count for fake in fakes.values()] == [50, 100, 150]


async def test_least_busy_sends_new_requests_to_idle_deployments(png_bytes: bytes) -> None:
    fakes = {
        "slow": FakeProvider("mistral", api_key=KEY, latency=1.0),
        # A little latency keeps all six first requests in flight together (an in-process
        # answer with none would end before the next request is even routed).
        "idle1": FakeProvider("mistral", api_key=KEY, latency=0.01),
        "idle2": FakeProvider("mistral", api_key=KEY, latency=0.01),
    }
    entries, transport = fleet(fakes)
    async with Router(entries, transport=transport, routing_strategy="least-busy") as router:
        # Six at once spread two per deployment; the slow one keeps its two in flight.
        held = [asyncio.ensure_future(router.aocr("ocr", png_bytes)) for _ in range(6)]
        await asyncio.sleep(0.1)  # the idle ones have answered (0.01 s); the slow one takes 1 s
        assert fakes["idle1"].request_count + fakes["idle2"].request_count == 4
        assert router.health()["slow"].in_flight == 2
        for _ in range(20):
            response = await router.aocr("ocr", png_bytes)
            assert response.call_info is not None
            assert response.call_info.deployment_id != "slow"
        await asyncio.gather(*held)
    assert fakes["slow"].request_count == 2
    assert fakes["idle1"].request_count + fakes["idle2"].request_count == 24


async def test_lowest_latency_prefers_the_fast_deployment_and_still_probes_the_slow(
    png_bytes: bytes,
) -> None:
    fakes = {
        "fast": FakeProvider("mistral", api_key=KEY, latency=0.02),
        "slow": FakeProvider("mistral", api_key=KEY, latency=0.2),
    }
    entries, transport = fleet(fakes)
    async with Router(
        entries, transport=transport, routing_strategy="lowest-latency", seed=3
    ) as router:
        # Warm-up: both unmeasured, so neither may take everything.
        await asyncio.gather(*(router.aocr("ocr", png_bytes) for _ in range(10)))
        assert fakes["fast"].request_count >= 3
        assert fakes["slow"].request_count >= 3
        before = {name: fake.request_count for name, fake in fakes.items()}

        remaining = 200

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                await router.aocr("ocr", png_bytes)

        # Eleven requests at a time: the fast one's queue grows until the slow one is cheaper.
        await asyncio.gather(*(worker() for _ in range(11)))
    fast = fakes["fast"].request_count - before["fast"]
    slow = fakes["slow"].request_count - before["slow"]
    assert fast + slow == 200
    assert fast >= 180
    assert slow >= 1
