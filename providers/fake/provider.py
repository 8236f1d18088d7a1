"""`FakeProvider`: one fake OCR service, with its dialect, its fault plan and its counters.

The object decides every answer; the transports (`transport.py` in-process, `server.py` over real
sockets) only deliver it. That keeps both ways of running a fake behaving identically.

Order of checks for each request, as the real services do it:

1. the route (unknown method or path: 404 in the dialect's envelope, no fault consumed);
2. the credential (wrong or missing: 401, whatever the script says: a fault is "what the service
   does to a request it accepted");
3. the fault: the next script entry, else a seeded random draw from the rates, else ok;
4. only for ok and `slow:` faults, the body: JSON, fields (Mistral's 422; the fields the body's
   model lacks in `router.capabilities` as `extra_forbidden`), the model's retirement (a model
   retired by the fake's `today` answers the host's 404, as a deleted deployment does; checked
   once the body is well formed), documents (Azure and Vertex refuse remote URLs and `file_id`;
   Mistral answers 404 to a `file_id` its Files API does not know, or not yet:
   `fake.batch.new_file_404s`), the model's limits (pages per request, document or body bytes),
   pages (asking only for pages past the end is refused); a 200 is then dressed as the host sends
   it (Azure: `pages_processed_annotation`, `content_filter_results`);
5. the latency (accepted credentials only), then the answer.

Concurrency: the fake's state (script position, random generators, counters, recorded requests) is
guarded by a lock, so a fake may serve from one thread's loop while a test reads its counters from
another; requests served concurrently are decided in the order they arrive.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import threading
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from providers.fake.answer import Answer
from providers.fake.batch_service import FakeBatchService
from providers.fake.dialects import Dialect, Reply, make_dialect
from providers.fake.faults import Fault, FaultPlan
from providers.fake.latency import Latency, LatencySpec
from providers.fake.responses import (
    DEFAULT_ECHO_MODEL,
    DocumentError,
    document_facts,
    ocr_answer,
    page_texts,
    select_pages,
)
from router.capabilities import ModelInfo, lookup
from router.mime import sniff_mime, to_data_uri
from router.types import DocumentURLChunk, FileChunk, OCRRequest, document_url_of

if TYPE_CHECKING:
    import httpx

DEFAULT_HANG_SECONDS = (
    30.0  # longer than any sane client timeout, short enough never to wedge a run
)
# Connection-level faults: the transport, not a Reply, delivers them.
CONNECTION_FAULTS = frozenset({"timeout", "reset", "truncated"})

# The fake's notion of today: a date, a callable giving one, or None for the real (UTC) date.
Today = datetime.date | Callable[[], datetime.date] | None


@dataclass(frozen=True)
class ReceivedRequest:
    """One request as the fake received it. `headers` has lower-case names; `json` is the parsed
    body or None; `outcome` is what the fake did (see `FakeProvider.outcomes`)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str] = field(repr=False)  # holds the credential: kept out of repr()
    json: Any = field(repr=False)  # holds the document
    outcome: str = "ok"
    latency_s: float = 0.0


