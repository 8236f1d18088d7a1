"""`ocr-router quickstart`: the README's examples, run for real against fake providers.

Needs no key and no network: it starts a fake server for each provider on 127.0.0.1 (the Azure
one failing part of the time, the Vertex one rate-limited part of the time), makes one `aocr()`
call exactly as the README shows, then routes a batch of sample PDFs through a `Router` over all
three and prints what each deployment did. It ends by itself in a few seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TextIO

from providers.fake import FakeProvider
from providers.samples import make_pdf
from router.api import aocr
from router.errors import OCRRouterError
from router.router import Router

KEY = "quickstart-key"  # the fakes' key: nothing here is a real credential


@dataclass(frozen=True)
class QuickstartResult:
    requests: int
    succeeded: int
    retried: int  # requests that needed more than one attempt
    fake_requests: dict[str, int]  # deployment id -> requests its fake received


def _fakes(seed: int) -> dict[str, FakeProvider]:
    return {
        "mistral": FakeProvider("mistral", api_key=KEY, seed=seed, latency=(0.005, 0.02)),
        "azure_ai": FakeProvider(
            "azure_ai", api_key=KEY, seed=seed, latency=(0.005, 0.02), faults={"503": 0.2}
        ),
        "vertex_ai": FakeProvider(
            "vertex_ai", api_key=KEY, seed=seed, latency=(0.005, 0.02), faults={"429ms:200": 0.1}
        ),
    }


@contextlib.asynccontextmanager
async def _serving(fakes: dict[str, FakeProvider]) -> AsyncIterator[dict[str, str]]:
    async with contextlib.AsyncExitStack() as stack:
        yield {name: await stack.enter_async_context(fake.serve()) for name, fake in fakes.items()}


def _model_list(urls: dict[str, str]) -> list[dict[str, object]]:
    common = {"model_name": "ocr", "api_key": KEY, "allow_private_document_urls": True}
    return [
        {
            **common,
            "id": "mistral",
            "model": "mistral/mistral-ocr-latest",
            "api_base": urls["mistral"],
        },
        {
            **common,
            "id": "azure",
            "model": "azure_ai/mistral-ocr-4-0",
            "api_base": urls["azure_ai"],
        },
        {
            **common,
            "id": "vertex",
            "model": "vertex_ai/mistral-ocr-2505",
            "api_base": urls["vertex_ai"],
            "vertex_project": "quickstart",
            "vertex_location": "us-central1",
        },
    ]


async def run_quickstart(
    out: TextIO, *, requests: int = 120, concurrency: int = 8, seed: int = 1
) -> QuickstartResult:
    fakes = _fakes(seed)
    async with _serving(fakes) as urls:
        out.write("1. One call, as in the README (fake Mistral at " + urls["mistral"] + "):\n")
        response = await aocr(
            model="mistral/mistral-ocr-latest",
            document={"type": "document_url", "document_url": "https://arxiv.org/pdf/2201.04234"},
            api_key=KEY,
            api_base=urls["mistral"],
        )
        info = response.call_info
        for page in response.pages:
            out.write(f"   Page {page.index}: {page.markdown.splitlines()[0]}\n")
        out.write(f"   latency {info.latency_s * 1000:.1f} ms, cost ${info.cost_usd}\n\n")

        out.write(
            f"2. {requests} sample PDFs through a Router over mistral, azure_ai (20% 503s) "
            f"and vertex_ai (10% 429s), {concurrency} at a time:\n"
        )
        fakes["mistral"].reset()  # count only the routed requests below
        rng = random.Random(seed)
        documents = [make_pdf(rng.randint(1, 4), title=f"Doc {n}") for n in range(requests)]
        gate = asyncio.Semaphore(concurrency)
        succeeded = retried = 0
        async with Router(
            _model_list(urls), cooldown_time=0.2, allowed_fails=2, seed=seed
        ) as router:

            async def one(document: bytes) -> None:
                nonlocal succeeded, retried
                async with gate:
                    try:
                        result = await router.aocr(model="ocr", document=document, timeout=20)
                    except OCRRouterError as error:
                        out.write(f"   failed: {type(error).__name__}: {error}\n")
                        return
                succeeded += 1
                if len(result.call_info.attempts) > 1:
                    retried += 1

            await asyncio.gather(*(one(document) for document in documents))
            costs = router.costs()
            health = router.health()

        fake_requests = {
            "mistral": fakes["mistral"].request_count,
            "azure": fakes["azure_ai"].request_count,
            "vertex": fakes["vertex_ai"].request_count,
        }
        out.write(
            f"   {'deployment':<10} {'received':>8} {'served':>7} {'pages':>6} {'cost $':>9}"
            "  state\n"
        )
        for deployment_id, received in fake_requests.items():
            summary = costs.deployments.get(deployment_id)
            served, pages = (summary.requests, summary.pages) if summary else (0, 0)
            usd = f"{summary.usd:.4f}" if summary else "0"
            state = health[deployment_id].status
            out.write(
                f"   {deployment_id:<10} {received:>8} {served:>7} {pages:>6} {usd:>9}  {state}\n"
            )
        out.write(
            f"   {succeeded}/{requests} succeeded; {retried} needed a retry on another deployment;"
            f" total ${costs.total.usd:.4f}\n"
        )
    return QuickstartResult(requests, succeeded, retried, fake_requests)
