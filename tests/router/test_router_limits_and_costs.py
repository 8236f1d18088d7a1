"""Limits (concurrency queueing, rpm windows), the cost ledger, budgets, hooks and introspection."""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal

import pytest
from router_helpers import KEY, FakeClock, fleet

from providers.fake import FakeProvider
from router.errors import ConfigError
from router.events import RouterEvent
from router.router import NoDeploymentAvailableError, Router
from router.state import MemoryState

REMOTE_PDF = "https://documents.example/report.pdf"  # never fetched: the mistral fake counts pages


def _fake(**options: object) -> FakeProvider:
    return FakeProvider("mistral", api_key=KEY, **options)  # type: ignore[arg-type]


async def test_max_concurrency_queues_the_excess_and_never_exceeds_the_limit(
    png_bytes: bytes,
) -> None:
    fakes = {"narrow": _fake(latency=0.02)}
    entries, transport = fleet(fakes, narrow={"max_concurrency": 2})
    async with Router(entries, transport=transport) as router:
        responses = await asyncio.gather(*(router.aocr("ocr", png_bytes) for _ in range(10)))
    assert len(responses) == 10
    assert all(len(r.call_info.attempts) == 1 for r in responses if r.call_info)
    assert transport.most_in_flight["narrow"] == 2
    assert fakes["narrow"].request_count == 10


async def test_a_full_deployment_yields_to_one_with_free_capacity(png_bytes: bytes) -> None:
    fakes = {"narrow": _fake(latency=0.05), "wide": _fake(latency=0.05)}
    entries, transport = fleet(fakes, narrow={"max_concurrency": 1})
    async with Router(entries, transport=transport, routing_strategy="round-robin") as router:
        await asyncio.gather(*(router.aocr("ocr", png_bytes) for _ in range(8)))
    assert transport.most_in_flight["narrow"] == 1
    assert fakes["narrow"].request_count == 1  # the others went to free capacity at once
    assert fakes["wide"].request_count == 7


async def test_a_queued_request_gives_up_at_its_deadline(png_bytes: bytes) -> None:
    fakes = {"narrow": _fake(latency=0.5)}
    entries, transport = fleet(fakes, narrow={"max_concurrency": 1})
    async with Router(entries, transport=transport) as router:
        held = asyncio.ensure_future(router.aocr("ocr", png_bytes))
        await asyncio.sleep(0.05)
        with pytest.raises(NoDeploymentAvailableError) as caught:
            await router.aocr("ocr", png_bytes, timeout=0.1)
        await held
    assert "max_concurrency" in str(caught.value)
    assert fakes["narrow"].request_count == 1


async def test_rpm_keeps_a_deployment_within_its_quota(png_bytes: bytes) -> None:
    clock = FakeClock()
    fakes = {"quota": _fake(), "spare": _fake()}
    entries, transport = fleet(fakes, quota={"rpm": 5, "priority": 0}, spare={"priority": 1})
    async with Router(entries, transport=transport, clock=clock) as router:
        for _ in range(12):
            await router.aocr("ocr", png_bytes)
        assert fakes["quota"].request_count == 5  # the lower tier first, up to its quota
        assert fakes["spare"].request_count == 7
        clock.advance(61)  # the window has moved on
        await router.aocr("ocr", png_bytes)
    assert fakes["quota"].request_count == 6


async def test_costs_of_1000_requests_are_exact_per_deployment_group_and_provider() -> None:
    prices = {"a": 0.001, "b": 0.0015, "c": 0.003}
    fakes = {name: _fake(default_page_count=5) for name in prices}
    entries, transport = fleet(
        fakes, **{name: {"price_per_page": price} for name, price in prices.items()}
    )
    expected_usd = dict.fromkeys(prices, Decimal(0))
    expected_pages = dict.fromkeys(prices, 0)
    async with Router(entries, transport=transport) as router:
        page_sets = [list(range(1 + i % 4)) for i in range(1000)]  # 1 to 4 pages each
        responses = await asyncio.gather(
            *(router.aocr("ocr", REMOTE_PDF, pages=pages) for pages in page_sets)
        )
        report = router.costs()
    for pages, response in zip(page_sets, responses, strict=True):
        info = response.call_info
        assert info is not None
        assert info.pages == len(pages)
        expected_usd[info.deployment_id] += Decimal(str(prices[info.deployment_id])) * len(pages)
        expected_pages[info.deployment_id] += len(pages)
    for name, fake in fakes.items():
        summary = report.deployments[name]
        assert summary.requests == fake.request_count
        assert summary.pages == expected_pages[name]
        assert summary.usd_exact == expected_usd[name]
        assert summary.usd == float(expected_usd[name])
    total = sum(expected_usd.values(), Decimal(0))
    assert report.groups["ocr"].usd_exact == total
    assert report.providers["mistral"].usd_exact == total
    assert report.total.requests == 1000
    assert report.total.pages == sum(len(pages) for pages in page_sets)


