"""Scaling with the size of a group: one routing decision, and one whole call, per strategy.

A decision is what the Router does to pick the deployment of an attempt: test candidates
(health, limits, budget) and let the strategy choose (`Router._select`). A whole call is
`Router.aocr` over an in-process transport that answers at once with a canned OCR response, so
that the figure is the router's own work per call, with nothing of the network in it.
Deployments carry three prices (so lowest-cost has levels to walk) and no latency history.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import measure
from common import KEY, document_url, table, us, wire_body

from providers.fake import FakeProvider
from router import Router
from router.job import Job
from router.strategies import STRATEGY_NAMES
from router.types import OCRRequest

SIZES = (3, 100, 1_000, 10_000)


def deployments(count: int) -> list[dict[str, Any]]:
    return [
        {
            "model_name": "ocr",
            "model": "mistral/mistral-ocr-latest",
            "api_base": "https://mistral.fake",
            "api_key": KEY,
            "id": f"d{index}",
            "price_per_page": 0.001 * (1 + index % 3),
        }
        for index in range(count)
    ]


async def canned_transport() -> httpx.MockTransport:
    """A transport answering every call with the fake's answer to the benchmark's request."""
    fake = FakeProvider("mistral", api_key=KEY)
    async with httpx.AsyncClient(transport=fake.mock_transport()) as client:
        answer = await client.post(
            "https://mistral.fake/v1/ocr",
            content=wire_body("mistral-ocr-latest"),
            headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"},
        )
    content = answer.content
    headers = {"Content-Type": "application/json"}
    return httpx.MockTransport(
        lambda request: httpx.Response(200, content=content, headers=headers)
    )


def decision_seconds(router: Router, decisions: int) -> list[float]:
    """Seconds per decision, in batches of 100 (a single one is too short for the clock)."""
    now = time.time()
    request = OCRRequest.build({"type": "document_url", "document_url": document_url()})
    job = Job(
        request=request,
        plan=["ocr"],
        deadline=now + 60,
        started=now,
        pages=None,
        reserved_pages=1,
        request_id="bench",
    )
    select = router._selection.select
    for _ in range(200):
        select(job, now)
    batches = []
    clock = time.perf_counter
    for _ in range(decisions // 100):
        started = clock()
        for _ in range(100):
            select(job, now)
        batches.append((clock() - started) / 100)
    return batches


async def run(*, decisions: int, calls: int, sizes: tuple[int, ...] = SIZES) -> dict[str, Any]:
    transport = await canned_transport()
    document = {"type": "document_url", "document_url": document_url()}
    results: dict[str, Any] = {}
    for strategy in STRATEGY_NAMES:
        results[strategy] = {}
        for size in sizes:
            started = time.perf_counter()
            router = Router(deployments(size), transport=transport, routing_strategy=strategy)
            built = time.perf_counter() - started
            decision = measure.summary(decision_seconds(router, decisions))

            async def call(router: Router = router) -> None:
                await router.aocr("ocr", document)

            whole = measure.summary(await measure.sequential(call, calls, warmup=100))
            await router.aclose()
            results[strategy][str(size)] = {
                "decision": decision,
                "call": whole,
                "construction_s": built,
            }
    return results


def report(results: dict[str, Any]) -> str:
    sizes = list(next(iter(results.values())))
    rows = []
    for strategy, by_size in results.items():
        rows.append(
            [strategy, "decision"] + [us(by_size[size]["decision"]["median"]) for size in sizes]
        )
        rows.append(
            [strategy, "whole call"] + [us(by_size[size]["call"]["median"]) for size in sizes]
        )
    return table(
        "Scaling: median microseconds per decision / per whole call (in-process transport)",
        ["strategy", "what", *(f"{int(size):,} deployments" for size in sizes)],
        rows,
    )
