"""`RedisState` in one process against a real redis-server: an outage degrades to local state
without failing a request and resynchronises after; keys are namespaced, expiring and bounded;
exact windows under contention; the URL's password never shows."""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal
from typing import Any

import pytest
import redis
from redis_helpers import KEY, RedisServer, mistral

from providers.fake import FakeProvider
from providers.samples import make_png
from router import Router
from router.config import RouterSettings
from router.state.redis import RedisState


async def test_a_redis_outage_fails_no_request_and_state_is_shared_again_after(
    fake_server: Any,
    own_redis_server: RedisServer,
    router_name: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    good = FakeProvider("mistral", api_key=KEY)
    refusing = FakeProvider("mistral", api_key=KEY, faults={"401": 1.0})
    model_list = [
        mistral("good", await fake_server(good), rpm=10_000),  # a quota: reserve_window's path
        mistral("refusing", await fake_server(refusing)),
    ]
    document = make_png()
    state = RedisState(own_redis_server.url, name=router_name, deployments=["good", "refusing"])
    caplog.set_level(logging.WARNING, logger="ocr_router.state.redis")
    try:
        async with Router(model_list, state=state, name=router_name) as router:
            for _ in range(10):
                await router.aocr("ocr", document, pages=[0])
            assert state.sync() and state.connected

            own_redis_server.stop()
            # Every request succeeds with Redis gone; a 401 (now or before) cooled "refusing".
            answers = [await router.aocr("ocr", document, timeout=5) for _ in range(40)]
            assert all(answer.call_info is not None for answer in answers)
            assert not state.connected
            assert refusing.request_count == 1
            assert router.health()["refusing"].status == "cooling"

            own_redis_server.start()  # the same port, and empty
            assert state.sync(timeout=15)
        degraded = [r for r in caplog.records if "Redis unreachable" in r.getMessage()]
        back = [r for r in caplog.records if "Redis is back" in r.getMessage()]
        assert len(degraded) == 1  # logged once per outage, not per request
        assert len(back) == 1

        # Redis came back empty; a router starting now reads what the first re-pushed: the
        # cooldown, and the costs of every request it served: the 40 while Redis was away and
        # the 10 before, which the restart had erased (the live process pushes them again).
        async with Router(model_list, state=own_redis_server.url, name=router_name) as other:
            assert other.health()["refusing"].status == "cooling"
            assert other.costs().total.requests == 50
            for _ in range(20):
                await other.aocr("ocr", document)
        assert refusing.request_count == 1
    finally:
        state.close()


async def test_keys_are_namespaced_expiring_and_bounded(
    fake_server: Any, redis_server: RedisServer, router_name: str
) -> None:
    fakes = {name: FakeProvider("mistral", api_key=KEY) for name in ("a", "b", "c")}
    model_list = [
        mistral(name, await fake_server(fake), rpm=100_000, pages_per_minute=1_000_000)
        for name, fake in fakes.items()
    ]
    document = make_png()
    async with Router(model_list, state=redis_server.url, name=router_name) as router:
        for _ in range(300):
            await router.aocr("ocr", document)
    client = redis.Redis.from_url(redis_server.url)
    try:
        keys = sorted(key.decode() for key in client.keys(f"ocr-router:{router_name}:*"))
        ttls = {key: client.pttl(key) for key in keys}
    finally:
        client.close()

    assert all(key.startswith(f"ocr-router:{router_name}:") for key in keys)
    # Per deployment at most health, in flight, latency and its quota window; plus the retry
    # budget's two windows and the ledger: 300 requests made no more keys than 3 would.
    assert len(keys) <= 4 * len(fakes) + 3
    assert {key for key, ttl in ttls.items() if ttl < 0} == {f"ocr-router:{router_name}:costs"}


async def test_reservations_racing_for_the_last_slots_never_overbook(
    redis_server: RedisServer, router_name: str
) -> None:
    states = [RedisState(redis_server.url, name=router_name) for _ in range(3)]
    try:

        async def reserve(state: RedisState) -> bool:
            return await state.reserve_window(
                "usage:d", 1_000.0, 1, 2, max_requests=50, max_pages=None, window_seconds=60
            )

        granted = await asyncio.gather(*(reserve(states[i % 3]) for i in range(200)))
    finally:
        for state in states:
            state.close()

    assert sum(granted) == 50


def test_the_url_password_never_shows(router_name: str, caplog: pytest.LogCaptureFixture) -> None:
    password = "redis-pw-9d1c0ffee"
    # Nothing listens on port 1: the state degrades and logs it, which must not show the URL.
    url = f"redis://:{password}@127.0.0.1:1/0"
    settings = RouterSettings.model_validate({"redis_url": url})
    caplog.set_level(logging.WARNING, logger="ocr_router.state.redis")
    state = RedisState(url, name=router_name, timeout=0.2)
    try:
        shown = [repr(settings), str(settings), repr(state), settings.model_dump_json()]
    finally:
        state.close()
    logged = [record.getMessage() for record in caplog.records]

    assert any("Redis unreachable" in message for message in logged)
    assert not [text for text in shown + logged if password in text]


def test_litellm_redis_parts_become_one_url() -> None:
    settings = RouterSettings.model_validate(
        {"redis_host": "cache", "redis_port": 6380, "redis_password": "p@ss", "redis_db": 2}
    )

    assert settings.redis_url is not None
    assert settings.redis_url.get_secret_value() == "redis://:p%40ss@cache:6380/2"


def test_cost_totals_are_exact_to_the_picodollar(
    redis_server: RedisServer, router_name: str
) -> None:
    writers = [RedisState(redis_server.url, name=router_name) for _ in range(2)]
    try:
        for index in range(1000):
            writers[index % 2].add_cost(("deployment:a",), 1, Decimal("0.000000000001"))
        for writer in (*writers, writers[0]):  # the first reads again after the second pushed
            assert writer.sync()
        totals = writers[0].cost_totals()["deployment:a"]
    finally:
        for writer in writers:
            writer.close()

    assert totals.requests == 1000
    assert totals.usd == Decimal("0.000000001")