class FakeProvider:
    """A fake Mistral OCR service speaking one provider's dialect.

    ```python
    fake = FakeProvider("azure_ai", api_key="fake-key", script=["ok", "500", "429:2"],
                        faults={"503": 0.1}, seed=7, latency=(0.01, 0.03))
    client = httpx.AsyncClient(transport=fake.mock_transport())      # in-process
    async with fake.serve() as base_url: ...                           # real HTTP on 127.0.0.1
    with fake.serve_in_thread() as base_url: ...                       # for sync code
    fake.request_count, fake.requests, fake.outcomes; fake.reset()
    ```

    Args:
        provider: "mistral", "azure_ai" or "vertex_ai": routes, auth and error envelopes.
        api_key: the credential to expect (Vertex: the bearer token); None accepts any.
        script: fault entries consumed one per accepted request (see `providers.fake.faults`);
            a list, or one comma-separated string ("ok,500,429:2").
        faults: random rate per fault entry once the script is used up; the rest is ok.
        seed: seeds the random faults and latencies, so a run is reproducible.
        latency: seconds before each answer: a number, a `(low, high)` uniform range or a callable.
        latency_per_page: seconds more per page answered (OCR time grows with the pages).
        default_page_count: pages assumed for a remote URL (never fetched), or an uploaded file
            that is neither a PDF nor an image (an uploaded PDF is read for its pages).
        echo_model: the dated name `mistral-ocr-latest` is answered with.
        hang_seconds: how long a `timeout` fault holds a real connection before dropping it.
        strict_new_fields: azure_ai only: refuse fields newer than the 2505 models with 422
            whatever the model (by default each fake refuses the fields the body's model lacks
            in `router.capabilities`, and holds it to its pages, bytes and document kinds).
        wrap_errors_in_list: vertex_ai only: wrap error envelopes in a one-element list.
        newer_errors: mistral only: False answers the older error bodies (422 under
            `message.detail`, no `raw_status_code`); the newer ones by default.
        today: the date a model's retirement is judged by (a date or a callable giving one;
            None, the default: the real UTC date). Settable later as `fake.today`, so that a
            test shows a model served before its `retires_on` and answered 404 from that day.
        record_requests: keep each request in `requests`; turn off for long benchmarks.

    Counters: `request_count` counts every request received; `outcomes` counts them by what the
    fake did: "ok", "slow", a status ("500", "429" for every 429 form), "timeout", "reset",
    "truncated", "garbage", "null", "empty", or, for requests refused before or after the fault,
    "not_found" (unknown route), "unauthorized" (credential), "invalid" (body refused),
    "retired" (the body's model is retired by `today`: the host's 404) and "file_not_found"
    (a `file_id` the fake's Files API does not know, or not yet: a 404). Give the fake a file
    with `fake.add_file(content)` (or upload it to `/v1/files`, as a client does).
    Latency applies to requests that pass the credential check, never to 404/401 answers.
    """

    def __init__(
        self,
        provider: str,
        *,
        api_key: str | None = None,
        script: Iterable[str] = (),
        faults: Mapping[str, float] | None = None,
        seed: int | None = None,
        latency: LatencySpec = None,
        latency_per_page: float = 0.0,
        default_page_count: int = 1,
        echo_model: str = DEFAULT_ECHO_MODEL,
        hang_seconds: float = DEFAULT_HANG_SECONDS,
        strict_new_fields: bool = False,
        wrap_errors_in_list: bool = False,
        record_requests: bool = True,
        newer_errors: bool | None = None,
        today: Today = None,
    ) -> None:
        options: dict[str, Any] = {}
        if newer_errors is not None:
            options["newer_errors"] = newer_errors
        if strict_new_fields:
            options["strict_new_fields"] = True
        if wrap_errors_in_list:
            options["wrap_errors_in_list"] = True
        try:
            self.dialect: Dialect = make_dialect(provider, **options)
        except TypeError:
            raise ValueError(f"option {sorted(options)} does not apply to {provider}") from None
        if default_page_count < 1:
            raise ValueError("default_page_count must be at least 1")
        if not hang_seconds >= 0:
            raise ValueError("hang_seconds must be >= 0")
        if not 0 <= latency_per_page < float("inf"):
            raise ValueError("latency_per_page must be a number of seconds >= 0")
        self.latency_per_page = float(latency_per_page)
        self.provider = provider
        self.api_key = api_key
        self.default_page_count = default_page_count
        self.echo_model = echo_model
        self.hang_seconds = float(hang_seconds)
        self.record_requests = record_requests
        self.today: Today = today
        self._plan = FaultPlan(script, faults, seed)
        self._latency = Latency(latency, seed)
        # Mistral's Files and Batch APIs (providers/fake/batch_service.py); tests set its faults.
        self.batch = FakeBatchService(self.dialect) if provider == "mistral" else None
        self._lock = threading.Lock()
        self.requests: list[ReceivedRequest] = []
        self.request_count = 0
        self.outcomes: Counter[str] = Counter()

    def __repr__(self) -> str:
        return (
            f"FakeProvider({self.provider!r}, requests={self.request_count}, "
            f"script_remaining={self._plan.script_remaining})"
        )

    def reset(self) -> None:
        """Forget the requests and counters, restart the script and reseed the random draws."""
        with self._lock:
            self.requests.clear()
            self.request_count = 0
            self.outcomes.clear()
            self._plan.reset()
            self._latency.reset()

    # -- deciding -------------------------------------------------------------------------

    def decide(
        self,
        method: str,
        path: str,
        query: Mapping[str, str],
        headers: Mapping[str, str],
        body: bytes,
    ) -> Answer:
        """The answer to one request (`headers` with lower-case names). Records the request."""
        parsed = _parse_json(body)
        answer: Answer | None
        with self._lock:
            batch = (
                self.batch if self.batch is not None and self.batch.matches(method, path) else None
            )
            if batch is None and not self.dialect.matches(method, path):
                answer, outcome = Answer(self.dialect.not_found()), "not_found"
            elif not self.dialect.authorized(headers, self.api_key):
                answer, outcome = Answer(self.dialect.unauthorized()), "unauthorized"
            else:
                fault = self._plan.next_fault()
                delay = self._latency.next_delay() + fault.delay_s
                answer, outcome = self._answer_fault(fault, delay)
                if answer is None and batch is not None:  # the Files and Batch APIs
                    reply = batch.answer(method, path, headers, body, self._answer_line)
                    answer = Answer(reply, delay_s=delay)
                elif answer is None:
                    reply, body_outcome = self._answer_body(body, parsed, path)
                    delay += reply.pages * self.latency_per_page
                    answer = Answer(reply, delay_s=delay)
                    if body_outcome != "ok":
                        outcome = body_outcome
            assert answer is not None
            self.request_count += 1
            self.outcomes[outcome] += 1
            if self.record_requests:
                self.requests.append(
                    ReceivedRequest(
                        method, path, dict(query), dict(headers), parsed, outcome, answer.delay_s
                    )
                )
        return answer

    async def handle(
        self,
        method: str,
        path: str,
        query: Mapping[str, str],
        headers: Mapping[str, str],
        body: bytes,
    ) -> Answer:
        """`decide`, then wait the decided latency (the transport performs connection faults)."""
        answer = self.decide(method, path, query, headers, body)
        if answer.delay_s > 0:
            await asyncio.sleep(answer.delay_s)
        return answer

    def add_file(
        self, content: bytes, *, filename: str = "document.pdf", file_id: str | None = None
    ) -> str:
        """Store a file in this Mistral fake's Files API (as `POST /v1/files` with
        `purpose=ocr` does) and return its `file_id`, for OCR calls on it."""
        if self.batch is None:
            raise ValueError(f"{self.provider} has no Files API: file_id is Mistral's")
        return self.batch.add_file(content, filename=filename, file_id=file_id)

    def current_date(self) -> datetime.date:
        """Today as this fake sees it (`today`; the real UTC date by default)."""
        today = self.today
        if today is None:
            return datetime.datetime.now(datetime.UTC).date()
        return today() if callable(today) else today

    def _retired_model(self, path: str, parsed: Any) -> ModelInfo | None:
        """The first model the request names that its host has retired by `current_date()`."""
        today = self.current_date()
        for model in self.dialect.models_named(path, parsed):
            info = lookup(self.provider, model)
            if info.lifecycle(today) == "retired":
                return info
        return None

    def _answer_fault(self, fault: Fault, delay: float) -> tuple[Answer | None, str]:
        """The answer a fault imposes, or None when the request is to be served normally."""
        outcome = fault.counter_key
        if fault.kind in ("ok", "slow"):
            return None, outcome
        if fault.kind == "status":
            if fault.status == 429:
                reply = self.dialect.rate_limited(fault.retry_after_s, fault.retry_after_ms)
            else:
                reply = self.dialect.error(fault.status)
            return Answer(reply, delay_s=delay), outcome
        if fault.kind in CONNECTION_FAULTS:
            return Answer(None, connection_fault=fault.kind, delay_s=delay), outcome
        bodies = {
            "garbage": b"<html><body>502 Bad Gateway</body></html>",
            "null": b"null",
            "empty": b"",
        }
        content_type = "text/html" if fault.kind == "garbage" else "application/json"
        return Answer(
            Reply(200, bodies[fault.kind], {"content-type": content_type}), delay_s=delay
        ), outcome

    def _answer_line(self, body: bytes, parsed: Any) -> tuple[Reply, bool]:
        """(reply, accepted) for one line of a batch job (its body names the model)."""
        reply, outcome = self._answer_body(body, parsed, "")
        return reply, outcome == "ok"

    def _answer_body(self, body: bytes, parsed: Any, path: str) -> tuple[Reply, str]:
        """(reply, outcome): validate the body as the service does, then answer it. The
        outcome is "ok", "invalid" (refused) or "retired" (a model the host no longer serves)."""
        dialect = self.dialect
        if parsed is None and body.strip() != b"null":
            return dialect.unreadable_json(), "invalid"
        field_detail = dialect.extra_checks(parsed) if isinstance(parsed, dict) else []
        detail = list(field_detail)
        if isinstance(parsed, dict) and "model" not in parsed:
            detail.append(
                {
                    "type": "missing",
                    "loc": ["body", "model"],
                    "msg": "Field required",
                    "input": parsed,
                }
            )
        document_detail = _wire_document_detail(parsed) if isinstance(parsed, dict) else []
        if document_detail:
            # Never reach OCRRequest's coercion: it would open a path named in the body.
            return dialect.invalid_body(document_detail + detail), "invalid"
        try:
            request = OCRRequest.model_validate(parsed)
        except ValidationError as error:
            detail = _pydantic_detail(error) + detail
            request = None
        except ValueError as error:  # raised while coercing an unusual document form
            detail.append(
                {
                    "type": "value_error",
                    "loc": ["body", "document"],
                    "msg": str(error),
                    "input": None,
                }
            )
            request = None
        if request is not None and detail == field_detail:
            # A well-formed body (the shape is checked first, as FastAPI does): the model is
            # looked up before anything the model decides (its fields, limits, documents).
            retired = self._retired_model(path, parsed)
            if retired is not None:
                return dialect.retired(retired, path), "retired"
        if request is not None and detail and detail == field_detail:
            # Only fields the model lacks: the host's own answer to them (a 422).
            return dialect.refuse_field_reply(detail), "invalid"
        if detail or request is None:
            return dialect.invalid_body(detail), "invalid"
        info = dialect.model_info(parsed)
        is_file = isinstance(request.document, FileChunk)
        if is_file and not info.accepts_file_id:
            refusal = dialect.over_limits(
                info, file_id=True, pages=0, document_bytes=0, body_bytes=len(body)
            )
            assert refusal is not None
            return refusal, "invalid"
        if isinstance(request.document, FileChunk):
            file_id = request.document.file_id
            content = None if self.batch is None else self.batch.content_for_ocr(file_id)
            if content is None:
                return dialect.file_not_found(file_id), "file_not_found"
            mime = sniff_mime(content)
            if mime is not None:  # the host reads the uploaded document: its pages, its size
                inline = DocumentURLChunk(document_url=to_data_uri(content, mime))
                request = request.model_copy(update={"document": inline})
        url = document_url_of(request.document)
        if dialect.requires_data_uri and (url is None or not url.startswith("data:")):
            return dialect.error(400, "documents must be base64 data URIs"), "invalid"
        try:
            page_count, size = document_facts(request, self.default_page_count)
        except DocumentError as error:
            return dialect.error(dialect.page_range_status, str(error)), "invalid"
        pages, missing = select_pages(request, page_count)
        if not pages:
            return dialect.error(
                dialect.page_range_status,
                f"pages {missing} are out of range: the document has {page_count} page(s)",
                precondition=True,
            ), "invalid"
        refusal = dialect.over_limits(
            info, file_id=False, pages=len(pages), document_bytes=size or 0, body_bytes=len(body)
        )
        if refusal is not None:
            return refusal, "invalid"
        texts = page_texts(request)
        answer = ocr_answer(request, pages, size, self.echo_model, texts)
        answer = dialect.decorate_answer(request, answer)
        return replace(Reply.json(200, answer), pages=len(pages)), "ok"

    # -- running --------------------------------------------------------------------------

    def mock_transport(self) -> httpx.MockTransport:
        """An in-process transport for `httpx.AsyncClient(transport=...)` (or `httpx.Client`)."""
        from providers.fake.transport import FakeTransport

        return FakeTransport(self)

    @asynccontextmanager
    async def serve(self, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
        """Serve over real HTTP; yields the base URL, e.g. `"http://127.0.0.1:54321"`."""
        from providers.fake.server import serve

        async with serve(self, host, port) as base_url:
            yield base_url

    @contextmanager
    def serve_in_thread(self, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
        """`serve` on its own event loop in a daemon thread, for synchronous code."""
        from providers.fake.server import serve_in_thread

        with serve_in_thread(self, host, port) as base_url:
            yield base_url


def _parse_json(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except (ValueError, UnicodeDecodeError):
        return None


def _wire_document_detail(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Refusals of document forms that `OCRRequest` accepts from Python callers but the wire
    does not: a bare string, or LiteLLM's `{"file": ...}` (which `OCRRequest` reads as a path)."""
    if "document" not in body:
        return []
    document = body["document"]
    if not isinstance(document, dict):
        return [
            {
                "type": "model_attributes_type",
                "loc": ["body", "document"],
                "msg": "Input should be a valid dictionary or object to extract fields from",
                "input": _json_safe(document),
            }
        ]
    return [
        {
            "type": "extra_forbidden",
            "loc": ["body", "document", name],
            "msg": "Extra inputs are not permitted",
            "input": _json_safe(document[name]),
        }
        for name in ("file", "mime_type")
        if name in document
    ]


def _pydantic_detail(error: ValidationError) -> list[dict[str, Any]]:
    """Pydantic's errors as FastAPI lists them: `loc` starts with "body"."""
    detail = []
    for item in error.errors(include_url=False, include_context=False):
        detail.append(
            {
                "type": item["type"],
                "loc": ["body", *item["loc"]],
                "msg": item["msg"],
                "input": _json_safe(item.get("input")),
            }
        )
    return detail


def _json_safe(value: Any) -> Any:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)
    return value


__all__ = ["Answer", "FakeProvider", "ReceivedRequest"]