async def test_a_call_is_priced_by_the_deployment_that_served_it_not_the_echoed_model(
    png_bytes: bytes,
) -> None:
    fakes = {"cheap": _fake(), "dear": _fake()}
    entries, transport = fleet(
        fakes, cheap={"price_per_page": 0.001}, dear={"price_per_page": 0.01}
    )
    async with Router(entries, transport=transport, routing_strategy="round-robin") as router:
        first = await router.aocr("ocr", png_bytes)
        second = await router.aocr("ocr", png_bytes)
    assert first.model == second.model  # the same echoed name, two prices
    costs = {
        r.call_info.deployment_id: r.call_info.cost_usd for r in (first, second) if r.call_info
    }
    assert costs == {"cheap": 0.001, "dear": 0.01}


async def test_a_spent_budget_takes_the_deployment_out_of_selection(png_bytes: bytes) -> None:
    fakes = {"metered": _fake(), "other": _fake()}
    entries, transport = fleet(
        fakes, metered={"price_per_page": 0.01, "priority": 0}, other={"priority": 1}
    )
    budget = {"scope": "deployment", "name": "metered", "max_usd": 0.03, "period": "day"}
    async with Router(entries, transport=transport, budgets=[budget]) as router:
        for _ in range(10):
            await router.aocr("ocr", png_bytes)
        assert router.costs().deployments["metered"].usd_exact == Decimal("0.03")
    assert fakes["metered"].request_count == 3
    assert fakes["other"].request_count == 7


async def test_a_deployment_too_small_for_the_request_is_skipped() -> None:
    fakes = {"small": _fake(default_page_count=5), "big": _fake(default_page_count=5)}
    entries, transport = fleet(fakes, small={"max_pages_per_request": 2})
    async with Router(entries, transport=transport) as router:
        for _ in range(10):
            response = await router.aocr("ocr", REMOTE_PDF, pages=[0, 1, 2])
            assert response.call_info is not None
            assert response.call_info.deployment_id == "big"


