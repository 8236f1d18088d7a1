"""Retries, failover, cooldowns and the circuit, as the issue's acceptance tests state them."""

from __future__ import annotations

import asyncio
import math
import time

import pytest
from router_helpers import KEY, FakeClock, entry, fleet

from providers.fake import FakeProvider
from router.errors import (
    AuthenticationError,
    BadRequestError,
    InvalidRequestError,
    RateLimitError,
    ServerError,
    UnprocessableEntityError,
)
from router.events import RouterEvent
from router.router import NoDeploymentAvailableError, Router, UnknownModelError


def _fake(**options: object) -> FakeProvider:
    return FakeProvider("mistral", api_key=KEY, **options)  # type: ignore[arg-type]


async def test_failover_serves_every_request_and_keeps_the_failing_one_cooled(
    png_bytes: bytes,
) -> None:
    fakes = {"good1": _fake(), "good2": _fake(), "bad": _fake(faults={"500": 1.0})}
    entries, transport = fleet(fakes)
    cooldown = 0.05
    router = Router(
        entries,
        transport=transport,
        routing_strategy="round-robin",
        allowed_fails=3,
        cooldown_time=cooldown,
        half_open_probes=1,
    )
    started = time.monotonic()
    async with router:
        for _ in range(1000):
            response = await router.aocr("ocr", png_bytes)
            assert response.call_info is not None
            assert response.call_info.deployment_id != "bad"
    elapsed = time.monotonic() - started
    # allowed_fails to trip it, then at most one probe per cooldown period (periods double).
    bound = 3 + math.ceil(elapsed / cooldown) + 1
    assert fakes["bad"].request_count <= bound
    assert fakes["good1"].request_count + fakes["good2"].request_count == 1000


async def test_failover_under_concurrency_stays_within_the_bound_plus_the_requests_in_flight(
    png_bytes: bytes,
) -> None:
    fakes = {"good1": _fake(), "good2": _fake(), "bad": _fake(faults={"500": 1.0})}
    entries, transport = fleet(fakes)
    cooldown, workers, remaining = 0.05, 10, 1000
    router = Router(entries, transport=transport, allowed_fails=3, cooldown_time=cooldown)

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await router.aocr("ocr", png_bytes)

    started = time.monotonic()
    async with router:
        await asyncio.gather(*(worker() for _ in range(workers)))
    elapsed = time.monotonic() - started
    # Requests already on their way when it trips also fail there: at most one per other worker.
    bound = 3 + (workers - 1) + math.ceil(elapsed / cooldown) + 1
    assert fakes["bad"].request_count <= bound
    assert fakes["good1"].request_count + fakes["good2"].request_count == 1000


async def test_retry_never_resends_to_a_deployment_that_failed_this_request(
    png_bytes: bytes,
) -> None:
    fakes = {"bad1": _fake(faults={"500": 1.0}), "bad2": _fake(faults={"503": 1.0}), "ok": _fake()}
    entries, transport = fleet(fakes)
    async with Router(
        entries,
        transport=transport,
        allowed_fails=1000,  # keep both failing deployments in rotation
        num_retries=5,
        retry_budget_ratio=3.0,  # two failing of three: up to two retries per request
    ) as router:
        responses = await asyncio.gather(*(router.aocr("ocr", png_bytes) for _ in range(60)))
    for response in responses:
        assert response.call_info is not None
        tried = [attempt.deployment_id for attempt in response.call_info.attempts]
        assert len(tried) == len(set(tried)), tried
        assert tried[-1] == "ok"
    assert fakes["ok"].request_count == 60


