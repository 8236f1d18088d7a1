"""`ocr-router fake-server` runs a fake over HTTP, prints where, and stops by itself."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from fake_helpers import ROUTES, body

from providers.samples import make_png
from router.cli import main


@contextmanager
def fake_server_process(*arguments: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """Start `python -m router.cli fake-server ...`; yield it and the address it printed."""
    process = subprocess.Popen(
        [sys.executable, "-m", "router.cli", "fake-server", *arguments],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first_line = process.stdout.readline()
        assert first_line.startswith("fake "), process.stderr.read() if process.stderr else ""
        yield process, first_line.split(" listening on ", 1)[1].strip()
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=15)  # also closes the pipes


def test_fake_server_prints_its_address_answers_and_exits_after_duration() -> None:
    with fake_server_process(
        "--provider",
        "mistral",
        "--port",
        "0",
        "--duration",
        "5",
        "--script",
        "503,ok",
        "--today",
        "2026-05-30",
    ) as (process, base_url):
        assert base_url.startswith("http://127.0.0.1:")
        with httpx.Client(base_url=base_url, timeout=5) as client:
            statuses = [client.post(ROUTES["mistral"], json=body()).status_code for _ in range(2)]
            # --today: the day before mistral-ocr-2505 retired, so it is still served.
            old = client.post(ROUTES["mistral"], json=body(model="mistral-ocr-2505"))
        out, _ = process.communicate(timeout=15)
    assert statuses == [503, 200]
    assert old.status_code == 200
    assert process.returncode == 0
    assert "served 3 requests" in out


def test_a_long_running_fake_server_keeps_no_copy_of_what_it_served() -> None:
    # 200 requests of ~1.4 MB each: kept, they would add ~280 MB to the server's memory.
    document = "data:image/png;base64," + base64.b64encode(make_png() + bytes(1 << 20)).decode()
    big = {"model": "mistral-ocr-latest", "document": {"type": "image_url", "image_url": document}}
    with fake_server_process("--provider", "mistral", "--port", "0") as (process, base_url):
        client = httpx.Client(base_url=base_url, timeout=15)
        with client:
            assert client.post(ROUTES["mistral"], json=big).status_code == 200
            before = resident_bytes(process.pid)
            for _ in range(200):
                assert client.post(ROUTES["mistral"], json=big).status_code == 200
            grown = resident_bytes(process.pid) - before
    assert grown < 64 * 2**20, f"the fake server grew by {grown / 2**20:.0f} MiB"


def resident_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_fake_server_checks_its_key_and_stops_on_sigterm() -> None:
    remote = body("https://example.org/report.pdf")
    with fake_server_process("--provider", "mistral", "--api-key", "cli-key", "--pages", "3") as (
        process,
        base_url,
    ):
        with httpx.Client(base_url=base_url, timeout=5) as client:
            refused = client.post(ROUTES["mistral"], json=remote)
            accepted = client.post(
                ROUTES["mistral"], json=remote, headers={"Authorization": "Bearer cli-key"}
            )
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=15)
    assert (refused.status_code, accepted.status_code) == (401, 200)
    assert [page["index"] for page in accepted.json()["pages"]] == [0, 1, 2]
    assert process.returncode == 0
    assert "served 2 requests" in out


@pytest.mark.parametrize(
    "arguments",
    [
        ["fake-server"],
        ["fake-server", "--provider", "openai"],
        ["fake-server", "--provider", "mistral", "--fault", "500"],
        ["fake-server", "--provider", "mistral", "--latency", "fast"],
        ["fake-server", "--provider", "mistral", "--script", "ok,5xx"],
        ["fake-server", "--provider", "mistral", "--pages", "0"],
        ["no-such-command"],
    ],
)
def test_bad_arguments_exit_with_status_2(
    arguments: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(arguments)
    assert exit_info.value.code == 2
    assert "error" in capsys.readouterr().err


def test_version_is_printed(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.startswith("ocr-router ")
