"""Routers in separate processes sharing one view through a real redis-server: cooldowns, rpm
quotas, the cost ledger, in-flight leases of a killed process, and the proxy's workers."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from proxy_process import serving_proxy
from redis_helpers import KEY, RedisServer, mistral

from providers.fake import FakeProvider
from providers.samples import make_png
from router import Router
from router.state.redis import DEFAULT_LEASE_SECONDS, DEFAULT_STALENESS, RedisState

WORKER = Path(__file__).parent / "router_process.py"
REPOSITORY = Path(__file__).parents[2]
# A cooldown set by one process reaches the others within one sync period plus a sync.
STALENESS_BOUND_S = 2 * DEFAULT_STALENESS + 0.2

FakeServer = Callable[[FakeProvider], Awaitable[str]]


async def start_worker(spec: dict[str, Any]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        str(WORKER),
        json.dumps(spec),
        cwd=REPOSITORY,
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPOSITORY)},
    )


async def results_of(process: asyncio.subprocess.Process) -> list[tuple[float, str]]:
    stdout, _ = await asyncio.wait_for(process.communicate(), 90)
    assert process.returncode == 0, stdout
    return [(when, what) for when, what in json.loads(stdout.decode().splitlines()[-1])]


async def run_workers(*specs: dict[str, Any]) -> list[list[tuple[float, str]]]:
    processes = [await start_worker(spec) for spec in specs]
    return list(await asyncio.gather(*(results_of(process) for process in processes)))


async def test_a_deployment_cooled_by_one_process_gets_no_traffic_from_another(
    fake_server: FakeServer, redis_server: RedisServer, router_name: str
) -> None:
    shared = FakeProvider("mistral", api_key=KEY)
    refusing = FakeProvider("mistral", api_key=KEY, faults={"401": 1.0})
    spare = FakeProvider("mistral", api_key=KEY)
    shared_url, refusing_url, spare_url = [
        await fake_server(fake) for fake in (shared, refusing, spare)
    ]
    # B sends a steady stream over "shared" and "spare"; A knows "shared" by a URL that refuses
    # its key, so A's first request cools "shared" (401: the long cooldown) for everyone.
    stream = await start_worker(
        {
            "redis": redis_server.url,
            "name": router_name,
            "model_list": [mistral("shared", shared_url), mistral("spare", spare_url)],
            "duration": 4.0,
            "concurrency": 2,
            "pause": 0.01,
        }
    )
    for _ in range(400):
        if shared.request_count >= 5:
            break
        await asyncio.sleep(0.01)
    assert shared.request_count >= 5, "the stream never used the shared deployment"
    [cooling] = await run_workers(
        {
            "redis": redis_server.url,
            "name": router_name,
            "model_list": [mistral("shared", refusing_url)],
            "requests": 1,
        }
    )
    [(cooled_at, error)] = cooling
    streamed = await results_of(stream)

    assert error == "AuthenticationError"
    after_bound = [what for when, what in streamed if when > cooled_at + STALENESS_BOUND_S]
    assert len(after_bound) > 20  # B kept sending...
    assert "shared" not in after_bound  # ...but never again to the deployment A cooled
    assert set(after_bound) == {"spare"}


async def test_four_processes_together_keep_one_deployment_within_its_rpm(
    fake_server: FakeServer, redis_server: RedisServer, router_name: str
) -> None:
    limited = FakeProvider("mistral", api_key=KEY)
    spare = FakeProvider("mistral", api_key=KEY)
    model_list = [
        mistral("limited", await fake_server(limited), rpm=500, weight=9),
        mistral("spare", await fake_server(spare), weight=1),
    ]
    start_at = time.time() + 3.0  # every process connected before the first request
    spec = {
        "redis": redis_server.url,
        "name": router_name,
        "model_list": model_list,
        "requests": 250,
        "concurrency": 8,
        "start_at": start_at,
    }

    results = await run_workers(spec, spec, spec, spec)
    served = Counter(what for result in results for _, what in result)
    elapsed = max(when for result in results for when, _ in result) - start_at

    assert elapsed < 50  # the whole run fell within one rpm window
    assert served == {"limited": limited.request_count, "spare": spare.request_count}
    assert limited.request_count + spare.request_count == 1000  # every request served
    assert limited.request_count <= 500  # the four together held the quota...
    assert limited.request_count >= 450  # ...which bit: weight 9 would have sent it ~900


async def test_the_cost_ledger_of_four_processes_sums_exactly(
    fake_server: FakeServer, redis_server: RedisServer, router_name: str
) -> None:
    fakes = {"a": FakeProvider("mistral", api_key=KEY), "b": FakeProvider("mistral", api_key=KEY)}
    model_list = [
        mistral(name, await fake_server(fake), price_per_page="0.0013")
        for name, fake in fakes.items()
    ]
    pages = [1, 2, 3, 5]
    spec = {
        "redis": redis_server.url,
        "name": router_name,
        "model_list": model_list,
        "requests": 250,
        "concurrency": 4,
        "pages": pages,
    }

    results = await run_workers(spec, spec, spec, spec)
    async with Router(model_list, state=redis_server.url, name=router_name) as reader:
        report = reader.costs()

    expected_pages = 4 * sum(pages[index % len(pages)] for index in range(250))
    assert sum(len(result) for result in results) == 1000
    assert report.total.requests == 1000
    assert report.total.pages == expected_pages
    assert report.total.usd_exact == Decimal("0.0013") * expected_pages
    for name, fake in fakes.items():
        assert report.deployments[name].requests == fake.request_count
    assert report.groups["ocr"].usd_exact == report.total.usd_exact


async def test_a_process_killed_mid_request_leaves_no_lasting_in_flight_count(
    fake_server: FakeServer, redis_server: RedisServer, router_name: str
) -> None:
    holding = FakeProvider("mistral", api_key=KEY, latency=60.0)
    model_list = [mistral("held", await fake_server(holding))]
    process = await start_worker(
        {
            "redis": redis_server.url,
            "name": router_name,
            "model_list": model_list,
            "concurrency": 3,
            "hold": True,
        }
    )
    observer = RedisState(redis_server.url, name=router_name, deployments=["held"])
    try:
        assert process.stdout is not None
        assert (await asyncio.wait_for(process.stdout.readline(), 30)).strip() == b"holding"
        assert observer.sync()
        assert observer.in_flight("held") == 3
        process.kill()
        await process.wait()
        killed_at = time.monotonic()
        for _ in range(int(3 * DEFAULT_LEASE_SECONDS / 0.1)):  # polls a thread's copy: no event
            if not observer.in_flight("held"):
                break
            await asyncio.sleep(0.1)
        gone_after = time.monotonic() - killed_at
    finally:
        observer.close()

    assert observer.in_flight("held") == 0
    assert gone_after <= DEFAULT_LEASE_SECONDS + STALENESS_BOUND_S


async def test_two_proxy_workers_honour_one_cooldown(
    fake_server: FakeServer, redis_server: RedisServer, router_name: str, tmp_path: Path
) -> None:
    refusing = FakeProvider("mistral", api_key=KEY, faults={"401": 1.0})
    good = FakeProvider("mistral", api_key=KEY)
    config = {
        "model_list": [
            mistral("refusing", await fake_server(refusing)),
            mistral("good", await fake_server(good)),
        ],
        "router_settings": {"redis_url": redis_server.url, "name": router_name},
        "general_settings": {"master_key": "sk-proxy"},
    }
    path = tmp_path / "config.yaml"
    path.write_text(json.dumps(config), encoding="utf-8")  # JSON is YAML
    path.chmod(0o600)
    png = base64.b64encode(make_png()).decode()
    body = {"model": "ocr", "document": {"document_url": f"data:image/png;base64,{png}"}}
    bearer = {"Authorization": "Bearer sk-proxy"}

    async def post() -> httpx.Response:
        async with httpx.AsyncClient(base_url=url, timeout=20) as client:  # a new connection
            return await client.post("/v1/ocr", json=body, headers=bearer)

    async with serving_proxy("--config", str(path), "--port", "0", "--workers", "2") as (_, url):
        for _ in range(50):
            assert (await post()).status_code == 200
            if refusing.request_count:
                break
        assert refusing.request_count == 1
        await asyncio.sleep(STALENESS_BOUND_S)
        answers = await asyncio.gather(*(post() for _ in range(60)))

    assert [answer.status_code for answer in answers] == [200] * 60
    assert refusing.request_count == 1  # neither worker sent to it again
    assert {answer.headers["x-ocr-router-deployment"] for answer in answers} == {"good"}
