"""Identical requests in flight together are sent once; the others get its answer from the cache."""

from __future__ import annotations

import asyncio

import pytest
from cache_helpers import KEY, fleet

from providers.fake import FakeProvider
from router.errors import RequestTimeoutError, UnprocessableEntityError
from router.router import Router


async def test_identical_requests_arriving_together_are_sent_and_paid_once(
    png_bytes: bytes,
) -> None:
    fake = FakeProvider("mistral", api_key=KEY, latency=0.05)
    entries, transport = fleet({"a": fake})
    async with Router(entries, transport=transport, cache="memory") as router:
        answers = await asyncio.gather(*(router.aocr("ocr", png_bytes) for _ in range(5)))
        costs = router.costs()
        assert router.cache is not None and len(router.cache.in_flight) == 0
    assert fake.request_count == 1
    assert sorted(a.call_info.cached for a in answers if a.call_info) == [False] + [True] * 4
    assert costs.total.requests == 1 and costs.cached.requests == 4


async def test_when_the_leader_fails_the_others_go_out_themselves(png_bytes: bytes) -> None:
    fake = FakeProvider("mistral", api_key=KEY, latency=0.05, script=["422"])
    entries, transport = fleet({"a": fake})
    async with Router(entries, transport=transport, cache="memory") as router:
        answers = await asyncio.gather(
            *(router.aocr("ocr", png_bytes) for _ in range(4)), return_exceptions=True
        )
    failures = [a for a in answers if isinstance(a, BaseException)]
    assert len(failures) == 1 and isinstance(failures[0], UnprocessableEntityError)
    assert fake.request_count == 4


async def test_an_answer_too_large_to_keep_lets_every_follower_go_out(png_bytes: bytes) -> None:
    fake = FakeProvider("mistral", api_key=KEY, latency=0.05)
    entries, transport = fleet({"a": fake})
    settings = {"cache": "memory", "cache_max_entry_bytes": 200}
    async with Router(entries, transport=transport, **settings) as router:
        answers = await asyncio.gather(*(router.aocr("ocr", png_bytes) for _ in range(3)))
    assert fake.request_count == 3
    assert not any(a.call_info and a.call_info.cached for a in answers)


async def test_a_follower_waits_no_longer_than_its_own_deadline(png_bytes: bytes) -> None:
    fake = FakeProvider("mistral", api_key=KEY, latency=0.3)
    entries, transport = fleet({"a": fake})
    async with Router(entries, transport=transport, cache="memory") as router:
        leader = asyncio.ensure_future(router.aocr("ocr", png_bytes))
        await asyncio.sleep(0.02)
        with pytest.raises(RequestTimeoutError, match="identical request"):
            await router.aocr("ocr", png_bytes, timeout=0.05)
        first = await leader
        refreshed = await router.aocr("ocr", png_bytes, cache="refresh")
    assert first.call_info is not None and not first.call_info.cached
    assert refreshed.call_info is not None and not refreshed.call_info.cached
    assert fake.request_count == 2
