"""Serve a PDF of any size: cut it into sub-PDFs ("shards") and send them across deployments.

One long PDF to one deployment is as slow as that deployment (600 pages at 20 ms a page: 12 s),
and it fails outright when it is over every candidate's limit (Azure and Vertex take 30 pages,
Vertex 10 MB of body). Splitting with Mistral's `pages` parameter sends the whole file once per
range (600 pages in 8-page ranges: 75 uploads of 41 MB). A shard is instead a sub-PDF holding
only its pages (router/pdf.py), sent as a request of its own through the Router's normal
selection (strategy, health, limits, budgets, retries, fallbacks), all under the request's one
deadline; the answers are merged as if one call had made them (router/shard_merge.py).

When a request is sharded (`serve_or_pass`):

- the document is a PDF, inline (a data URI, a path, bytes) or remote when no deployment of the
  plan fetches URLs itself (it is then downloaded once, through the download guard of an inlining
  deployment, instead of once per attempt by each provider);
- and either no deployment of the plan can take it whole (its pages, or its bytes: "sharding to
  fit"), or `shard_pages` is set and more pages than that are to be read.

What is never sharded: images (one page each); DOCX and PPTX (refused, saying so, when over every
deployment's limit); an uploaded `file_id`; a remote URL a Mistral deployment fetches itself
(passed through as before); a request with `document_annotation_format`, which needs the whole
document in one call (refused when it does not fit, never sharded silently).

Shard size: `shard_pages`, or when only fitting, the largest page limit among the plan's
deployments (the fewest shards that fit). A cut over the largest byte limit of the deployments
that take that many pages is halved until it fits. `pages=` selects the pages first: only those
are cut out and sent.

Memory: the document is decoded once; a shard is cut just before it is sent and dropped with its
answer, and at most `MAX_SHARDS_IN_FLIGHT` shards of one request are held at once.

A shard that still fails after its own retries fails the request with its error (its class
unchanged, the page range named) and the other shards are cancelled; with `partial=True` the
answer holds the pages that succeeded and `call_info.missing` names the missing ranges and why.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from router.errors import (
    InvalidRequestError,
    InvalidResponseError,
    OCRRouterError,
)
from router.fit import request_facts
from router.mime import DOCX, PDF, PPTX, parse_data_uri
from router.pdf import PdfPages, pdf_available
from router.shard_merge import ShardOutcome, merge_shards
from router.telemetry.tracing import shard_span
from router.types import (
    MAX_PAGES_PER_REQUEST,
    Attempt,
    DocumentURLChunk,
    OCRRequest,
    OCRResponse,
    ShardInfo,
    built_document,
    page_ranges,
)

if TYPE_CHECKING:
    from router.deployment import Deployment
    from router.router import Router

# Shards of one request held at once (cut, in flight): bounds memory, and leaves room on the
# fleet for other requests. 16 kept three deployments busy in the benchmark (benchmarks/).
MAX_SHARDS_IN_FLIGHT = 16


@dataclass(frozen=True)
class ShardCaching:
    """How a sharded request uses the result cache: each shard is stored and looked up as the
    page-range request of the whole document it stands for (same digest, `pages` = its pages),
    so a document retried after a failure re-sends only the shards that were not served."""

    model: str  # the model group the request named
    mode: bool | Literal["refresh"]
    digest: str  # of the whole document


@dataclass(frozen=True)
class _Limit:
    """What one request to a deployment may carry."""

    pages: int
    document_bytes: int | None  # None: no byte limit known


def _limit(deployment: Deployment) -> _Limit:
    """Its pages and document bytes per request (router/capabilities.py, its own settings
    first); a body limit (Vertex) is turned into the document bytes that fit it as base64."""
    limits = deployment.request_limits
    return _Limit(limits.max_pages, limits.max_document_bytes)


def _fetches_urls(deployment: Deployment) -> bool:
    return deployment.info.fetches_urls


def _fits(limit: _Limit, pages: int, size: int) -> bool:
    return pages <= limit.pages and (limit.document_bytes is None or size <= limit.document_bytes)


def _describe(deployments: Sequence[Deployment]) -> str:
    parts = []
    for deployment in deployments:
        limit = _limit(deployment)
        size = "" if limit.document_bytes is None else f", {limit.document_bytes / 1e6:.1f} MB"
        parts.append(f"{deployment.id}: {limit.pages} pages{size}")
    return "; ".join(parts)


async def serve_or_pass(
    router: Router,
    request: OCRRequest,
    plan: list[str],
    *,
    started: float,
    deadline: float,
    shard_pages: int | None,
    partial: bool,
    request_id: str,
    caching: ShardCaching | None = None,
) -> OCRResponse | OCRRequest:
    """The merged answer when `request` is to be sharded; else the request to send as one (the
    same, or with a remote document downloaded once when it had to be looked at)."""
    document = request.document
    if not isinstance(document, DocumentURLChunk):
        return request  # an image or an uploaded file: never sharded
    deployments = [d for group in plan for d in router.deployments(group)]
    limits = [_limit(d) for d in deployments]
    if not document.document_url.startswith("data:"):
        if any(_fetches_urls(d) for d in deployments):
            return request  # a deployment fetches it itself: passed through as before
        request = await _downloaded(router, request, deployments)
        document = request.document
        assert isinstance(document, DocumentURLChunk)
    url = document.document_url
    mime = url[5 : url.find(";")].lower()
    size = _decoded_size(url)
    if mime in (DOCX, PPTX):
        if not any(_fits(limit, 1, size) for limit in limits):
            kind = "DOCX" if mime == DOCX else "PPTX"
            raise InvalidRequestError(
                f"the {kind} document is {size / 1e6:.1f} MB, over every deployment's limit "
                f"({_describe(deployments)}); only PDFs can be sharded: convert it to PDF",
                field="document",
            )
        return request
    need = _need_to_open(request, limits, size, shard_pages)
    if mime != PDF or need == "no":
        return request
    if need == "maybe" and not pdf_available():
        return request  # it may well fit: the host decides, as without sharding
    # Off the event loop: decoding and parsing 40 MB take a tenth of a second. Without the
    # extra this raises MissingExtraError, naming it.
    content, pdf = await asyncio.to_thread(_opened, url)
    pages = _selected_pages(request, pdf.page_count)
    fits_whole = any(_fits(limit, len(pages), len(content)) for limit in limits)
    if request.document_annotation_format is not None:
        if not fits_whole:
            raise InvalidRequestError(
                "document_annotation_format needs the whole document in one request, and no "
                f"deployment takes {len(pages)} pages of {len(content) / 1e6:.1f} MB "
                f"({_describe(deployments)}); send fewer pages (pages=) or no document annotation",
                field="document_annotation_format",
            )
        return request
    wanted = shard_pages is not None and len(pages) > shard_pages
    if fits_whole and not wanted:
        return request
    largest = max(limit.pages for limit in limits)
    per_shard = min(shard_pages, largest) if wanted and shard_pages is not None else largest
    run = _ShardedRun(router, request, plan, pdf, deadline, limits, request_id, caching)
    cuts = [pages[start : start + per_shard] for start in range(0, len(pages), per_shard)]
    outcomes = await run.all(cuts, partial)
    return merge_shards(
        outcomes,
        doc_size_bytes=len(content),
        latency_s=router._clock() - started,
        image_limit=request.image_limit,
    )


def _opened(url: str) -> tuple[bytes, PdfPages]:
    """The PDF a data URI holds, decoded once and opened for cutting."""
    _, content = parse_data_uri(url)
    return content, PdfPages(content)


def _decoded_size(url: str) -> int:
    """The bytes a base64 data URI holds, from its length (no decoding)."""
    payload = len(url) - url.find(",") - 1
    return payload * 3 // 4 - (2 if url.endswith("==") else 1 if url.endswith("=") else 0)


def _need_to_open(
    request: OCRRequest, limits: Sequence[_Limit], size: int, shard_pages: int | None
) -> Literal["no", "maybe", "yes"]:
    """Whether the PDF must be opened (pypdf) to decide: "no" when it surely fits a deployment
    whole and sharding was not asked for, "yes" when sharding is asked for or surely needed,
    "maybe" when its pages could not be told without opening it.

    The pages come from routing's own count (`router.fit.request_facts`: a scan of the bytes,
    no parsing, kept on the request so routing does not count again); a PDF that surely fits
    costs nothing more here."""
    if not any(_fits(limit, 1, size) for limit in limits):
        return "yes"  # over every byte limit
    if shard_pages is None and max(limit.pages for limit in limits) >= MAX_PAGES_PER_REQUEST:
        asked = request.page_indexes
        if asked is not None and any(_fits(limit, len(asked), size) for limit in limits):
            return "no"
    pages = request_facts(request).pages
    if pages is None:
        return "yes" if shard_pages is not None else "maybe"
    if shard_pages is not None and pages > shard_pages:
        return "yes"
    return "no" if any(_fits(limit, pages, size) for limit in limits) else "yes"


def _selected_pages(request: OCRRequest, page_count: int) -> list[int]:
    """The pages to read, in document order: `pages=` (those that exist), or all."""
    asked = request.page_indexes
    if asked is None:
        return list(range(page_count))
    existing = sorted({index for index in asked if index < page_count})
    if not existing:
        raise InvalidRequestError(
            f"pages {page_ranges(sorted(set(asked)))} are out of range: the document has "
            f"{page_count} page(s)",
            field="pages",
        )
    return existing


async def _downloaded(
    router: Router, request: OCRRequest, deployments: Sequence[Deployment]
) -> OCRRequest:
    """The request with its remote document inlined, downloaded once through the guard of the
    plan's first deployment (each needs documents inline here: none fetches URLs itself)."""
    provider = deployments[0].provider
    client = router._client_for_running_loop()
    # Not `provider.prepare`: it also holds the download to that host's limits, and a document
    # that must be sharded is past them by definition. The guard is the same (its settings, and
    # the resolver tests give it).
    from providers.download import inline_remote_document  # rare: kept out of `import router`

    return await inline_remote_document(
        request, client, provider.settings, resolver=provider.download_resolver
    )


