"""Router overhead and throughput: `Router.aocr` against the raw client, same fake, same transport.

The raw client is what a caller writes without a router: an `httpx.AsyncClient` over the same
transport and pool limits posting the same body and decoding the JSON. Both run in this process,
the fake in its own. Overhead alternates raw and router call by call, so machine noise hits both
alike; throughput alternates runs and keeps the median of `REPEATS`.
"""

from __future__ import annotations

import statistics
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import measure
from common import KEY, ServerProcess, document_url, ms, table, wire_body

from router import Router
from router.pools import DEFAULT_POOL_LIMITS

CONCURRENCY = (1, 16, 64, 256)
REPEATS = 3
Call = Callable[[], Awaitable[Any]]


def transports() -> dict[str, Callable[[], httpx.AsyncBaseTransport]]:
    """The transports to compare: the Router's default first, then httpx's own if different."""
    from router.transport import fast_transport

    choices: dict[str, Callable[[], httpx.AsyncBaseTransport]] = {}
    if fast_transport(DEFAULT_POOL_LIMITS) is not None:
        choices["aiohttp (default)"] = lambda: fast_transport(DEFAULT_POOL_LIMITS)  # type: ignore[return-value]
    choices["httpx"] = lambda: httpx.AsyncHTTPTransport(limits=DEFAULT_POOL_LIMITS)
    return choices


class Pair:
    """A raw client and a Router (three deployments) over one kind of transport, same fake."""

    def __init__(self, url: str, make_transport: Callable[[], httpx.AsyncBaseTransport]) -> None:
        self._raw = httpx.AsyncClient(transport=make_transport(), limits=DEFAULT_POOL_LIMITS)
        self._router = Router(
            [
                {"model_name": "ocr", "model": "mistral/mistral-ocr-latest", "api_base": url}
                | {"api_key": KEY, "id": f"mistral-{index}"}
                for index in range(3)
            ],
            transport=make_transport(),
        )
        self._url = f"{url}/v1/ocr"
        self._body = wire_body("mistral-ocr-latest")
        self._headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
        self._document = {"type": "document_url", "document_url": document_url()}

    async def raw(self) -> None:
        response = await self._raw.post(self._url, content=self._body, headers=self._headers)
        if response.status_code != 200 or not response.json()["pages"]:
            raise RuntimeError(f"raw call failed: {response.status_code}")

    async def router(self) -> None:
        response = await self._router.aocr("ocr", self._document)
        if not response.pages:
            raise RuntimeError("router call returned no pages")

    async def close(self) -> None:
        await self._raw.aclose()
        await self._router.aclose()


async def overhead(pair: Pair, rounds: int) -> dict[str, Any]:
    timings = await measure.interleaved({"raw": pair.raw, "router": pair.router}, rounds)
    differences = [r - w for r, w in zip(timings["router"], timings["raw"], strict=True)]
    ratios = [r / w for r, w in zip(timings["router"], timings["raw"], strict=True)]
    return {
        "raw": measure.summary(timings["raw"]),
        "router": measure.summary(timings["router"]),
        "difference": measure.summary(differences),
        "ratio": measure.summary(ratios),
    }


async def throughput(pair: Pair, calls: int, fake: ServerProcess) -> list[dict[str, Any]]:
    levels = []
    for concurrency in CONCURRENCY:
        runs: dict[str, list[dict[str, float]]] = {"raw": [], "router": []}
        fake.mark()
        for _ in range(REPEATS):
            for name, call in (("raw", pair.raw), ("router", pair.router)):
                runs[name].append(await measure.concurrent(call, concurrency, calls))
        levels.append(
            {
                "concurrency": concurrency,
                "raw": _median_run(runs["raw"]),
                "router": _median_run(runs["router"]),
                "fake_cpu_cores": fake.cpu_share(),
            }
        )
    return levels


def _median_run(runs: list[dict[str, float]]) -> dict[str, float]:
    """The run with the median rate (its own latencies kept with it)."""
    ordered = sorted(runs, key=lambda run: run["calls_per_s"])
    middle = dict(ordered[len(ordered) // 2])
    middle["calls_per_s_runs"] = [run["calls_per_s"] for run in runs]  # type: ignore[assignment]
    return middle


async def run(fake: ServerProcess, *, rounds: int, calls: int) -> dict[str, Any]:
    results: dict[str, Any] = {"overhead": {}, "throughput": {}}
    for name, make_transport in transports().items():
        pair = Pair(fake.url, make_transport)
        try:
            results["overhead"][name] = await overhead(pair, rounds)
            results["throughput"][name] = await throughput(pair, calls, fake)
        finally:
            await pair.close()
    return results


def report(results: dict[str, Any]) -> str:
    rows = []
    for name, found in results["overhead"].items():
        rows.append(
            [
                name,
                ms(found["raw"]["median"]),
                ms(found["router"]["median"]),
                ms(found["difference"]["median"]),
                ms(found["difference"]["p99"]),
                found["ratio"]["median"],
                found["ratio"]["p99"],
            ]
        )
    text = table(
        "Router overhead, sequential calls (ms)",
        ["transport", "raw", "router", "router - raw", "p99 of diff", "router / raw", "p99 ratio"],
        rows,
    )
    rows = []
    for name, levels in results["throughput"].items():
        for level in levels:
            raw, routed = level["raw"], level["router"]
            rows.append(
                [
                    name,
                    level["concurrency"],
                    raw["calls_per_s"],
                    routed["calls_per_s"],
                    routed["calls_per_s"] / raw["calls_per_s"],
                    ms(raw["p99"]),
                    ms(routed["p99"]),
                    level["fake_cpu_cores"],
                ]
            )
    text += "\n" + table(
        "Throughput (calls/s, median of 3 runs; p99 latency in ms)",
        [
            "transport",
            "concurrency",
            "raw",
            "router",
            "router / raw",
            "raw p99",
            "router p99",
            "fake cores",
        ],
        rows,
    )
    return text


def median_ratio(levels: list[dict[str, Any]], concurrency: int) -> float:
    level = next(level for level in levels if level["concurrency"] == concurrency)
    return statistics.median(
        r / w
        for r, w in zip(
            level["router"]["calls_per_s_runs"], level["raw"]["calls_per_s_runs"], strict=True
        )
    )
