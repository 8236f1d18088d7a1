"""Mistral's Batch API: OCR that can wait, at half price, with the router's keys and costs.

Mistral OCRs a batch job's pages at half its list price (OCR 4: 2 instead of 4 USD per 1,000
pages) within `timeout_hours`. Users run such jobs by hand and lose what a router gives them:
their keys spread, one ledger, typed errors. `OCRBatch` runs them through a Router's group:

1. `submit(documents, **params)`: each document becomes one JSONL line `{"custom_id", "body"}`
   (the body is exactly what `aocr` would send), written to a temporary file one document at a
   time (memory holds one document, not the batch), uploaded through the Files API
   (`purpose=batch`, at most 512 MB a file: more lines make more jobs) and queued as a job with
   `endpoint: "/v1/ocr"`. Only Mistral's own deployments of the group run batches (Azure and
   Vertex have no Batch API); the documents are spread over them, one job per deployment (its
   key), so each key's quota carries a share. A deployment that refuses (a wrong key, an outage)
   hands its share to the next one.
2. `wait(refs, on_progress=...)`: polls each job until it ends (SUCCESS, FAILED,
   TIMEOUT_EXCEEDED, CANCELLED), reporting progress; a failed poll (an outage, 429) is retried at
   the next one, `MAX_POLL_FAILURES` in a row end the wait with that error.
3. `results(refs)`: downloads the output and error files (streamed to disk) and yields one
   `BatchOutcome` per document: its `OCRResponse` (priced at the batch rate, booked in the
   router's ledger and counted apart in `router.costs().batch`), or why it failed (its line's
   error, or the job's end when it never ran).

With the router's result cache (router/cache/), a document answered before (by a batch or a
call) is not sent again, and each batch answer is stored under the key the call would use.

A run interrupted after `submit` is resumed from the job id alone: `find(job_id)` asks each Mistral
deployment of the group which one holds it. `run_batch_ocr` and `resume_batch_ocr` do it all.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import tempfile
import time
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from pydantic import ValidationError

from router.cache import adocument_digest, request_parameters, result_key
from router.errors import (
    APIConnectionError,
    InvalidRequestError,
    NotFoundError,
    OCRRouterError,
    RequestTimeoutError,
    scrub,
)
from router.pricing import batch_price_for
from router.types import CallInfo, OCRRequest, OCRResponse

if TYPE_CHECKING:
    from router.deployment import Deployment
    from router.router import Router

MAX_FILE_BYTES = 500 * 1024 * 1024  # under the Files API's 512 MB, room for the multipart frame
TERMINAL = frozenset({"SUCCESS", "FAILED", "TIMEOUT_EXCEEDED", "CANCELLED"})
DEFAULT_POLL_SECONDS = 10.0  # jobs take minutes to hours: a look every 10 s is plenty
MAX_POLL_FAILURES = 5  # consecutive failed looks at one job before the wait gives up
CALL_TIMEOUT = 60.0  # seconds for a Files or Batch call
TRANSFER_TIMEOUT = 600.0  # seconds for an upload or a download of up to 512 MB
ANNOTATED_KEY = "ocr_router_annotated"  # job metadata: whether its requests ask for annotations


class BatchJobError(OCRRouterError):
    """502: a batch job could not be created or followed (its deployment's error is the cause)."""

    status_code = 502


@dataclass(frozen=True)
class BatchJobRef:
    """A submitted job and the deployment (key) it runs on."""

    job_id: str
    deployment_id: str


@dataclass(frozen=True)
class BatchProgress:
    """One look at a job (the fields of the SDK's `BatchJob` that say how far it got)."""

    job_id: str
    deployment_id: str
    status: str
    total: int
    completed: int
    succeeded: int
    failed: int

    @property
    def done(self) -> bool:
        return self.status in TERMINAL


@dataclass(frozen=True)
class BatchOutcome:
    """What became of one document: `response`, or `error` (why it has none)."""

    custom_id: str
    response: OCRResponse | None = None
    error: str | None = None
    status_code: int | None = None  # the line's HTTP status, when it ran and failed


@dataclass
class _Job:
    ref: BatchJobRef
    deployment: Deployment
    expected: list[str] = field(default_factory=list)  # custom ids, when submitted here
    last: dict[str, Any] = field(default_factory=dict)  # the last BatchJob seen
    booked: bool = False  # results already booked in the ledger


class MistralBatchClient:
    """The Files and Batch endpoints of one Mistral deployment (its key, its base URL)."""

    def __init__(self, deployment: Deployment, client: httpx.AsyncClient) -> None:
        self.deployment = deployment
        self._provider = deployment.provider
        self._client = client
        # `.../v1/ocr` -> `.../v1`: the Files and Batch APIs sit beside OCR.
        self._base = self._provider.url().removesuffix("/ocr")

    async def _headers(self) -> dict[str, str]:
        headers = dict(self._provider.settings.headers)
        headers.update(await self._provider.auth_headers(self._client))
        return headers

    def _refusal(self, response: httpx.Response) -> OCRRouterError:
        """A status of 300 or more as the provider's typed error, naming this deployment."""
        failure = self._provider.map_error(response)
        failure.deployment_id = self.deployment.id
        return failure

    @contextlib.contextmanager
    def _transport_errors(self, what: str) -> Iterator[None]:
        """httpx's timeouts and connection errors during `what` as the router's typed errors."""
        try:
            yield
        except httpx.TimeoutException as error:
            raise RequestTimeoutError(
                f"{what}: no answer in time ({type(error).__name__})",
                provider="mistral",
                deployment_id=self.deployment.id,
            ) from None
        except httpx.TransportError as error:
            message = scrub(f"{type(error).__name__}: {error}", self._provider.secrets())
            raise APIConnectionError(
                message, provider="mistral", deployment_id=self.deployment.id
            ) from None

    async def _call(
        self, method: str, path: str, *, timeout: float = CALL_TIMEOUT, **options: Any
    ) -> httpx.Response:
        headers = await self._headers()
        with self._transport_errors(f"{method} {path}"):
            response = await self._client.request(
                method, self._base + path, headers=headers, timeout=timeout, **options
            )
        if response.status_code >= 300:
            raise self._refusal(response)
        return response

    async def upload(self, path: Path, filename: str) -> str:
        """Upload a JSONL of requests (`purpose=batch`); its file id."""
        with path.open("rb") as file:
            response = await self._call(
                "POST",
                "/files",
                files={"file": (filename, file, "application/jsonl")},
                data={"purpose": "batch"},
                timeout=TRANSFER_TIMEOUT,
            )
        return str(_json(response)["id"])

    async def create_job(
        self, file_id: str, *, metadata: Mapping[str, str], timeout_hours: int
    ) -> dict[str, Any]:
        body = {
            "input_files": [file_id],
            "endpoint": "/v1/ocr",
            "model": self._provider.settings.model,
            "metadata": dict(metadata),
            "timeout_hours": timeout_hours,
        }
        return _json(await self._call("POST", "/batch/jobs", json=body))

    async def job(self, job_id: str) -> dict[str, Any]:
        return _json(await self._call("GET", f"/batch/jobs/{job_id}"))

    async def cancel(self, job_id: str) -> dict[str, Any]:
        return _json(await self._call("POST", f"/batch/jobs/{job_id}/cancel"))

    async def download(self, file_id: str, destination: Path) -> None:
        """A file's content, streamed to `destination` (output files can be hundreds of MB)."""
        headers = await self._headers()
        url = f"{self._base}/files/{file_id}/content"
        with self._transport_errors(f"download of {file_id}"):
            async with self._client.stream(
                "GET", url, headers=headers, timeout=TRANSFER_TIMEOUT
            ) as response:
                if response.status_code >= 300:
                    await response.aread()
                    raise self._refusal(response)
                with destination.open("wb") as file:
                    async for chunk in response.aiter_bytes():
                        file.write(chunk)


class OCRBatch:
    """Batch jobs over the Mistral deployments of one model group of `router`.

    Args:
        router: whose deployments, keys and ledger the jobs use.
        model: the model group; its Mistral deployments run the jobs.
        client: an `httpx.AsyncClient` for the Files and Batch calls (default: one of its own,
            closed by `aclose` or `async with`).
        poll_interval: seconds between looks at a running job.
        timeout_hours: how long Mistral may take before the job ends TIMEOUT_EXCEEDED.
    """

    def __init__(
        self,
        router: Router,
        model: str,
        *,
        client: httpx.AsyncClient | None = None,
        poll_interval: float = DEFAULT_POLL_SECONDS,
        timeout_hours: int = 24,
    ) -> None:
        if not (poll_interval >= 0 and math.isfinite(poll_interval)):
            raise InvalidRequestError("poll_interval must be a finite number of seconds >= 0")
        self.router = router
        self.model = model
        self.poll_interval = poll_interval
        self.timeout_hours = timeout_hours
        self.deployments = [d for d in router.deployments(model) if d.provider_name == "mistral"]
        if not self.deployments:
            known = ", ".join(router.groups()) or "none"
            raise InvalidRequestError(
                f"model group {model!r} has no Mistral deployment: the Batch API is Mistral's own "
                f"(groups: {known})",
                field="model",
            )
        self._own_client = client is None
        self._client = client or httpx.AsyncClient()
        self._jobs: dict[str, _Job] = {}
        self.invalid: dict[str, str] = {}  # submit(skip_invalid=True): documents left out, why
        self._cache = router.cache
        self._keys: dict[str, str] = {}  # custom id -> its result-cache key (submitted here)
        self._cached: dict[str, OCRResponse] = {}  # answers the cache gave instead of a job

    async def aclose(self) -> None:
        if self._own_client:
            await self._client.aclose()

    async def __aenter__(self) -> OCRBatch:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def _api(self, deployment: Deployment) -> MistralBatchClient:
        return MistralBatchClient(deployment, self._client)

    # ------------------------------------------------------------------ submit

    async def submit(
        self,
        documents: Mapping[str, Any],
        *,
        metadata: Mapping[str, str] | None = None,
        extra_body: dict[str, Any] | None = None,
        skip_invalid: bool = False,
        use_cache: bool = True,
        **params: Any,
    ) -> list[BatchJobRef]:
        """Queue `documents` (custom id -> any document `aocr` takes; read one at a time, when
        its line is written) with the same OCR `params` for all; the jobs made. A document that
        is not a valid request raises `InvalidRequestError` before its share is sent, or with
        `skip_invalid` is left out and named in `self.invalid` (id -> why). With the router's
        result cache (and `use_cache`), a document answered before is not sent: its stored
        answer comes out of `results` (priced 0, `call_info.cached`), and each batch answer is
        stored for the next run."""
        ids = list(documents)
        if not ids:
            raise InvalidRequestError("a batch needs at least one document", field="documents")
        for custom_id in ids:
            if not isinstance(custom_id, str) or not custom_id or len(custom_id) > 512:
                raise InvalidRequestError(
                    f"custom id {custom_id!r} must be a non-empty string of at most 512 characters",
                    field="documents",
                )
        annotated = any(
            params.get(name) is not None
            for name in ("bbox_annotation_format", "document_annotation_format")
        )
        job_metadata = {**(metadata or {}), ANNOTATED_KEY: str(annotated).lower()}
        healthy = self._healthy_deployments()
        shares = _split(ids, len(healthy))
        lookup = self._lookup if self._cache is not None and use_cache else _never_cached
        refs: list[BatchJobRef] = []
        with tempfile.TemporaryDirectory(prefix="ocr-router-batch-") as folder:
            for number, share in enumerate(shares):
                invalid = self.invalid if skip_invalid else None
                async for part, path, names in _write_jsonl(
                    Path(folder), number, share, documents, extra_body, params, invalid, lookup
                ):
                    order = healthy[number:] + healthy[:number]  # its own first, then the rest
                    refs.append(await self._submit_file(order, path, names, part, job_metadata))
        return refs

    async def _lookup(self, custom_id: str, request: OCRRequest) -> bool:
        """Whether the result cache answers `request` (kept for `results`); else its key is
        remembered, to store the batch's answer."""
        assert self._cache is not None
        digest = await adocument_digest(request.document)
        key = result_key(digest, self.model, request_parameters(request))
        hit = await self._cache.get(key)
        if hit is None:
            self._keys[custom_id] = key
            return False
        self.router.ledger.record_cached(self.model, hit.pages, hit.usd)
        info = CallInfo(
            deployment_id=hit.deployment_id,
            provider=hit.provider,
            model=hit.model,
            latency_s=0.0,
            cost_usd=0.0,
            pages=hit.pages,
            group=hit.group,
            cached=True,
            saved_usd=None if hit.usd is None else float(hit.usd),
        )
        self._cached[custom_id] = hit.response.with_call_info(info)
        return True

    def _healthy_deployments(self) -> list[Deployment]:
        health = self.router.health()
        usable = [d for d in self.deployments if health[d.id].status != "cooling"]
        return usable or list(self.deployments)

    async def _submit_file(
        self,
        order: Sequence[Deployment],
        path: Path,
        names: list[str],
        part: str,
        metadata: Mapping[str, str],
    ) -> BatchJobRef:
        failures: list[str] = []
        last: OCRRouterError | None = None
        for deployment in order:
            api = self._api(deployment)
            try:
                file_id = await api.upload(path, f"ocr-router-{part}.jsonl")
                job = await api.create_job(
                    file_id,
                    metadata={"source": "ocr-router", "group": self.model, **metadata},
                    timeout_hours=self.timeout_hours,
                )
            except InvalidRequestError:
                raise  # the requests are wrong: every deployment would refuse them
            except OCRRouterError as error:
                last = error
                failures.append(f"{deployment.id}: {type(error).__name__} ({error.status_code})")
                continue
            ref = BatchJobRef(str(job["id"]), deployment.id)
            self._jobs[ref.job_id] = _Job(ref, deployment, expected=names, last=job)
            return ref
        assert last is not None
        raise BatchJobError(
            f"no Mistral deployment of {self.model!r} took the batch ({'; '.join(failures)}): "
            f"{last.message}",
            deployment_id=last.deployment_id,
            provider="mistral",
        ) from last

    # ------------------------------------------------------------------ resume

    async def find(self, job_id: str) -> BatchJobRef:
        """The job `job_id` (submitted earlier, perhaps by another process): the deployment of
        the group that holds it is asked for; `NotFoundError` when none does."""
        if job_id in self._jobs:
            return self._jobs[job_id].ref
        errors: list[str] = []
        for deployment in self.deployments:
            try:
                job = await self._api(deployment).job(job_id)
            except OCRRouterError as error:
                errors.append(f"{deployment.id}: {type(error).__name__} ({error.status_code})")
                continue
            ref = BatchJobRef(job_id, deployment.id)
            self._jobs[job_id] = _Job(ref, deployment, last=job)
            return ref
        raise NotFoundError(
            f"no Mistral deployment of {self.model!r} knows batch job {job_id} "
            f"({'; '.join(errors)})",
            provider="mistral",
        )

    # ------------------------------------------------------------------ wait

    async def wait(
        self,
        refs: Iterable[BatchJobRef],
        *,
        on_progress: Callable[[BatchProgress], None] | None = None,
    ) -> list[BatchProgress]:
        """Look at each job every `poll_interval` until all have ended; their last state."""
        jobs = [self._job_of(ref) for ref in refs]
        failures = dict.fromkeys((job.ref.job_id for job in jobs), 0)
        while True:
            pending = [job for job in jobs if _progress(job).status not in TERMINAL]
            for job in pending:
                try:
                    job.last = await self._api(job.deployment).job(job.ref.job_id)
                except OCRRouterError as error:
                    if not error.retryable and error.status_code != 429:
                        raise
                    failures[job.ref.job_id] += 1
                    if failures[job.ref.job_id] >= MAX_POLL_FAILURES:
                        raise
                    continue
                failures[job.ref.job_id] = 0
                if on_progress is not None:
                    on_progress(_progress(job))
            if all(_progress(job).status in TERMINAL for job in jobs):
                return [_progress(job) for job in jobs]
            await asyncio.sleep(self.poll_interval)

    async def cancel(self, ref: BatchJobRef) -> BatchProgress:
        job = self._job_of(ref)
        job.last = await self._api(job.deployment).cancel(ref.job_id)
        return _progress(job)

    def _job_of(self, ref: BatchJobRef) -> _Job:
        job = self._jobs.get(ref.job_id)
        if job is None:
            raise InvalidRequestError(
                f"batch job {ref.job_id} is not known here: find() it first", field="job_id"
            )
        return job

    # ------------------------------------------------------------------ results

    async def results(
        self, refs: Iterable[BatchJobRef], *, expected: Iterable[str] = ()
    ) -> AsyncIterator[BatchOutcome]:
        """One outcome per document of each ended job; successes are priced at the batch rate
        and booked in the router's ledger (once per job, however often this is called).
        `expected` names documents that must have an outcome (a resumed job's inputs): one the
        job never answered is a failure saying how the job ended."""
        wanted = list(expected)
        seen: set[str] = set()
        for custom_id, response in self._cached.items():
            seen.add(custom_id)
            yield BatchOutcome(custom_id, response=response)
        for ref in refs:
            job = self._job_of(ref)
            async for outcome in self._job_results(job):
                seen.add(outcome.custom_id)
                await self._store(job, outcome)
                yield outcome
            why = _job_end(job)
            for custom_id in job.expected:
                if custom_id not in seen:
                    seen.add(custom_id)
                    yield BatchOutcome(custom_id, error=f"not processed: the job {why}")
            job.booked = True
        for custom_id in wanted:
            if custom_id not in seen:
                yield BatchOutcome(custom_id, error="not in the batch job(s) given")

    async def _store(self, job: _Job, outcome: BatchOutcome) -> None:
        """A batch answer into the result cache, under the key its request was looked up by."""
        key = self._keys.pop(outcome.custom_id, None)
        if self._cache is None or key is None or outcome.response is None:
            return
        info = outcome.response.call_info
        usd = None if info.cost_usd is None else Decimal(repr(info.cost_usd))
        await self._cache.put(
            key,
            outcome.response,
            deployment_id=info.deployment_id,
            provider=info.provider,
            model=info.model,
            group=self.model,
            usd=usd,
        )

    async def _job_results(self, job: _Job) -> AsyncIterator[BatchOutcome]:
        if _progress(job).status not in TERMINAL:
            raise InvalidRequestError(
                f"batch job {job.ref.job_id} is still {_progress(job).status}: wait() for it",
                field="job_id",
            )
        api = self._api(job.deployment)
        with tempfile.TemporaryDirectory(prefix="ocr-router-results-") as folder:
            for key in ("output_file", "error_file"):
                file_id = job.last.get(key)
                if not file_id:
                    continue
                path = Path(folder) / f"{key}.jsonl"
                await api.download(str(file_id), path)
                # One line at a time (an output file may hold hundreds of MB of answers).
                for line in _read_lines(path):
                    yield self._outcome(job, line)

    def _outcome(self, job: _Job, line: Any) -> BatchOutcome:
        if not isinstance(line, dict):
            return BatchOutcome("?", error="an unreadable result line")
        custom_id = str(line.get("custom_id"))
        response = line.get("response")
        response = response if isinstance(response, dict) else {}
        status = response.get("status_code")
        body = response.get("body")
        if status == 200 and isinstance(body, dict):
            try:
                answer = OCRResponse.model_validate(body)
            except ValidationError:
                return BatchOutcome(custom_id, error="200 with a body that is not an OCR response")
            return BatchOutcome(custom_id, response=self._priced(job, answer))
        return BatchOutcome(
            custom_id,
            error=_line_error(status, body, line.get("error")),
            status_code=status if isinstance(status, int) else None,
        )

    def _priced(self, job: _Job, response: OCRResponse) -> OCRResponse:
        deployment = job.deployment
        # Annotated requests are priced at the annotated rate; the job's metadata says which.
        metadata = job.last.get("metadata")
        annotated = isinstance(metadata, dict) and metadata.get(ANNOTATED_KEY) == "true"
        plain, annotated_pages = response.usage_info.billed_pages(annotated)
        usd = batch_cost(deployment, plain, annotated_pages)
        pages = plain + annotated_pages
        if not job.booked:
            self.router.ledger.record_batch(deployment, pages, usd, time.time())
        created, completed = job.last.get("created_at"), job.last.get("completed_at")
        elapsed = (
            float(completed - created)
            if isinstance(created, int) and isinstance(completed, int)
            else 0.0
        )
        return response.with_call_info(
            CallInfo(
                deployment_id=deployment.id,
                provider=deployment.provider_name,
                model=deployment.model,
                latency_s=elapsed,
                cost_usd=None if usd is None else float(usd),
                pages=pages,
                group=deployment.group,
                batch_job_id=job.ref.job_id,
            )
        )


def batch_cost(deployment: Deployment, plain: int, annotated: int) -> Decimal | None:
    """What `plain` and `annotated` pages cost on `deployment` through the Batch API (the batch
    price of its model, `router.pricing.batch_price_for`); None when no batch price is known."""
    _, _, model = deployment.model.partition("/")
    per_page, per_annotated = batch_price_for(deployment.provider_name, model)
    total = Decimal(0)
    for pages, price in ((plain, per_page), (annotated, per_annotated)):
        if pages:
            if price is None:
                return None
            total += Decimal(repr(float(price))) * pages
    return total if per_page is not None else None


async def run_batch_ocr(
    router: Router,
    model: str,
    documents: Mapping[str, Any],
    *,
    poll_interval: float = DEFAULT_POLL_SECONDS,
    on_progress: Callable[[BatchProgress], None] | None = None,
    client: httpx.AsyncClient | None = None,
    **params: Any,
) -> dict[str, BatchOutcome]:
    """Submit `documents` as batch jobs, wait for them and collect one outcome per document."""
    async with OCRBatch(router, model, client=client, poll_interval=poll_interval) as batch:
        refs = await batch.submit(documents, **params)
        await batch.wait(refs, on_progress=on_progress)
        return {outcome.custom_id: outcome async for outcome in batch.results(refs)}


async def resume_batch_ocr(
    router: Router,
    model: str,
    job_ids: Iterable[str],
    *,
    poll_interval: float = DEFAULT_POLL_SECONDS,
    on_progress: Callable[[BatchProgress], None] | None = None,
    client: httpx.AsyncClient | None = None,
) -> dict[str, BatchOutcome]:
    """`run_batch_ocr` for jobs submitted earlier (by id): wait for them, collect outcomes."""
    async with OCRBatch(router, model, client=client, poll_interval=poll_interval) as batch:
        refs = [await batch.find(job_id) for job_id in job_ids]
        await batch.wait(refs, on_progress=on_progress)
        return {outcome.custom_id: outcome async for outcome in batch.results(refs)}


# ---------------------------------------------------------------------- helpers


def _split(ids: list[str], parts: int) -> list[list[str]]:
    """`ids` in at most `parts` contiguous, nearly equal shares (none empty)."""
    parts = max(1, min(parts, len(ids)))
    size, extra = divmod(len(ids), parts)
    shares, start = [], 0
    for number in range(parts):
        end = start + size + (1 if number < extra else 0)
        shares.append(ids[start:end])
        start = end
    return shares


async def _write_jsonl(
    folder: Path,
    number: int,
    ids: list[str],
    documents: Mapping[str, Any],
    extra_body: dict[str, Any] | None,
    params: Mapping[str, Any],
    invalid: dict[str, str] | None,
    cached: Callable[[str, OCRRequest], Awaitable[bool]],
) -> AsyncIterator[tuple[str, Path, list[str]]]:
    """The share's JSONL files (a new one before `MAX_FILE_BYTES`): (label, path, custom ids).
    Each document is read, validated and written before the next one is read; an invalid one
    raises, or is recorded in `invalid` when that is given; one `cached` answers is left out.
    A file with no line is not made."""
    part = 0
    names: list[str] = []
    path = folder / f"{number}-{part}.jsonl"
    file = path.open("wb")
    written = 0
    try:
        for custom_id in ids:
            try:
                request = OCRRequest.build(documents[custom_id], extra_body=extra_body, **params)
                line = json.dumps(
                    {"custom_id": custom_id, "body": request.to_wire()}, separators=(",", ":")
                ).encode()
                if len(line) + 1 > MAX_FILE_BYTES:
                    raise InvalidRequestError(
                        f"document {custom_id!r} is over the Files API's 512 MB as a request",
                        field="documents",
                    )
            except InvalidRequestError as error:
                if invalid is None:
                    raise
                invalid[custom_id] = error.message
                continue
            if await cached(custom_id, request):
                continue
            if names and written + len(line) + 1 > MAX_FILE_BYTES:
                file.close()
                yield f"{number}-{part}", path, names
                part, names, written = part + 1, [], 0
                path = folder / f"{number}-{part}.jsonl"
                file = path.open("wb")
            file.write(line + b"\n")
            written += len(line) + 1
            names.append(custom_id)
        file.close()
        if names:
            yield f"{number}-{part}", path, names
    finally:
        file.close()


async def _never_cached(custom_id: str, request: OCRRequest) -> bool:
    return False


def _read_lines(path: Path) -> Iterator[Any]:
    """Each JSON line of `path` (None for one that is not JSON)."""
    with path.open("rb") as file:
        for raw in file:
            if raw.strip():
                try:
                    yield json.loads(raw)
                except ValueError:
                    yield None


def _progress(job: _Job) -> BatchProgress:
    last = job.last

    def count(name: str) -> int:
        value = last.get(name)
        return value if isinstance(value, int) else 0

    return BatchProgress(
        job_id=job.ref.job_id,
        deployment_id=job.ref.deployment_id,
        status=str(last.get("status", "QUEUED")),
        total=count("total_requests"),
        completed=count("completed_requests"),
        succeeded=count("succeeded_requests"),
        failed=count("failed_requests"),
    )


def _job_end(job: _Job) -> str:
    status = _progress(job).status
    messages = [
        str(error.get("message"))
        for error in job.last.get("errors") or []
        if isinstance(error, dict) and error.get("message")
    ]
    return f"ended {status}" + (f" ({'; '.join(messages)[:300]})" if messages else "")


def _line_error(status: Any, body: Any, error: Any) -> str:
    """A failed line's reason: its status and the service's message (never the document)."""
    message: Any = None
    if isinstance(error, dict):
        message = error.get("message")
    if message is None and isinstance(body, dict):
        message = body.get("message") or body.get("detail")
    if not isinstance(message, str):
        message = json.dumps(message)[:300] if message is not None else "no reason given"
    return f"{status if status is not None else '?'}: {message[:300]}"


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        parsed = response.json()
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        raise BatchJobError(
            f"{response.request.method} {response.request.url.path}: "
            f"{response.status_code} with a body that is not a JSON object",
            provider="mistral",
        )
    return parsed


__all__ = [
    "DEFAULT_POLL_SECONDS",
    "BatchJobError",
    "BatchJobRef",
    "BatchOutcome",
    "BatchProgress",
    "MistralBatchClient",
    "OCRBatch",
    "batch_cost",
    "resume_batch_ocr",
    "run_batch_ocr",
]