class _ShardedRun:
    """The shards of one request: cut, sent through the router, answers checked."""

    def __init__(
        self,
        router: Router,
        request: OCRRequest,
        plan: list[str],
        pdf: PdfPages,
        deadline: float,
        limits: Sequence[_Limit],
        request_id: str,
        caching: ShardCaching | None,
    ) -> None:
        self._request_id = request_id  # the shards are the request's: events carry its id
        self._router = router
        self._caching = caching
        self._request = request
        self._plan = plan
        self._pdf = pdf
        self._deadline = deadline
        self._limits = limits
        self._slots = asyncio.Semaphore(MAX_SHARDS_IN_FLIGHT)
        self._shard_count = 0
        self._shard_of: dict[int, int] = {}  # page -> its shard's number (its span says it)
        self._cutting = asyncio.Lock()  # a pypdf reader is not safe for two threads at once

    async def all(self, shards: list[list[int]], partial: bool) -> list[ShardOutcome]:
        self._shard_count = len(shards)
        self._shard_of = {page: number for number, cut in enumerate(shards) for page in cut}
        tasks = [asyncio.create_task(self._serve(pages)) for pages in shards]
        outcomes: list[ShardOutcome] = []
        try:
            for next_done in asyncio.as_completed(tasks):
                results = await next_done
                for outcome in results:
                    if outcome.response is None and not partial:
                        raise _ShardFailed(outcome)
                outcomes.extend(results)
        except _ShardFailed as failed:
            assert failed.outcome.info.error is not None
            raise failed.error from None
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        if not any(outcome.response is not None for outcome in outcomes):
            first = min(outcomes, key=lambda outcome: outcome.info.pages[0])
            raise _ShardFailed(first).error
        return outcomes

    def _byte_cap(self, pages: int) -> int | None:
        caps = [limit.document_bytes for limit in self._limits if limit.pages >= pages]
        if any(cap is None for cap in caps):
            return None
        return max((cap for cap in caps if cap is not None), default=None)

    async def _serve(self, pages: list[int]) -> list[ShardOutcome]:
        """Serve one shard (or, when its cut is too heavy for any deployment, its halves)."""
        async with self._slots:
            try:
                sub_pdf = await self._cut(pages)
            except OCRRouterError as error:
                return [_failed(pages, error, ())]
            cap = self._byte_cap(len(pages))
            if cap is not None and len(sub_pdf) > cap:
                if len(pages) == 1:
                    too_large = InvalidRequestError(
                        f"page {pages[0]} alone is {len(sub_pdf) / 1e6:.1f} MB, over every "
                        "deployment's limit",
                        field="document",
                    )
                    return [_failed(pages, too_large, ())]
                del sub_pdf
                halves = (pages[: len(pages) // 2], pages[len(pages) // 2 :])
            else:
                return [await self._send(pages, sub_pdf)]
        first, second = await asyncio.gather(self._serve(halves[0]), self._serve(halves[1]))
        return first + second

    def _shard_number(self, pages: list[int]) -> int:
        return self._shard_of.get(pages[0], 0)  # a half keeps its shard's number

    async def _cut(self, pages: list[int]) -> bytes:
        async with self._cutting:
            # Off the event loop: cutting 30 pages costs milliseconds of CPU.
            return await asyncio.to_thread(self._pdf.cut, pages)

    async def _send(self, pages: list[int], sub_pdf: bytes) -> ShardOutcome:
        router = self._router
        original = self._request.document
        assert isinstance(original, DocumentURLChunk)
        # Built from bytes just cut: checked from the bytes, not validated again over the URI.
        document = built_document(sub_pdf, PDF, like=original)
        del sub_pdf
        shard_request = self._request.with_document(document)
        shard_request.pages = None
        job = router._new_job(
            shard_request, self._plan, self._deadline, self._request_id, pages=len(pages)
        )
        key: str | None = None
        mode: bool | Literal["refresh"] = True
        if self._caching is not None:
            # Cached as the page-range request of the whole document this shard stands for.
            as_range = self._request.model_copy(update={"pages": list(pages)})
            caching = self._caching
            key = router._cache_key(as_range, caching.model, caching.mode, caching.digest)
            mode = caching.mode
        try:
            with shard_span(
                self._shard_number(pages),
                self._shard_count,
                first_page=pages[0],
                last_page=pages[-1],
            ):
                response = await router._through_cache(job, key, mode, adapt=_in_document(pages))
            if sorted(page.index for page in response.pages) != pages:
                raise InvalidResponseError("a stored answer does not hold the shard's pages")
        except OCRRouterError as error:
            return _failed(pages, error, tuple(job.attempts))
        info = response.call_info
        return ShardOutcome(
            ShardInfo(
                pages=tuple(pages),
                deployment_id=info.deployment_id,
                provider=info.provider,
                attempts=info.attempts,
                latency_s=info.latency_s,
                cost_usd=info.cost_usd,
                cached=info.cached,
                saved_usd=info.saved_usd,
            ),
            response,
        )


def _in_document(pages: list[int]) -> Callable[[OCRResponse], OCRResponse]:
    """A shard's answer (its pages numbered from 0 in the sub-PDF) with the document's own page
    indexes, as the page-range request it stands for would be answered."""

    def adapt(response: OCRResponse) -> OCRResponse:
        indexes = sorted(page.index for page in response.pages)
        if indexes != list(range(len(pages))):
            raise InvalidResponseError(
                f"the answer to a {len(pages)}-page shard holds pages "
                f"{page_ranges(indexes) or 'none'}"
            )
        for page in response.pages:
            page.index = pages[page.index]
        return response

    return adapt


class _ShardFailed(Exception):
    def __init__(self, outcome: ShardOutcome) -> None:
        super().__init__()
        self.outcome = outcome
        error = outcome.error
        assert error is not None
        pages = outcome.info.page_range
        # Appended: the message keeps its own start ("400 Bad Request") for who reads it.
        error.message = f"{error.message} (the shard of pages {pages} failed)"
        error.args = (error.message,)
        self.error = error


def _failed(pages: list[int], error: OCRRouterError, attempts: tuple[Attempt, ...]) -> ShardOutcome:
    info = ShardInfo(
        pages=tuple(pages),
        deployment_id=None,
        provider=None,
        attempts=attempts,
        latency_s=sum(attempt.latency_s for attempt in attempts),
        cost_usd=None,
        error=f"{type(error).__name__}: {error.message}",
    )
    return ShardOutcome(info, None, error)


__all__ = ["MAX_SHARDS_IN_FLIGHT", "serve_or_pass"]
