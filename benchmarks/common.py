"""What every benchmark of ours shares: the request, the fake server process, tables and JSON.

The fake runs in its own process (`ocr-router fake-server`), so the process measured carries
only the client side; `ServerProcess.cpu_share` tells how much of one core it used meanwhile,
so a table can show it was not the bottleneck.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import measure

BENCHMARKS = Path(__file__).resolve().parent
RESULTS = BENCHMARKS / "results"
KEY = "bench-key-0123456789"
MASTER_KEY = "sk-bench-master-key"


def document_url() -> str:
    """The request's document: a one-page PDF, inline (no download, nothing outside loopback)."""
    from providers.samples import make_pdf

    return "data:application/pdf;base64," + base64.b64encode(make_pdf(1)).decode()


def wire_body(model: str) -> bytes:
    """The same request as Mistral's OCR endpoint takes it."""
    body = {"model": model, "document": {"type": "document_url", "document_url": document_url()}}
    return json.dumps(body, separators=(",", ":")).encode()


@dataclass
class ServerProcess:
    """A server in its own process group, with its URL and a CPU meter."""

    process: subprocess.Popen[str]
    url: str
    _cpu_mark: float = 0.0
    _wall_mark: float = field(default_factory=time.perf_counter)

    def mark(self) -> None:
        """Start a CPU measurement (see `cpu_share`)."""
        self._cpu_mark = measure.cpu_seconds(self.process.pid)
        self._wall_mark = time.perf_counter()

    def cpu_share(self) -> float:
        """Cores used by the server's main process since `mark` (1.0 = one core, busy)."""
        elapsed = time.perf_counter() - self._wall_mark
        return (measure.cpu_seconds(self.process.pid) - self._cpu_mark) / max(elapsed, 1e-9)


@contextlib.contextmanager
def server(
    arguments: Sequence[str], ready_prefix: str, timeout: float = 60.0
) -> Iterator[ServerProcess]:
    """Run `arguments` until it prints a line starting `ready_prefix` followed by its URL; the
    whole process group is killed on exit."""
    process = subprocess.Popen(
        list(arguments),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,  # one group: its workers die with it
    )
    try:
        deadline = time.monotonic() + timeout
        assert process.stdout is not None
        line = process.stdout.readline()
        while not line.startswith(ready_prefix):
            if not line or time.monotonic() > deadline:
                raise RuntimeError(f"{arguments[0]} did not start: {line!r}")
            line = process.stdout.readline()
        yield ServerProcess(process, line.removeprefix(ready_prefix).strip())
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


def fake_server() -> contextlib.AbstractContextManager[ServerProcess]:
    """A fake Mistral OCR server (no delay, no faults) on 127.0.0.1."""
    command = [sys.executable, "-m", "router.cli", "fake-server", "--provider", "mistral"]
    return server([*command, "--port", "0", "--api-key", KEY], "fake mistral listening on ")


def table(title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table (it prints readably and pastes into the README as it is)."""
    cells = [[_cell(value) for value in row] for row in rows]
    lines = [f"### {title}", "", "| " + " | ".join(headers) + " |"]
    lines.append("|" + "|".join("---" for _ in headers) + "|")
    lines.extend("| " + " | ".join(row) + " |" for row in cells)
    return "\n".join(lines) + "\n"


def _cell(value: Any) -> str:
    if isinstance(value, float):
        if value != value:
            return "-"
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"
    return str(value)


def save(name: str, data: dict[str, Any]) -> Path:
    """Write `data` to results/NAME.json (with the machine it ran on) and return the path."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    data = {"machine": machine(), **data}
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")
    return path


def machine() -> dict[str, Any]:
    import platform

    cpu = "unknown"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as info:
        cpu = next((line.split(":", 1)[1].strip() for line in info if "model name" in line), cpu)
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }


def ms(seconds: float) -> float:
    return seconds * 1e3


def us(seconds: float) -> float:
    return seconds * 1e6
