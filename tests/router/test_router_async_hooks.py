"""Async hooks: awaited as tasks of the router's loop, never by the request; drained at close."""

from __future__ import annotations

import asyncio
import logging

import pytest

from providers.fake import FakeFleet, FakeProvider
from providers.samples import make_pdf
from router import RouterEvent


async def test_an_async_hook_gets_every_event_without_holding_the_request() -> None:
    fleet = FakeFleet({"a": FakeProvider("mistral", script=["500"]), "b": FakeProvider("mistral")})
    released = asyncio.Event()
    seen: list[str] = []

    async def slow_hook(event: RouterEvent) -> None:
        await released.wait()  # a request that awaited this would never return
        seen.append(event.kind)

    router = fleet.router(hooks=[slow_hook], routing_strategy="round-robin", seed=1)
    response = await asyncio.wait_for(router.aocr("ocr", make_pdf(1)), 10)

    assert response.call_info.deployment_id == "b" and seen == []
    released.set()
    await router.aclose()  # waits for the hooks still running
    assert sorted(seen) == ["failure", "retry", "success"]


async def test_a_failing_async_hook_is_logged_and_ignored(caplog: pytest.LogCaptureFixture) -> None:
    fleet = FakeFleet({"a": FakeProvider("mistral")})

    async def broken(event: RouterEvent) -> None:
        raise RuntimeError("hook bug")

    async with fleet.router(hooks=[broken]) as router:
        with caplog.at_level(logging.ERROR, logger="ocr_router"):
            response = await router.aocr("ocr", make_pdf(1))

    assert response.call_info.deployment_id == "a"
    assert any("router hook" in record.message for record in caplog.records)


def test_a_sync_router_drains_its_async_hooks_at_close() -> None:
    fleet = FakeFleet({"a": FakeProvider("mistral")})
    seen: list[str] = []

    async def hook(event: RouterEvent) -> None:
        await asyncio.sleep(0.05)
        seen.append(event.kind)

    with fleet.router(hooks=[hook]) as router:
        router.ocr("ocr", make_pdf(1))

    assert seen == ["success"]