async def test_hooks_receive_success_failure_retry_and_cooldown_events(
    png_bytes: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    events: list[RouterEvent] = []

    def broken_hook(event: RouterEvent) -> None:
        raise RuntimeError("a hook bug")

    fakes = {"bad": _fake(faults={"500": 1.0}), "ok": _fake()}
    entries, transport = fleet(fakes, ok={"price_per_page": 0.002})
    caplog.set_level(logging.DEBUG, logger="ocr_router")
    async with Router(
        entries,
        transport=transport,
        routing_strategy="round-robin",
        allowed_fails=1,
        hooks=[broken_hook, events.append],
    ) as router:
        response = await router.aocr("ocr", png_bytes)
    assert response.call_info is not None
    assert [e.kind for e in events] == ["failure", "cooldown", "retry", "success"]
    failure, cooldown, retry, success = events
    assert (failure.deployment_id, failure.error, failure.attempt) == ("bad", "ServerError 500", 1)
    assert cooldown.cooldown_until is not None and cooldown.reason is not None
    assert (retry.deployment_id, retry.attempt) == ("bad", 1)
    assert (success.deployment_id, success.attempt, success.pages) == ("ok", 2, 1)
    assert success.cost_usd == 0.002 and success.provider == "mistral" and success.group == "ocr"
    assert any("a hook bug" in (r.exc_text or "") for r in caplog.records)
    assert any(r.levelno == logging.INFO and "cooldown" in r.getMessage() for r in caplog.records)
    for record in caplog.records:
        assert KEY not in record.getMessage()
    for event in events:
        assert KEY not in repr(event)


async def test_a_success_is_logged_at_debug_without_any_hook(
    png_bytes: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    entries, transport = fleet({"ok": _fake()})
    async with Router(entries, transport=transport) as router:
        caplog.set_level(logging.INFO, logger="ocr_router")
        await router.aocr("ocr", png_bytes)  # nobody listens at DEBUG: no event, no line
        caplog.set_level(logging.DEBUG, logger="ocr_router")
        await router.aocr("ocr", png_bytes)
    successes = [r for r in caplog.records if r.getMessage().startswith("success ok")]
    assert len(successes) == 1 and successes[0].levelno == logging.DEBUG


async def test_health_reports_each_deployment(png_bytes: bytes) -> None:
    clock = FakeClock()
    fakes = {"bad": _fake(faults={"503": 1.0}), "ok": _fake()}
    entries, transport = fleet(fakes)
    async with Router(
        entries,
        transport=transport,
        routing_strategy="round-robin",
        allowed_fails=1,
        cooldown_time=7,
        clock=clock,
    ) as router:
        await router.aocr("ocr", png_bytes)
        health = router.health()
        assert health["ok"].status == "healthy"
        assert health["bad"].status == "cooling"
        assert health["bad"].cooldown_until == clock.now + 7
        assert health["bad"].reason == "1 consecutive failures (ServerError 503)"
        clock.advance(7)
        assert router.health()["bad"].status == "half-open"
        assert router.groups() == ["ocr"]
        assert [d.id for d in router.deployments("ocr")] == ["bad", "ok"]
        assert router.deployments("nope") == []


def test_wrong_settings_fail_at_construction_with_a_config_error() -> None:
    fakes = {"a": _fake()}
    entries, transport = fleet(fakes)
    with pytest.raises(ConfigError, match="num_retries"):
        Router(entries, transport=transport, num_retries=-1)
    with pytest.raises(ConfigError, match="no-such-group"):
        Router(entries, transport=transport, fallbacks={"ocr": ["no-such-group"]})


async def test_from_config_builds_a_router_from_a_litellm_style_dict(png_bytes: bytes) -> None:
    fakes = {"a": _fake(), "b": _fake(faults={"500": 1.0})}
    _, transport = fleet(fakes)
    config = {
        "model_list": [
            {
                "model_name": "ocr",
                "litellm_params": {
                    "model": "mistral/mistral-ocr-latest",
                    "api_key": KEY,
                    "api_base": f"https://{name}.fake",
                },
                "model_info": {"id": name},
            }
            for name in ("b", "a")
        ],
        "router_settings": {"routing_strategy": "round-robin", "num_retries": 2},
    }
    async with Router.from_config(config, transport=transport) as router:
        response = await router.aocr("ocr", png_bytes)
    assert router.settings.num_retries == 2
    assert response.call_info is not None
    assert [a.deployment_id for a in response.call_info.attempts] == ["b", "a"]


async def test_a_litellm_yaml_file_routes_with_its_fallbacks_over_real_sockets(
    png_bytes: bytes, fake_server, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    primary = FakeProvider("mistral", api_key=KEY, faults={"503": 1.0})
    backup = FakeProvider("azure_ai", api_key=KEY)
    monkeypatch.setenv("MISTRAL_API_KEY", KEY)
    monkeypatch.setenv("AZURE_AI_API_KEY", KEY)
    path = tmp_path / "config.yaml"
    path.write_text(
        f"""\
model_list:
  - model_name: ocr
    litellm_params:
      model: mistral/mistral-ocr-latest
      api_key: os.environ/MISTRAL_API_KEY
      api_base: {await fake_server(primary)}
  - model_name: ocr-backup
    litellm_params:
      model: azure_ai/mistral-document-ai-2512
      api_key: os.environ/AZURE_AI_API_KEY
      api_base: {await fake_server(backup)}
router_settings:
  routing_strategy: simple-shuffle
  num_retries: 2
  timeout: 30
  fallbacks: [{{"ocr": ["ocr-backup"]}}]
  allowed_fails: 2
  cooldown_time: 60
""",
        encoding="utf-8",
    )
    async with Router.from_config(path) as router:
        responses = [await router.aocr("ocr", png_bytes) for _ in range(5)]
        assert router.health()[router.deployments("ocr")[0].id].status == "cooling"
    assert all(r.call_info and r.call_info.group == "ocr-backup" for r in responses)
    assert primary.request_count == 2  # allowed_fails, then cooled for the rest
    assert backup.request_count == 5


async def test_pages_per_minute_holds_a_deployment_within_its_page_quota() -> None:
    clock = FakeClock()
    fakes = {"quota": _fake(default_page_count=10), "spare": _fake(default_page_count=10)}
    entries, transport = fleet(
        fakes, quota={"pages_per_minute": 10, "priority": 0}, spare={"priority": 1}
    )
    async with Router(entries, transport=transport, clock=clock) as router:
        served = [await router.aocr("ocr", REMOTE_PDF, pages=[0, 1, 2, 3]) for _ in range(5)]
    by = [r.call_info.deployment_id for r in served if r.call_info]
    assert by == ["quota", "quota", "spare", "spare", "spare"]  # 8 pages fit, 12 would not


async def test_a_provider_budget_covers_every_deployment_of_that_provider(
    png_bytes: bytes,
) -> None:
    fakes = {
        "m1": _fake(),
        "m2": _fake(),
        "az": FakeProvider("azure_ai", api_key=KEY),
    }
    entries, transport = fleet(
        fakes,
        m1={"price_per_page": 0.01},
        m2={"price_per_page": 0.01},
        az={"price_per_page": 0.01, "priority": 1},
    )
    budget = {"scope": "provider", "name": "mistral", "max_usd": 0.05, "period": "hour"}
    async with Router(entries, transport=transport, budgets=[budget]) as router:
        for _ in range(9):
            await router.aocr("ocr", png_bytes)
        report = router.costs()
    assert report.providers["mistral"].usd_exact == Decimal("0.05")
    assert fakes["m1"].request_count + fakes["m2"].request_count == 5
    assert fakes["az"].request_count == 4


async def test_default_fallbacks_apply_to_groups_without_their_own(png_bytes: bytes) -> None:
    down = _fake(faults={"500": 1.0})
    spare = _fake()
    entries = [
        *fleet({"down": down}, group="ocr")[0],
        *fleet({"spare": spare}, group="ocr-spare")[0],
    ]
    _, transport = fleet({"down": down, "spare": spare})
    async with Router(entries, transport=transport, default_fallbacks=["ocr-spare"]) as router:
        response = await router.aocr("ocr", png_bytes)
    assert response.call_info is not None
    assert (response.call_info.group, response.call_info.deployment_id) == ("ocr-spare", "spare")


async def test_at_its_rpm_the_only_deployment_is_waited_for_only_within_the_deadline(
    png_bytes: bytes,
) -> None:
    fakes = {"quota": _fake()}
    entries, transport = fleet(fakes, quota={"rpm": 2})
    async with Router(entries, transport=transport) as router:
        await router.aocr("ocr", png_bytes)
        await router.aocr("ocr", png_bytes)
        with pytest.raises(NoDeploymentAvailableError) as caught:
            await router.aocr("ocr", png_bytes, timeout=1)
    assert "2 requests this minute (rpm)" in str(caught.value)
    assert caught.value.retry_after is not None and 58 < caught.value.retry_after <= 61
    assert fakes["quota"].request_count == 2


async def test_routers_sharing_one_state_share_cooldowns_and_costs(png_bytes: bytes) -> None:
    """The seam a shared (Redis) state plugs into: what one router learns, the other obeys."""
    state = MemoryState()
    fakes = {"wrong-key": FakeProvider("mistral", api_key="another-key"), "ok": _fake()}
    entries, transport = fleet(fakes, ok={"price_per_page": 0.001})
    first = Router(entries, transport=transport, routing_strategy="round-robin", state=state)
    second = Router(entries, transport=transport, routing_strategy="round-robin", state=state)
    async with first, second:
        await first.aocr("ocr", png_bytes)  # learns that "wrong-key" is wrong
        for _ in range(5):
            response = await second.aocr("ocr", png_bytes)
            assert response.call_info is not None
            assert len(response.call_info.attempts) == 1
        assert second.health()["wrong-key"].status == "cooling"
        assert first.costs().deployments["ok"].requests == 6
    assert fakes["wrong-key"].request_count == 1


async def test_a_freed_slot_reaches_the_queued_request_that_can_use_it(png_bytes: bytes) -> None:
    fakes = {"x": _fake(latency=0.4), "y": _fake(latency=0.05)}
    entries = [
        *fleet({"x": fakes["x"]}, group="gx", x={"max_concurrency": 1})[0],
        *fleet({"y": fakes["y"]}, group="gy", y={"max_concurrency": 1})[0],
    ]
    _, transport = fleet(fakes)
    async with Router(entries, transport=transport) as router:
        holding_x = asyncio.ensure_future(router.aocr("gx", png_bytes))
        holding_y = asyncio.ensure_future(router.aocr("gy", png_bytes))
        await asyncio.sleep(0.01)
        # Queued first, for x: the wake-up of y's slot reaches it first and must be passed on.
        queued_x = asyncio.ensure_future(router.aocr("gx", png_bytes))
        await asyncio.sleep(0.01)
        queued_y = await router.aocr("gy", png_bytes, timeout=0.3)
        assert queued_y.call_info is not None and queued_y.call_info.deployment_id == "y"
        await asyncio.gather(holding_x, holding_y, queued_x)
    assert transport.most_in_flight == {"x": 1, "y": 1}
