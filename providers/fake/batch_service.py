"""Mistral's Files and Batch APIs in the fake: `/v1/files` and `/v1/batch/jobs`, in memory.

Shapes follow the `mistralai` 3.7.0 SDK's models (`FileSchema`, `BatchJob`, `ListBatchJobsOut`):

- `POST /v1/files` (multipart: `file`, `purpose`) stores a file; `GET /v1/files/{id}`,
  `GET /v1/files/{id}/content` (the bytes), `DELETE /v1/files/{id}`.
- `POST /v1/batch/jobs` (`input_files` or inline `requests`, `endpoint`, `model`, `metadata`,
  `timeout_hours`) queues a job over JSONL lines `{"custom_id", "body"}`; only `/v1/ocr` is
  served here. `GET /v1/batch/jobs/{id}` moves it on, one step per look, so a test controls time:
  QUEUED, then RUNNING (each look completes `lines_per_poll` more lines), then SUCCESS with an
  `output_file` (one `{"id", "custom_id", "response": {"status_code", "body"}, "error"}` line per
  success) and an `error_file` (the same shape, failures, with `error: {"message", "code"}`).
  `POST /v1/batch/jobs/{id}/cancel` asks for CANCELLATION_REQUESTED, then CANCELLED after the
  next look (the lines done by then keep their results). `GET /v1/batch/jobs` lists jobs.

Each line's body is judged and answered exactly as `POST /v1/ocr` would answer it (bad lines get
the 422 that call would get). Faults: the fault plan applies to every HTTP call as to `/v1/ocr`;
`line_faults` fails given custom ids with a status; `job_outcome` ends a job FAILED (nothing done)
or TIMEOUT_EXCEEDED (half its lines done); an unknown file or job is 404.

The same store serves OCR's `file_id` documents (`FakeProvider` asks `content_for_ocr`): a file
never uploaded answers 404, as the host does, and `new_file_404s` makes each newly uploaded file
answer 404 to its first N OCR calls (a field report: a file just uploaded may 404 for a moment).
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import default as default_policy
from typing import Any

from providers.fake.dialects import Dialect, Reply

MAX_FILE_BYTES = 512 * 1024 * 1024  # the Files API's limit
MAX_INLINE_REQUESTS = 10_000  # inline `requests` of a job must be fewer
TERMINAL = frozenset({"SUCCESS", "FAILED", "TIMEOUT_EXCEEDED", "CANCELLED"})
SUPPORTED_ENDPOINTS = ("/v1/ocr",)  # the real service has more; this fake only does OCR
_FILE = re.compile(r"^/v1/files/([^/]+)(/content)?$")
_JOB = re.compile(r"^/v1/batch/jobs/([^/]+)(/cancel)?$")

# Judges one OCR body as `POST /v1/ocr` would: (reply, accepted).
OcrAnswer = Callable[[bytes, Any], tuple[Reply, bool]]


@dataclass
class _File:
    id: str
    filename: str
    purpose: str
    content: bytes
    sample_type: str
    created_at: int = field(default_factory=lambda: int(time.time()))
    ocr_404s_left: int = 0  # OCR calls still to answer 404 (`new_file_404s`)

    def schema(self) -> dict[str, Any]:
        lines = self.content.count(b"\n") + (0 if self.content.endswith(b"\n") else 1)
        return {
            "id": self.id,
            "object": "file",
            "bytes": len(self.content),
            "created_at": self.created_at,
            "filename": self.filename,
            "purpose": self.purpose,
            "sample_type": self.sample_type,
            "source": "upload" if self.sample_type == "batch_request" else "mistral",
            "num_lines": lines if self.content else 0,
            "mimetype": "application/jsonl",
            "signature": None,
        }


@dataclass
class _Job:
    id: str
    input_files: list[str]
    endpoint: str
    model: str | None
    metadata: dict[str, Any] | None
    lines: list[tuple[str, Any]]  # (custom_id, body)
    status: str = "QUEUED"
    created_at: int = field(default_factory=lambda: int(time.time()))
    started_at: int | None = None
    completed_at: int | None = None
    done: int = 0
    outputs: list[dict[str, Any]] = field(default_factory=list)
    errors_out: list[dict[str, Any]] = field(default_factory=list)
    output_file: str | None = None
    error_file: str | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)

    def schema(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "batch",
            "input_files": self.input_files,
            "metadata": self.metadata,
            "endpoint": self.endpoint,
            "model": self.model,
            "agent_id": None,
            "output_file": self.output_file,
            "error_file": self.error_file,
            "errors": self.errors,
            "outputs": None,
            "status": self.status,
            "created_at": self.created_at,
            "total_requests": len(self.lines),
            "completed_requests": self.done,
            "succeeded_requests": len(self.outputs),
            "failed_requests": len(self.errors_out),
            "started_at": self.started_at,
            "completed_at": self.completed_at,
        }


class FakeBatchService:
    """The Files and Batch endpoints of one fake Mistral server."""

    def __init__(
        self,
        dialect: Dialect,
        *,
        lines_per_poll: int | None = None,
        line_faults: Mapping[str, int] | None = None,
        job_outcome: str | None = None,
        new_file_404s: int = 0,
    ) -> None:
        if job_outcome not in (None, "FAILED", "TIMEOUT_EXCEEDED"):
            raise ValueError("job_outcome is None, 'FAILED' or 'TIMEOUT_EXCEEDED'")
        self.dialect = dialect
        self.lines_per_poll = lines_per_poll  # None: every line on the first look while running
        self.line_faults = dict(line_faults or {})
        self.job_outcome = job_outcome
        if new_file_404s < 0:
            raise ValueError("new_file_404s must be >= 0")
        self.new_file_404s = new_file_404s  # settable: applies to files uploaded from then on
        self.files: dict[str, _File] = {}
        self.jobs: dict[str, _Job] = {}
        self._lock = threading.Lock()

    @staticmethod
    def matches(method: str, path: str) -> bool:
        if path in ("/v1/files", "/v1/batch/jobs"):
            return method in ("GET", "POST")
        return bool(_FILE.match(path) or _JOB.match(path))

    def answer(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str],
        body: bytes,
        ocr: OcrAnswer,
    ) -> Reply:
        with self._lock:
            if path == "/v1/files":
                return self._upload(headers, body) if method == "POST" else self._list_files()
            if path == "/v1/batch/jobs":
                return self._create(body) if method == "POST" else self._list_jobs()
            file_match = _FILE.match(path)
            if file_match:
                return self._file(method, file_match.group(1), bool(file_match.group(2)))
            job_match = _JOB.match(path)
            assert job_match is not None
            return self._job(method, job_match.group(1), bool(job_match.group(2)), ocr)

    # -- files ------------------------------------------------------------------------------

    def add_file(
        self,
        content: bytes,
        *,
        filename: str = "document.pdf",
        purpose: str = "ocr",
        file_id: str | None = None,
    ) -> str:
        """Store a file as `POST /v1/files` would (for tests that need a known `file_id`)."""
        with self._lock:
            return self._store(file_id or str(uuid.uuid4()), filename, purpose, content)

    def content_for_ocr(self, file_id: str) -> bytes | None:
        """The file an OCR call may read now, or None (never uploaded, deleted, or still within
        its `new_file_404s`, which this call counts down). Called with the fake's lock held (an
        OCR call, or a batch line while this service's own lock is held: it takes no lock)."""
        stored = self.files.get(file_id)
        if stored is None:
            return None
        if stored.ocr_404s_left > 0:
            stored.ocr_404s_left -= 1
            return None
        return stored.content

    def _store(self, file_id: str, filename: str, purpose: str, content: bytes) -> str:
        stored = _File(
            id=file_id,
            filename=filename,
            purpose=purpose,
            content=content,
            sample_type="batch_request" if purpose == "batch" else "instruct",
            ocr_404s_left=self.new_file_404s,
        )
        self.files[stored.id] = stored
        return stored.id

    def _upload(self, headers: Mapping[str, str], body: bytes) -> Reply:
        content_type = headers.get("content-type", "")
        if not content_type.startswith("multipart/form-data"):
            return self._invalid(["body", "file"], "Expected multipart/form-data with a file")
        if len(body) > MAX_FILE_BYTES:
            return self.dialect.error(413, "File too large: the limit is 512 MB")
        message = BytesParser(policy=default_policy).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + body
        )
        fields: dict[str, tuple[str | None, bytes]] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            if isinstance(name, str) and isinstance(payload, bytes):
                fields[name] = (part.get_filename(), payload)
        if "file" not in fields:
            return self._invalid(["body", "file"], "Field required")
        purpose = fields.get("purpose", (None, b"fine-tune"))[1].decode(errors="replace")
        if purpose not in ("fine-tune", "batch", "ocr", "agentic_safety"):
            return self._invalid(["body", "purpose"], f"Input should be 'batch', ... ({purpose})")
        filename, content = fields["file"]
        file_id = self._store(str(uuid.uuid4()), filename or "upload", purpose, content)
        return Reply.json(200, self.files[file_id].schema())

    def _list_files(self) -> Reply:
        data = [stored.schema() for stored in self.files.values()]
        return Reply.json(200, {"object": "list", "data": data, "total": len(data)})

    def _file(self, method: str, file_id: str, content: bool) -> Reply:
        stored = self.files.get(file_id)
        if stored is None:
            return self.dialect.error(404, f"File {file_id} not found")
        if content and method == "GET":
            return Reply(200, stored.content, {"content-type": "application/octet-stream"})
        if method == "GET":
            return Reply.json(200, stored.schema())
        if method == "DELETE" and not content:
            del self.files[file_id]
            return Reply.json(200, {"id": file_id, "object": "file", "deleted": True})
        return self.dialect.error(405, "Method Not Allowed")

    # -- jobs -------------------------------------------------------------------------------

    def _create(self, body: bytes) -> Reply:
        try:
            request = json.loads(body)
        except ValueError:
            return self._invalid(["body"], "JSON decode error")
        if not isinstance(request, dict):
            return self._invalid(["body"], "Input should be a valid dictionary")
        endpoint = request.get("endpoint")
        if endpoint not in SUPPORTED_ENDPOINTS:
            return self._invalid(["body", "endpoint"], f"unsupported endpoint {endpoint!r}")
        input_files = request.get("input_files") or []
        inline = request.get("requests") or []
        if not input_files and not inline:
            return self._invalid(["body", "input_files"], "input_files or requests is required")
        if len(inline) >= MAX_INLINE_REQUESTS:
            return self._invalid(["body", "requests"], "inline requests must be under 10000")
        lines: list[tuple[str, Any]] = []
        for file_id in input_files:
            stored = self.files.get(file_id)
            if stored is None:
                return self.dialect.error(404, f"File {file_id} not found")
            for number, raw in enumerate(stored.content.splitlines()):
                if not raw.strip():
                    continue
                try:
                    line = json.loads(raw)
                except ValueError:
                    line = None
                if not isinstance(line, dict) or "body" not in line:
                    return self._invalid(
                        ["body", "input_files"], f"line {number + 1} is not {{custom_id, body}}"
                    )
                lines.append((str(line.get("custom_id", number)), line["body"]))
        for number, line in enumerate(inline):
            lines.append((str(line.get("custom_id", number)), line.get("body")))
        metadata = request.get("metadata")
        job = _Job(
            id=str(uuid.uuid4()),
            input_files=list(input_files),
            endpoint=endpoint,
            model=request.get("model"),
            metadata=metadata if isinstance(metadata, dict) else None,
            lines=lines,
        )
        self.jobs[job.id] = job
        return Reply.json(200, job.schema())

    def _list_jobs(self) -> Reply:
        data = [job.schema() for job in self.jobs.values()]
        return Reply.json(200, {"object": "list", "data": data, "total": len(data)})

    def _job(self, method: str, job_id: str, cancel: bool, ocr: OcrAnswer) -> Reply:
        job = self.jobs.get(job_id)
        if job is None:
            return self.dialect.error(404, f"Batch job {job_id} not found")
        if cancel and method == "POST":
            if job.status not in TERMINAL:
                job.status = "CANCELLATION_REQUESTED"
            return Reply.json(200, job.schema())
        if method != "GET" or cancel:
            return self.dialect.error(405, "Method Not Allowed")
        self._advance(job, ocr)
        return Reply.json(200, job.schema())

    def _advance(self, job: _Job, ocr: OcrAnswer) -> None:
        """One step of the job's life (see the module docstring)."""
        now = int(time.time())
        if job.status == "QUEUED":
            job.status, job.started_at = "RUNNING", now
            return
        if job.status == "CANCELLATION_REQUESTED":
            self._finish(job, "CANCELLED", now)
            return
        if job.status != "RUNNING":
            return
        if self.job_outcome == "FAILED":
            job.errors.append({"message": "The batch job failed: internal error", "count": 1})
            self._finish(job, "FAILED", now)
            return
        last = len(job.lines)
        if self.job_outcome == "TIMEOUT_EXCEEDED":
            last = len(job.lines) // 2
        step = self.lines_per_poll or len(job.lines)
        for custom_id, body in job.lines[job.done : min(job.done + step, last)]:
            self._run_line(job, custom_id, body, ocr)
            job.done += 1
        if job.done >= last:
            self._finish(job, "TIMEOUT_EXCEEDED" if last < len(job.lines) else "SUCCESS", now)

    def _run_line(self, job: _Job, custom_id: str, body: Any, ocr: OcrAnswer) -> None:
        line_id = f"batch-{secrets.token_hex(6)}"
        status = self.line_faults.get(custom_id)
        if status is not None:
            reply = self.dialect.error(status)
        else:
            body_bytes = json.dumps(body).encode()
            if isinstance(body, dict) and job.model and "model" not in body:
                body_bytes = json.dumps({**body, "model": job.model}).encode()
            reply, _ = ocr(body_bytes, json.loads(body_bytes))
        answer = json.loads(reply.body)
        line: dict[str, Any] = {
            "id": line_id,
            "custom_id": custom_id,
            "response": {"status_code": reply.status, "body": answer},
            "error": None,
        }
        if reply.status == 200:
            job.outputs.append(line)
        else:
            message = answer.get("message") if isinstance(answer, dict) else None
            line["error"] = {"message": json.dumps(message), "code": reply.status}
            job.errors_out.append(line)

    def _finish(self, job: _Job, status: str, now: int) -> None:
        job.status, job.completed_at = status, now
        if job.outputs:
            job.output_file = self._result_file(job, "batch_result", job.outputs)
        if job.errors_out:
            job.error_file = self._result_file(job, "batch_error", job.errors_out)

    def _result_file(self, job: _Job, sample_type: str, lines: list[dict[str, Any]]) -> str:
        content = b"".join(json.dumps(line).encode() + b"\n" for line in lines)
        stored = _File(
            id=str(uuid.uuid4()),
            filename=f"{job.id}_{sample_type}.jsonl",
            purpose="batch",
            content=content,
            sample_type=sample_type,
        )
        self.files[stored.id] = stored
        return stored.id

    def _invalid(self, location: list[str], message: str) -> Reply:
        return self.dialect.invalid_body(
            [{"type": "value_error", "loc": location, "msg": message, "input": None}]
        )


__all__ = ["MAX_FILE_BYTES", "FakeBatchService"]
