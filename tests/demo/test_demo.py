"""`ocr-router demo`: a short run to completion, through the command, as a process, and Ctrl-C."""

from __future__ import annotations

import asyncio
import io
import os
import re
import signal
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

import pytest
from rich.console import Console

from router.cli import main
from router.demo import DemoOptions, DemoSummary, StopSignal, run_demo
from router.demo.scenario import load_sample_documents
from router.mime import sniff_mime

REPOSITORY = Path(__file__).parents[2]
SHORT = DemoOptions(duration_s=3, rate=30, live=False)


def _quiet_console() -> tuple[Console, io.StringIO]:
    output = io.StringIO()
    return Console(file=output, width=120), output


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
    text = output.getvalue()
    assert "Summary" in text
    assert f"{outage_deployment} had an outage" in text
    assert not summary.interrupted


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
    assert "stopped by Ctrl-C" in output.getvalue()


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
    assert re.search(r"^\[\s*\d+\.\ds\] requests \d+ ok \d+ failed \d+", stdout, re.M)  # status lines
    assert "Traceback" not in stderr


def test_sigint_mid_run_prints_the_summary_and_exits_0_without_a_traceback() -> None:
    process = _demo_process("--duration", "60", "--rate", "20")
    assert process.stdout is not None
    first_line = process.stdout.readline()  # printed once the fakes and the router are up
    assert "ocr-router demo" in first_line
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=30)

    assert process.returncode == 0, stderr
    assert "Summary" in stdout
    assert "stopped by Ctrl-C" in stdout
    assert "Traceback" not in stderr
