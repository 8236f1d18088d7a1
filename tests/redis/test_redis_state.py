"""`RedisState` in one process against a real redis-server: an outage degrades to local state
without failing a request and resynchronises after; keys are namespaced, expiring and bounded;
exact windows under contention; the URL's password never shows."""

from __future__ import annotations

import asyncio
import logging
import time
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
    # budget's two windows, the ledger and the list of live processes: 300 requests made no
    # more keys than 3 would.
    assert len(keys) <= 4 * len(fakes) + 4
    assert {key for key, ttl in ttls.items() if ttl < 0} == {f"ocr-router:{router_name}:costs"}


NOW = 1_000.0  # the reservations' time, and the states' clock: the syncs prune by that clock


async def test_reservations_racing_for_the_last_slots_never_overbook(
    redis_server: RedisServer, router_name: str
) -> None:
    states = [RedisState(redis_server.url, name=router_name, clock=lambda: NOW) for _ in range(3)]
    try:

        async def reserve(state: RedisState) -> bool:
            return await state.reserve_window(
                "usage:d", NOW, 1, 2, max_requests=50, max_pages=None, window_seconds=60
            )

        # Syncs run among the reservations (as they do on a loaded machine, where 200 take
        # longer than the 0.5 s between syncs): they must not change what is granted.
        syncs = [asyncio.to_thread(states[i % 3].sync) for i in range(6)]
        outcomes = await asyncio.gather(
            *(reserve(states[i % 3]) for i in range(100)),
            *syncs,
            *(reserve(states[i % 3]) for i in range(100, 200)),
        )
        granted = [outcome for outcome in outcomes[:100] + outcomes[106:]]
        assert all(outcomes[100:106])  # every sync succeeded
        assert all(state.connected for state in states)  # exact: none decided locally
    finally:
        for state in states:
            state.close()

    assert sum(granted) == 50
    assert _booked(redis_server, router_name) == 50


def _booked(server: RedisServer, router_name: str) -> int:
    """The requests in the shared window `usage:d`, as Redis holds them."""
    client = redis.Redis.from_url(server.url)
    try:
        fields = client.hgetall(f"ocr-router:{router_name}:window:usage:d")
    finally:
        client.close()
    return sum(int(value) for name, value in fields.items() if name.startswith(b"r"))


async def test_a_reservation_whose_reply_is_lost_counts_once_and_never_overbooks(
    redis_server: RedisServer, router_name: str
) -> None:
    """Redis stalls (DEBUG SLEEP) longer than the client timeout while reservations race for
    the last slots: every call times out twice, although the server runs each one when it
    wakes. The processes decide locally, within their share; once Redis is back, the window
    holds exactly the reservations granted (none counted twice, none of the refused kept) and
    the rest of the quota is granted, no more."""
    now = time.time()  # the states' own clock (the default): a 60 s window outlives the test
    states = [RedisState(redis_server.url, name=router_name, timeout=0.2) for _ in range(3)]

    async def reserve(state: RedisState) -> bool:
        return await state.reserve_window(
            "usage:d", now, 1, 2, max_requests=50, max_pages=None, window_seconds=60
        )

    try:
        before = await asyncio.gather(*(reserve(states[i % 3]) for i in range(45)))
        for state in states * 2:  # each hears of the others and reads the 45
            assert state.sync()
        sleeper = redis_server.slow_for(1.5)
        stalled = await asyncio.gather(*(reserve(states[i % 3]) for i in range(30)))
        sleeper.join()
        assert not any(state.connected for state in states)  # they did decide locally
        for state in states:
            assert state.sync(timeout=15)
        resynced = _booked(redis_server, router_name)
        after = await asyncio.gather(*(reserve(states[i % 3]) for i in range(20)))
    finally:
        for state in states:
            state.close()

    assert sum(before) == 45
    assert 45 + sum(stalled) <= 50  # no overbooking while Redis stalled
    assert resynced == 45 + sum(stalled)  # each granted once, the refused not kept
    assert 45 + sum(stalled) + sum(after) == 50  # no slot lost either
    assert _booked(redis_server, router_name) == 50


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
