"""The demo's last act: one long PDF sharded across the fleet (router/sharding.py).

After the stream of small documents, a 120-page PDF is sent once with `shard_pages=10`: the
viewer sees it cut into sub-PDFs served by every deployment at once, the shards that met a fault
retried on their own, and the pages come back whole and in order. It goes through a Router of
its own over the same fakes, so the stream's tally (requests sent, attempts) stays exact.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from router.errors import OCRRouterError
from router.pdf import pdf_available
from router.router import Router

LONG_DOCUMENT_PAGES = 120
SHARD_PAGES = 10  # 12 shards: enough that each of the four deployments serves a few


@dataclass(frozen=True)
class ShardedRun:
    """What happened to the long document."""

    pages: int
    shards: int
    by_deployment: dict[str, int]  # shards each deployment served
    retried: int  # shards that needed more than one attempt
    in_order: bool  # the answer's pages are 0..pages-1, each page's own text in its place
    elapsed_s: float
    cost_usd: float | None
    error: str | None = None


async def shard_long_document(
    model_list: Sequence[Mapping[str, Any]], settings: Mapping[str, Any], timeout: float
) -> ShardedRun | None:
    """Send the long PDF once through a Router over `model_list`; None without the extras."""
    if not pdf_available():
        return None
    from providers.samples import make_pdf

    document = make_pdf(LONG_DOCUMENT_PAGES, "Long report")
    started = time.perf_counter()
    async with Router(list(model_list), **settings) as router:
        try:
            response = await router.aocr("ocr", document, shard_pages=SHARD_PAGES, timeout=timeout)
        except OCRRouterError as error:
            return ShardedRun(LONG_DOCUMENT_PAGES, 0, {}, 0, False, 0.0, None, str(error))
    elapsed = time.perf_counter() - started
    info = response.call_info
    shards = info.shards
    in_order = [page.index for page in response.pages] == list(range(LONG_DOCUMENT_PAGES)) and all(
        f"Page {page.index + 1} of {LONG_DOCUMENT_PAGES}" in page.markdown
        for page in response.pages
    )
    return ShardedRun(
        pages=len(response.pages),
        shards=len(shards),
        by_deployment=dict(Counter(shard.deployment_id or "?" for shard in shards)),
        retried=sum(1 for shard in shards if len(shard.attempts) > 1),
        in_order=in_order,
        elapsed_s=elapsed,
        cost_usd=info.cost_usd,
    )


def describe(run: ShardedRun | None) -> list[str]:
    """The sentences the demo prints about the long document."""
    if run is None:
        return ["(The long-document act needs the pdf extra: pip install 'ocr-router[pdf]'.)"]
    if run.error is not None:
        return [f"The {run.pages}-page PDF could not be served: {run.error}"]
    spread = ", ".join(
        f"{deployment} {count}" for deployment, count in sorted(run.by_deployment.items())
    )
    cost = "" if run.cost_usd is None else f", ${run.cost_usd:.4f}"
    retried = (
        f"; {run.retried} shard(s) met a fault and were retried on their own" if run.retried else ""
    )
    order = "all pages back in order" if run.in_order else "PAGES OUT OF ORDER"
    return [
        f"A {LONG_DOCUMENT_PAGES}-page PDF, sharded into {run.shards} sub-PDFs of "
        f"{SHARD_PAGES} pages served at once ({spread}){retried}: {order}, "
        f"{run.pages} pages in {run.elapsed_s:.2f} s{cost}."
    ]


__all__ = ["LONG_DOCUMENT_PAGES", "SHARD_PAGES", "ShardedRun", "describe", "shard_long_document"]
