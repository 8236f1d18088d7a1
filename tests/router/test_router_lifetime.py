"""A Router's lifetime: closed once, it refuses work instead of reopening pools in silence;
`FakeFleet` gives a Router over several fakes in three lines."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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


def test_a_sync_router_left_open_closes_its_pools_at_exit(tmp_path: Path) -> None:
    script = tmp_path / "left_open.py"
    script.write_text(
        "from providers.fake import FakeProvider\n"
        "from providers.samples import make_pdf\n"
        "from router import Router\n"
        "fake = FakeProvider('mistral', api_key='k')\n"
        "with fake.serve_in_thread() as url:\n"
        "    router = Router([{'model_name': 'ocr', 'model': 'mistral/mistral-ocr-latest',\n"
        "                      'api_key': 'k', 'api_base': url}])\n"
        "    print(router.ocr('ocr', make_pdf(1)).call_info.pages)\n",
        encoding="utf-8",
    )
    finished = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).parents[2],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
    )

    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.strip() == "1"
    assert "Unclosed" not in finished.stderr  # aiohttp's warning for a pool never closed
