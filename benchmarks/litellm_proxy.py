"""Start and stop LiteLLM's proxy for the benchmarks (standard library only, runs in our venv).

The proxy runs from the LiteLLM venv that `litellm_env.ensure_litellm_python` builds; its config
comes from `litellm_side.py proxy-config`, which writes JSON (a subset of YAML) so that this module
can read the master key back without a YAML parser.

    proxy = start_litellm_proxy(python, config, port=free_port(), workers=2)
    try:
        ...  # POST http://127.0.0.1:PORT/v1/ocr, Authorization: Bearer <master key>, model "ocr"
    finally:
        stop(proxy)
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import zlib
from base64 import b64encode
from pathlib import Path

MODEL_GROUP = "ocr"
STARTUP_LINE = "Application startup complete."

# Keep LiteLLM local and quiet: the bundled cost map and catalogs instead of fetching them, the
# proxy's telemetry vetoed, no .env read from the working directory (PRODUCTION mode only skips
# dotenv), and no access log line per benchmark request (startup lines stay, to count workers).
LITELLM_ENVIRONMENT = {
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "LITELLM_OFFLINE_MODE": "true",
    "LITELLM_TELEMETRY_DISABLED": "true",
    "LITELLM_MODE": "PRODUCTION",
    "LITELLM_DISABLE_ACCESS_LOG_PATHS": "/v1/ocr,/ocr",
}
# Variables that would make the proxy reach a database or a cache server it must not use.
_UNSET = ("DATABASE_URL", "DIRECT_URL", "REDIS_HOST", "REDIS_URL", "LITELLM_LOG")


class LiteLLMProxy(subprocess.Popen[bytes]):
    """The proxy's main process, with where its output goes and how long it took to serve."""

    log_path: Path
    url: str
    master_key: str
    startup_seconds: float


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (avoid 4000: LiteLLM swaps it if busy)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def minimal_pdf_data_uri() -> str:
    """A one-page PDF as a data URI, built here because this module imports nothing of ours."""
    stream = zlib.compress(b"BT /F1 24 Tf 72 700 Td (Probe) Tj ET")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    pdf = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(pdf))
        pdf += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(pdf)
    pdf += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    pdf += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    pdf += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return "data:application/pdf;base64," + b64encode(bytes(pdf)).decode()


def _log_tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no output)"
    return "\n".join(text.splitlines()[-lines:]) or "(no output)"


def _probe(url: str, master_key: str, document_url: str) -> str | None:
    """None when `POST /v1/ocr` answers 200 with pages, else why not."""
    body = json.dumps(
        {"model": MODEL_GROUP, "document": {"type": "document_url", "document_url": document_url}}
    ).encode()
    request = urllib.request.Request(
        f"{url}/v1/ocr",
        data=body,
        headers={"Authorization": f"Bearer {master_key}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            answer = json.loads(response.read())
    except urllib.error.HTTPError as error:
        return f"HTTP {error.code}: {error.read()[:300]!r}"
    except (OSError, ValueError) as error:
        return f"{type(error).__name__}: {error}"
    if not answer.get("pages"):
        return f"200 without pages: {str(answer)[:300]}"
    return None


def start_litellm_proxy(
    python: Path,
    config: Path,
    port: int,
    workers: int,
    *,
    master_key: str | None = None,
    document_url: str | None = None,
    timeout: float = 120.0,
) -> LiteLLMProxy:
    """Start `litellm --config` on 127.0.0.1:`port` and return once it serves OCR.

    Ready means: every worker logged uvicorn's startup line, and `POST /v1/ocr` for model `ocr`
    answered 200 with pages. `master_key` defaults to the config's; `document_url` to a tiny PDF.
    Raises RuntimeError with the tail of the proxy's output if it exits or is not ready in time.
    """
    if master_key is None:
        master_key = str(json.loads(config.read_text())["general_settings"]["master_key"])
    document_url = document_url or minimal_pdf_data_uri()
    environment = {**os.environ, **LITELLM_ENVIRONMENT}
    for name in _UNSET:
        environment.pop(name, None)
    # A file, not a pipe: nobody reads the proxy's output while it runs, and a full pipe blocks it.
    descriptor, log_name = tempfile.mkstemp(prefix="litellm-proxy-", suffix=".log")
    command = [
        str(python.parent / "litellm"),
        "--config",
        str(config),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--num_workers",
        str(workers),
    ]
    started = time.perf_counter()
    with open(descriptor, "wb") as log:
        process = LiteLLMProxy(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=environment,
            cwd=config.parent,
            start_new_session=True,  # its own process group: stop() ends the workers too
        )
    process.log_path = Path(log_name)
    process.url = f"http://127.0.0.1:{port}"
    process.master_key = master_key
    try:
        _wait_until_serving(process, workers, document_url, started + timeout)
    except BaseException:
        stop(process)
        raise
    process.startup_seconds = time.perf_counter() - started
    return process


def _wait_until_serving(
    process: LiteLLMProxy, workers: int, document_url: str, deadline: float
) -> None:
    last_problem = "not probed yet"
    while time.perf_counter() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"LiteLLM proxy exited with code {process.returncode} before serving:\n"
                f"{_log_tail(process.log_path)}"
            )
        started_workers = process.log_path.read_text(errors="replace").count(STARTUP_LINE)
        if started_workers >= workers:
            last_problem = _probe(process.url, process.master_key, document_url) or ""
            if not last_problem:
                return
        else:
            last_problem = f"{started_workers} of {workers} workers started"
        time.sleep(0.2)
    raise RuntimeError(
        f"LiteLLM proxy not serving OCR after the wait ({last_problem}):\n"
        f"{_log_tail(process.log_path)}"
    )


def stop(process: subprocess.Popen[bytes], grace: float = 10.0, *, keep_log: bool = False) -> None:
    """End the proxy's whole process group: SIGTERM, then SIGKILL after `grace` seconds.

    Its output file is deleted unless `keep_log` (errors raised here already carry its tail)."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=grace)
    # Workers may outlive the main process: kill whatever is left of the group.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    if isinstance(process, LiteLLMProxy) and not keep_log:
        process.log_path.unlink(missing_ok=True)