async def test_retry_on_a_sibling_does_not_back_off(
    png_bytes: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    slept: list[float] = []

    async def record(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr("router.router.backoff_sleep", record)
    fakes = {"bad": _fake(faults={"500": 1.0}), "ok": _fake()}
    entries, transport = fleet(fakes)
    async with Router(
        entries,
        transport=transport,
        routing_strategy="round-robin",
        backoff_initial=10.0,
        backoff_max=10.0,
        allowed_fails=1000,
    ) as router:
        first = await router.aocr("ocr", png_bytes)
    assert first.call_info is not None
    assert [a.deployment_id for a in first.call_info.attempts] == ["bad", "ok"]
    assert slept == [0.0]


async def test_retry_on_the_only_deployment_backs_off(
    png_bytes: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    slept: list[float] = []

    async def record(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr("router.router.backoff_sleep", record)
    fakes = {"flaky": _fake(script=["500", "ok"])}
    entries, transport = fleet(fakes)
    async with Router(entries, transport=transport, backoff_initial=2.0, backoff_max=4.0) as router:
        response = await router.aocr("ocr", png_bytes)
    assert response.call_info is not None
    assert len(response.call_info.attempts) == 2
    assert len(slept) == 1
    assert 0.0 <= slept[0] <= 2.0  # full jitter: anywhere up to the first exponential step


async def test_429_keeps_the_deployment_out_until_its_retry_after(png_bytes: bytes) -> None:
    clock = FakeClock()
    fakes = {"limited": _fake(script=["429:2"]), "other": _fake()}
    entries, transport = fleet(fakes)
    async with Router(
        entries, transport=transport, routing_strategy="round-robin", clock=clock
    ) as router:
        first = await router.aocr("ocr", png_bytes)
        assert first.call_info is not None
        assert [a.deployment_id for a in first.call_info.attempts] == ["limited", "other"]
        assert router.health()["limited"].cooldown_until == clock.now + 2
        for _ in range(10):
            await router.aocr("ocr", png_bytes)
        clock.advance(1.99)
        for _ in range(10):
            await router.aocr("ocr", png_bytes)
        assert fakes["limited"].request_count == 1
        clock.advance(0.02)
        for _ in range(4):
            await router.aocr("ocr", png_bytes)
    assert fakes["limited"].request_count > 1
    assert router.health()["limited"].status == "healthy"


async def test_a_longer_retry_after_extends_the_cooldown_and_a_shorter_one_does_not(
    png_bytes: bytes,
) -> None:
    clock = FakeClock()
    # Three requests in flight at once on "limited": the answers come back 429 2 s, 5 s, 1 s.
    fakes = {"limited": _fake(script=["429:2", "429:5", "429:1"], latency=0.05), "other": _fake()}
    entries, transport = fleet(fakes)
    events: list[RouterEvent] = []
    async with Router(
        entries,
        transport=transport,
        routing_strategy="round-robin",
        clock=clock,
        hooks=[events.append],
    ) as router:
        await asyncio.gather(*(router.aocr("ocr", png_bytes) for _ in range(6)))
        assert fakes["limited"].request_count == 3
        assert router.health()["limited"].cooldown_until == clock.now + 5
    cooldowns = [e.cooldown_until for e in events if e.kind == "cooldown"]
    assert cooldowns == [clock.now + 2, clock.now + 5]  # the 1 s answer changed nothing


async def test_401_cools_the_deployment_for_the_long_period_and_the_request_succeeds_elsewhere(
    png_bytes: bytes,
) -> None:
    clock = FakeClock()
    fakes = {"wrong-key": FakeProvider("mistral", api_key="another-key-entirely"), "ok": _fake()}
    entries, transport = fleet(fakes)
    async with Router(
        entries,
        transport=transport,
        routing_strategy="round-robin",
        auth_cooldown_time=300,
        clock=clock,
    ) as router:
        response = await router.aocr("ocr", png_bytes)
        assert response.call_info is not None
        assert response.call_info.deployment_id == "ok"
        health = router.health()["wrong-key"]
        assert health.status == "cooling"
        assert health.cooldown_until == clock.now + 300
        assert health.reason is not None and "AuthenticationError 401" in health.reason
        clock.advance(299)
        for _ in range(5):
            await router.aocr("ocr", png_bytes)
    assert fakes["wrong-key"].request_count == 1


async def test_a_failed_half_open_probe_doubles_the_cooldown_up_to_the_cap(
    png_bytes: bytes,
) -> None:
    clock = FakeClock()
    fakes = {"bad": _fake(faults={"500": 1.0}), "ok": _fake()}
    entries, transport = fleet(fakes)
    async with Router(
        entries,
        transport=transport,
        routing_strategy="round-robin",
        allowed_fails=1,
        cooldown_time=10,
        auth_cooldown_time=30,
        max_cooldown_time=30,
        clock=clock,
    ) as router:
        periods = []
        await router.aocr("ocr", png_bytes)
        for _ in range(4):
            until = router.health()["bad"].cooldown_until
            assert until is not None
            periods.append(until - clock.now)
            clock.advance(until - clock.now)
            assert router.health()["bad"].status == "half-open"
            while router.health()["bad"].status == "half-open":
                await router.aocr("ocr", png_bytes)
    assert periods == [10, 20, 30, 30]


async def test_a_chain_of_three_providers_succeeds_on_the_last_over_real_sockets(
    png_bytes: bytes, fake_server
) -> None:
    mistral = FakeProvider("mistral", api_key=KEY, faults={"500": 1.0})
    azure = FakeProvider("azure_ai", api_key=KEY, faults={"503": 1.0})
    vertex = FakeProvider("vertex_ai", api_key=KEY)
    entries = [
        entry("m", mistral, group="ocr-mistral", api_base=await fake_server(mistral)),
        entry("a", azure, group="ocr-azure", api_base=await fake_server(azure)),
        entry("v", vertex, group="ocr-vertex", api_base=await fake_server(vertex)),
    ]
    async with Router(entries, fallbacks={"ocr-mistral": ["ocr-azure", "ocr-vertex"]}) as router:
        response = await router.aocr("ocr-mistral", png_bytes)
    info = response.call_info
    assert info is not None
    assert (info.group, info.deployment_id, info.provider) == ("ocr-vertex", "v", "vertex_ai")
    assert [(a.provider, a.error) for a in info.attempts] == [
        ("mistral", "ServerError 500"),
        ("azure_ai", "ServerError 503"),
        ("vertex_ai", None),
    ]
    assert (mistral.request_count, azure.request_count, vertex.request_count) == (1, 1, 1)


async def test_when_all_are_cooling_the_request_waits_for_the_first_to_return(
    png_bytes: bytes,
) -> None:
    fakes = {"a": _fake(script=["429:1"]), "b": _fake(script=["429:1"])}
    entries, transport = fleet(fakes)
    async with Router(entries, transport=transport) as router:
        response = await router.aocr("ocr", png_bytes, timeout=3)
    assert response.call_info is not None
    assert [a.error for a in response.call_info.attempts] == [
        "RateLimitError 429",
        "RateLimitError 429",
        None,
    ]


async def test_when_all_are_cooling_past_the_deadline_the_error_names_each_deployment(
    png_bytes: bytes,
) -> None:
    fakes = {"a": _fake(script=["429:1"]), "b": _fake(script=["429:1"])}
    entries, transport = fleet(fakes)
    async with Router(entries, transport=transport) as router:
        # The request that cools both fails with what the providers said, and why it stopped.
        with pytest.raises(RateLimitError) as first:
            await router.aocr("ocr", png_bytes, timeout=0.5)
        assert "a: RateLimitError 429" in str(first.value)
        assert "b: RateLimitError 429" in str(first.value)
        assert "no deployment of ocr can take the request" in str(first.value)
        # The next one finds both cooling, sends nothing, and names each deployment.
        with pytest.raises(NoDeploymentAvailableError) as caught:
            await router.aocr("ocr", png_bytes, timeout=0.5)
    assert fakes["a"].request_count + fakes["b"].request_count == 2
    error = caught.value
    assert error.status_code == 503
    assert set(error.unavailable) == {"a", "b"}
    message = str(error)
    for name in ("a", "b"):
        assert f"{name}: cooling (RateLimitError 429 (Retry-After 1s)), returns in" in message
    assert error.retry_after is not None and 0 < error.retry_after <= 1
    assert KEY not in message


async def test_400_fails_at_once_with_a_single_attempt(png_bytes: bytes) -> None:
    fakes = {"a": _fake(faults={"400": 1.0}), "b": _fake(faults={"400": 1.0})}
    entries, transport = fleet(fakes)
    async with Router(entries, transport=transport) as router:
        with pytest.raises(BadRequestError) as caught:
            await router.aocr("ocr", png_bytes)
    assert caught.value.status_code == 400
    assert fakes["a"].request_count + fakes["b"].request_count == 1
    assert all(h.status == "healthy" for h in router.health().values())


async def test_422_from_the_provider_fails_at_once_with_a_single_attempt(
    png_bytes: bytes,
) -> None:
    fakes = {"a": _fake(), "b": _fake()}
    entries, transport = fleet(fakes)
    async with Router(entries, transport=transport) as router:
        with pytest.raises(UnprocessableEntityError):
            await router.aocr("ocr", png_bytes, extra_body={"not_a_mistral_field": 1})
    assert fakes["a"].request_count + fakes["b"].request_count == 1


async def test_an_invalid_request_is_refused_before_anything_is_sent(png_bytes: bytes) -> None:
    fakes = {"a": _fake()}
    entries, transport = fleet(fakes)
    async with Router(entries, transport=transport) as router:
        with pytest.raises(InvalidRequestError):
            await router.aocr("ocr", png_bytes, not_a_parameter=True)
        with pytest.raises(InvalidRequestError, match="timeout"):
            await router.aocr("ocr", png_bytes, timeout=0)
        with pytest.raises(UnknownModelError) as caught:
            await router.aocr("no-such-group", png_bytes)
    assert "ocr" in str(caught.value)
    assert fakes["a"].request_count == 0


async def test_retry_budget_stops_a_retry_storm(png_bytes: bytes) -> None:
    fakes = {name: _fake(faults={"500": 1.0}) for name in ("a", "b", "c")}
    entries, transport = fleet(fakes)
    requests = 100
    async with Router(
        entries,
        transport=transport,
        num_retries=5,
        allowed_fails=10_000,  # no cooldowns: only the budget holds retries back
        retry_budget_ratio=0.2,
        retry_budget_min_per_second=1.0,
        retry_budget_window=10.0,
    ) as router:
        for _ in range(requests):
            with pytest.raises(ServerError):
                await router.aocr("ocr", png_bytes)
    attempts = sum(fake.request_count for fake in fakes.values())
    # 10 retries of floor (1/s over 10 s) plus a fifth of the requests; without it: 6 per request.
    assert requests < attempts <= requests + 10 + 0.2 * requests


async def test_when_retries_run_out_the_last_error_lists_every_attempt(png_bytes: bytes) -> None:
    fakes = {"a": _fake(faults={"500": 1.0}), "b": _fake(faults={"502": 1.0})}
    entries, transport = fleet(fakes)
    async with Router(
        entries,
        transport=transport,
        routing_strategy="round-robin",
        num_retries=1,
        allowed_fails=100,
    ) as router:
        with pytest.raises(ServerError) as caught:
            await router.aocr("ocr", png_bytes)
    message = str(caught.value)
    assert caught.value.status_code == 502
    assert "a: ServerError 500" in message
    assert "b: ServerError 502" in message
    assert KEY not in message


def test_sync_ocr_retries_and_fails_over_too(png_bytes: bytes) -> None:
    fakes = {"bad": _fake(faults={"500": 1.0}), "ok": _fake()}
    entries, transport = fleet(fakes)
    with Router(entries, transport=transport, routing_strategy="round-robin") as router:
        first = router.ocr("ocr", png_bytes)
        second = router.ocr("ocr", png_bytes)
    assert first.call_info is not None and second.call_info is not None
    assert [a.deployment_id for a in first.call_info.attempts] == ["bad", "ok"]
    assert first.call_info.deployment_id == second.call_info.deployment_id == "ok"


def test_sync_ocr_raises_the_typed_error(png_bytes: bytes) -> None:
    fakes = {"wrong-key": FakeProvider("mistral", api_key="another-key-entirely")}
    entries, transport = fleet(fakes)
    router = Router(entries, transport=transport)
    try:
        with pytest.raises(AuthenticationError):
            router.ocr("ocr", png_bytes)
    finally:
        router.close()
