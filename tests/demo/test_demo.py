"""`ocr-router demo`: a short run to completion, through the command, as a process, and Ctrl-C."""

from __future__ import annotations

import asyncio
import io
import os
import re
import shlex
import signal
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

import httpx
import pytest
from rich.console import Console

from router.cli import main
from router.demo import DemoOptions, DemoSummary, StopSignal, run_demo
from router.demo.scenario import load_sample_documents
from router.demo.serve import DEMO_PROXY_KEY, ServeOptions, example_request, run_serve_demo
from router.mime import sniff_mime

REPOSITORY = Path(__file__).parents[2]
SHORT = DemoOptions(duration_s=3, rate=30, live=False)


def _quiet_console() -> tuple[Console, io.StringIO]:
    output = io.StringIO()
    return Console(file=output, width=120), output


def _flat(text: str) -> str:
    """The text with its line folds undone: sentences are folded at the console's width."""
    return " ".join(text.split())


def _demo_process(*arguments: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "router.cli", "demo", *arguments],
        cwd=REPOSITORY,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def test_sample_documents_ship_with_the_package_as_real_pdfs_and_pngs() -> None:
    shipped = {entry.name for entry in files("providers.sample_documents").iterdir()}
    samples = load_sample_documents()

    assert {sample.name for sample in samples} <= shipped
    assert len(samples) >= 5
    for sample in samples:
        assert sniff_mime(sample.content) == sample.mime_type
    assert {sample.mime_type for sample in samples} == {"application/pdf", "image/png"}
    assert sum(len(sample.content) for sample in samples) < 50_000


async def test_short_demo_accounts_for_every_request_and_fails_over() -> None:
    console, output = _quiet_console()

    summary = await run_demo(SHORT, console)

    assert summary.sent > 0
    assert summary.sent == summary.succeeded + summary.failed
    assert summary.success_rate >= 0.95
    assert summary.failovers > 0
    assert summary.retries >= summary.failovers
    assert sum(d.attempts for d in summary.deployments.values()) == summary.sent + summary.retries
    assert summary.outage is not None
    outage_deployment, outage = summary.outage
    assert any(
        cooldown.deployment_id == outage_deployment and cooldown.at_s >= outage.start_s
        for cooldown in summary.cooldowns
    )
    assert summary.deployments[outage_deployment].failures.get("503", 0) >= 3
    assert summary.pages > 0 and summary.cost_usd > 0
    text = _flat(output.getvalue())
    assert "Summary" in text
    assert f"{outage_deployment} had an outage" in text
    assert not summary.interrupted
    # The last act: a long PDF sharded across the fleet, whole and in order.
    sharded = summary.sharded
    assert sharded is not None and sharded.error is None
    assert sharded.shards == 12 and sharded.pages == 120 and sharded.in_order
    assert sum(sharded.by_deployment.values()) == 12 and len(sharded.by_deployment) >= 2
    assert "A 120-page PDF, sharded into 12 sub-PDFs" in text


@pytest.mark.parametrize("width", [80, 120])
async def test_the_summary_folds_between_words_at_the_console_width(width: int) -> None:
    output = io.StringIO()
    console = Console(file=output, width=width)

    summary = await run_demo(DemoOptions(duration_s=1, rate=20, live=False), console)

    printed = output.getvalue()
    for line in printed.splitlines():
        if not line.startswith("["):  # status lines stay whole, for a log to grep
            assert len(line) <= width, line
    words = set(printed.split())
    for sentence in summary.explanation:
        assert set(sentence.split()) <= words, sentence  # no word cut in two


async def test_stop_ends_the_stream_early_and_still_summarises() -> None:
    console, output = _quiet_console()
    stop = StopSignal()
    options = DemoOptions(duration_s=30, rate=30, live=False)

    async def press_ctrl_c() -> None:
        await asyncio.sleep(0.5)
        stop.request()

    _, summary = await asyncio.gather(press_ctrl_c(), run_demo(options, console, stop))

    assert isinstance(summary, DemoSummary)
    assert summary.interrupted
    assert summary.sent == summary.succeeded + summary.failed
    assert summary.elapsed_s < options.duration_s
    assert "stopped by Ctrl-C" in _flat(output.getvalue())


async def test_live_mode_draws_the_table_on_a_terminal() -> None:
    output = io.StringIO()
    console = Console(file=output, width=100, force_terminal=True)

    summary = await run_demo(DemoOptions(duration_s=1, rate=20, live=True), console)

    assert summary.sent == summary.succeeded + summary.failed
    assert "\x1b[" in output.getvalue()  # the live table redraws itself with escape codes


