"""A Router's lifetime: closed once, it refuses work instead of reopening pools in silence;
`FakeFleet` gives a Router over several fakes in three lines."""

from __future__ import annotations

import pytest

from providers.fake import FakeFleet, FakeProvider
from providers.samples import make_pdf
from router import RouterClosedError


async def test_a_closed_router_refuses_every_use_and_opens_no_pool() -> None:
    fleet = FakeFleet({"a": FakeProvider("mistral")})
    router = fleet.router()
    await router.aocr("ocr", make_pdf(1))
    await router.aclose()

    with pytest.raises(RouterClosedError, match="is closed: make a new Router"):
        await router.aocr("ocr", make_pdf(1))
    with pytest.raises(RouterClosedError):
        async with router:
            pass
    await router.aclose()  # closing twice is harmless
    assert router._clients == {}  # nothing reopened
    assert fleet["a"].request_count == 1


def test_a_closed_sync_router_refuses_ocr_and_starts_no_thread() -> None:
    fleet = FakeFleet({"a": FakeProvider("mistral")})
    with fleet.router() as router:
        assert router.ocr("ocr", make_pdf(1)).call_info.deployment_id == "a"

    with pytest.raises(RouterClosedError):
        router.ocr("ocr", make_pdf(1))
    with pytest.raises(RouterClosedError), router:
        pass
    assert router._sync_thread is None and router._clients == {}


async def test_a_fleet_routes_over_its_fakes_and_fails_over_between_them() -> None:
    fleet = FakeFleet({"a": FakeProvider("mistral"), "b": FakeProvider("azure_ai", script=["503"])})
    async with fleet.router(routing_strategy="round-robin") as router:
        served = [(await router.aocr("ocr", make_pdf(2))).call_info for _ in range(4)]

    assert {info.deployment_id for info in served} == {"a", "b"}
    assert fleet["b"].outcomes["503"] == 1
    assert sum(len(info.attempts) for info in served) == 5  # the 503 was retried once
    assert fleet.transport.most_in_flight == {"a": 1, "b": 1}
    with pytest.raises(KeyError, match="no fake named c"):
        fleet.model_list(c={"weight": 2})


async def test_dropping_connections_closes_the_pool_and_keeps_the_router() -> None:
    fleet = FakeFleet({"a": FakeProvider("mistral")})
    async with fleet.router() as router:
        await router.aocr("ocr", make_pdf(1))
        (pool,) = router._clients.values()
        await router.drop_connections()
        assert pool.is_closed and router._clients == {}
        await router.aocr("ocr", make_pdf(1))  # a new pool, the same Router
        assert len(router._clients) == 1
    assert fleet["a"].request_count == 2
