"""`ocr-router fake-server` runs a fake over HTTP, prints where, and stops by itself."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest
from fake_helpers import ROUTES, body

from router.cli import main


def start_fake_server(*arguments: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "router.cli", "fake-server", *arguments],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_fake_server_prints_its_address_answers_and_exits_after_duration() -> None:
    process = start_fake_server(
        "--provider", "mistral", "--port", "0", "--duration", "5", "--script", "503,ok"
    )
    try:
        assert process.stdout is not None
        first_line = process.stdout.readline()
        assert first_line.startswith("fake mistral listening on http://127.0.0.1:")
        base_url = first_line.split(" on ", 1)[1].strip()
        with httpx.Client(base_url=base_url, timeout=5) as client:
            statuses = [client.post(ROUTES["mistral"], json=body()).status_code for _ in range(2)]
        assert statuses == [503, 200]
        out, _ = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0
    assert "served 2 requests" in out


def test_fake_server_checks_its_key_and_assumes_pages_for_remote_documents() -> None:
    process = start_fake_server(
        "--provider", "mistral", "--api-key", "cli-key", "--duration", "5", "--pages", "3"
    )
    remote = body("https://example.org/report.pdf")
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().split(" on ", 1)[1].strip()
        with httpx.Client(base_url=base_url, timeout=5) as client:
            refused = client.post(ROUTES["mistral"], json=remote)
            accepted = client.post(
                ROUTES["mistral"], json=remote, headers={"Authorization": "Bearer cli-key"}
            )
    finally:
        process.kill()
        process.wait()
    assert (refused.status_code, accepted.status_code) == (401, 200)
    assert [page["index"] for page in accepted.json()["pages"]] == [0, 1, 2]


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