def test_demo_command_exits_0_with_a_summary(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["demo", "--duration", "2", "--rate", "30", "--seed", "3"])

    printed = capsys.readouterr().out
    assert status == 0
    assert "Summary" in printed
    assert "requests succeeded" in printed


def test_demo_command_refuses_a_bad_rate(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["demo", "--rate", "0"])

    assert exit_info.value.code == 2
    assert "--rate" in capsys.readouterr().err


def test_demo_process_without_a_terminal_prints_plain_lines_and_ends_by_itself() -> None:
    process = _demo_process("--duration", "2", "--rate", "20")
    stdout, stderr = process.communicate(timeout=30)

    assert process.returncode == 0, stderr
    assert "\x1b[" not in stdout
    assert "Summary" in stdout
    assert re.search(
        r"^\[\s*\d+\.\ds\] requests \d+ ok \d+ failed \d+", stdout, re.M
    )  # status lines
    assert "Traceback" not in stderr


def test_sigint_mid_run_prints_the_summary_and_exits_130_without_a_traceback() -> None:
    process = _demo_process("--duration", "60", "--rate", "20")
    assert process.stdout is not None
    first_line = process.stdout.readline()  # printed once the fakes and the router are up
    assert "ocr-router demo" in first_line
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=30)

    assert process.returncode == 130, stderr  # cut short, as `ocr` says it too
    assert "Summary" in stdout
    assert "stopped by Ctrl-C" in _flat(stdout)
    assert "Traceback" not in stderr


# ---------------------------------------------------------------- demo --serve


async def _served_url(output: io.StringIO, server: asyncio.Task[DemoSummary]) -> str:
    """The proxy's address, once the demo has printed it."""
    for _ in range(500):
        match = re.search(r"on (http://127\.0\.0\.1:\d+) \(key ", output.getvalue())
        if match:
            return match.group(1)
        if server.done():
            server.result()
        await asyncio.sleep(0.01)
    raise AssertionError(f"the demo proxy never announced its address: {output.getvalue()!r}")


async def test_serve_demo_answers_mistral_requests_and_summarises_them() -> None:
    console, output = _quiet_console()
    stop = StopSignal()
    server = asyncio.create_task(run_serve_demo(ServeOptions(port=0, live=False), console, stop))
    url = await _served_url(output, server)
    body = example_request()
    async with httpx.AsyncClient(base_url=url, timeout=20) as client:
        bearer = {"Authorization": f"Bearer {DEMO_PROXY_KEY}"}
        answers = await asyncio.gather(
            *(client.post("/v1/ocr", json=body, headers=bearer) for _ in range(30))
        )
        refused = await client.post("/v1/ocr", json=body)
    stop.request()
    summary = await asyncio.wait_for(server, 30)

    assert [answer.status_code for answer in answers] == [200] * 30
    assert all(len(answer.json()["pages"]) == 2 for answer in answers)
    assert refused.status_code == 401
    assert summary.sent == summary.succeeded == 30  # the refused request never reached the router
    assert sum(d.attempts for d in summary.deployments.values()) == summary.sent + summary.retries
    assert summary.interrupted
    text = output.getvalue()
    assert f"Bearer {DEMO_PROXY_KEY}" in text and "curl -s " in text
    assert "Summary" in text


async def test_serve_demo_ends_after_its_duration_and_frees_the_port() -> None:
    console, output = _quiet_console()
    server = asyncio.create_task(
        run_serve_demo(ServeOptions(port=0, duration_s=0.5, live=False), console)
    )
    url = await _served_url(output, server)
    summary = await asyncio.wait_for(server, 30)

    assert not summary.interrupted and summary.sent == 0
    async with httpx.AsyncClient(base_url=url, timeout=5) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get("/health/liveness")


def test_serve_demo_process_prints_a_curl_command_that_works_and_stops_on_sigint() -> None:
    process = _demo_process("--serve", "--port", "0")
    assert process.stdout is not None
    lines = [process.stdout.readline() for _ in range(3)]
    curl = shlex.split(lines[2])
    assert curl[:2] == ["curl", "-s"], lines
    answer = subprocess.run(
        [*curl, "-w", "\n%{http_code}"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=30)

    assert answer.stdout.rsplit("\n", 1)[1] == "200", answer
    assert process.returncode == 0, stderr
    assert "1 of 1 requests succeeded" in _flat(stdout)
    assert "Traceback" not in stderr
