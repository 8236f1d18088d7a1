"""`ocr-router` as a person meets it: the README's config, resuming, odd inputs, pipes, Ctrl-C."""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console
from test_cli_batch_ocr import MISTRAL_KEY, mistral_deployment, write_config

from providers.fake import FakeProvider
from providers.samples import make_pdf, make_png
from router.batch import BatchResult, DocumentResult, print_summary
from router.batch_inputs import BatchInput, discover_inputs
from router.cli import main

REPOSITORY = Path(__file__).parents[2]


def _environment() -> dict[str, str]:
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("MISTRAL", "AZURE_AI", "VERTEXAI", "OCR_ROUTER"))
    }


def _command(*arguments: str) -> list[str]:
    return [sys.executable, "-m", "router.cli", *arguments]


@pytest.fixture
def mistral() -> FakeProvider:
    return FakeProvider("mistral", api_key=MISTRAL_KEY, seed=5)


def test_model_names_a_group_of_the_config(
    tmp_path: Path, mistral: FakeProvider, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a.png").write_bytes(make_png())
    with mistral.serve_in_thread() as url:
        config = write_config(
            tmp_path / "router.yaml",
            [mistral_deployment(url, group="fast"), mistral_deployment(url, group="cheap")],
        )
        code = main(
            [
                "ocr",
                str(tmp_path / "a.png"),
                "--config",
                config,
                "--model",
                "cheap",
                "--out",
                str(tmp_path / "out"),
            ]
        )

    assert code == 0, capsys.readouterr()
    assert (tmp_path / "out" / "a.md").is_file()
    assert mistral.outcomes["ok"] == 1


def test_a_group_with_its_fallback_needs_no_model(
    tmp_path: Path, mistral: FakeProvider, capsys: pytest.CaptureFixture[str]
) -> None:
    # The README's config: a group and its backup. The backup is never where a request starts.
    (tmp_path / "a.png").write_bytes(make_png())
    with mistral.serve_in_thread() as url:
        config = write_config(
            tmp_path / "router.yaml",
            [
                mistral_deployment(url, group="mistral-ocr"),
                mistral_deployment(url, group="mistral-ocr-backup"),
            ],
            fallbacks=[{"mistral-ocr": ["mistral-ocr-backup"]}],
        )
        code = main(["ocr", str(tmp_path / "a.png"), "--config", config, "--out", str(tmp_path)])

    assert code == 0, capsys.readouterr()
    assert "mistral-ocr/mistral/" in capsys.readouterr().out  # served by the entry group


def test_folders_list_their_files_in_natural_order(tmp_path: Path) -> None:
    for name in ("doc10.png", "doc2.png", "Doc1.png", "doc2b.png", "sub9/x.png", "sub10/x.png"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(make_png())

    found, _ = discover_inputs([str(tmp_path)])

    names = [Path(label).relative_to(tmp_path).as_posix() for label, _ in found]
    assert names == ["Doc1.png", "doc2.png", "doc2b.png", "doc10.png", "sub9/x.png", "sub10/x.png"]


def test_skip_existing_resumes_a_run_without_sending_again(
    tmp_path: Path, mistral: FakeProvider, capsys: pytest.CaptureFixture[str]
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    for number in range(3):
        (docs / f"d{number}.pdf").write_bytes(make_pdf(1))
    out = tmp_path / "out"
    out.mkdir()
    (out / "d1.md").write_text("kept from the last run", encoding="utf-8")
    with mistral.serve_in_thread() as url:
        config = write_config(tmp_path / "router.yaml", [mistral_deployment(url)])
        code = main(["ocr", str(docs), "--config", config, "--out", str(out), "--skip-existing"])

    stdout = capsys.readouterr().out
    assert code == 0
    assert mistral.outcomes["ok"] == 2
    assert (out / "d1.md").read_text(encoding="utf-8") == "kept from the last run"
    assert (out / "d0.md").is_file() and (out / "d2.md").is_file()
    assert "skipped 1 document whose result was already in the output folder" in stdout


def test_mime_type_names_what_the_content_does_not_show(
    tmp_path: Path, mistral: FakeProvider, capsys: pytest.CaptureFixture[str]
) -> None:
    unknown = tmp_path / "scan.raw"
    unknown.write_bytes(b"\x00\x01 not a format anyone sniffs")
    with mistral.serve_in_thread() as url:
        config = write_config(tmp_path / "router.yaml", [mistral_deployment(url)])
        base = ["ocr", str(unknown), "--config", config, "--out", str(tmp_path / "out")]
        refused = main(base)
        refused_output = capsys.readouterr().out
        accepted = main([*base, "--mime-type", "image/x-raw"])

    assert refused == 1
    assert "pass --mime-type to say what it is" in " ".join(refused_output.split())
    assert accepted == 0, capsys.readouterr()
    (received,) = [request for request in mistral.requests if request.outcome == "ok"]
    assert received.json is not None
    assert received.json["document"]["image_url"].startswith("data:image/x-raw;base64,")
    with pytest.raises(SystemExit):
        main([*base, "--mime-type", "png"])


def test_pages_past_the_end_of_a_local_pdf_fail_before_anything_is_sent(
    tmp_path: Path, mistral: FakeProvider, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "short.pdf").write_bytes(make_pdf(3))
    (tmp_path / "long.pdf").write_bytes(make_pdf(6))
    with mistral.serve_in_thread() as url:
        config = write_config(tmp_path / "router.yaml", [mistral_deployment(url)])
        code = main(
            [
                "ocr",
                str(tmp_path / "short.pdf"),
                str(tmp_path / "long.pdf"),
                "--pages",
                "1,4",
                "--config",
                config,
                "--out",
                str(tmp_path / "out"),
            ]
        )

    stdout = " ".join(capsys.readouterr().out.split())
    assert code == 1
    assert "short.pdf: InvalidRequestError" in stdout
    assert "--pages asks for page 4, but the PDF has 3 pages (0 to 2)" in stdout
    assert mistral.request_count == 1  # only long.pdf was sent
    assert (tmp_path / "out" / "long.md").is_file()


def test_the_summary_keeps_the_end_of_long_paths_and_counts_in_english() -> None:
    prefix = "scans/2026/customer-with-a-very-long-folder-name/batch-of-december"
    documents = [
        DocumentResult(BatchInput(label=f"{prefix}/{name}"), ok=True, pages=1, output=None)
        for name in ("invoice-0001.pdf", "invoice-0002.pdf")
    ]
    screen = io.StringIO()

    print_summary(BatchResult(documents=documents[:1]), Console(file=screen, width=100))
    print_summary(BatchResult(documents=documents), Console(file=screen, width=100))

    text = screen.getvalue()
    assert "invoice-0001.pdf" in text and "invoice-0002.pdf" in text
    assert "1 document " in text and "1 documents" not in text and "2 documents" in text


def test_ctrl_c_prints_the_summary_of_what_ended_and_exits_130(tmp_path: Path) -> None:
    slow = FakeProvider("mistral", api_key=MISTRAL_KEY, latency=0.3)
    docs = tmp_path / "docs"
    docs.mkdir()
    for number in range(30):
        (docs / f"d{number}.png").write_bytes(make_png())
    with slow.serve_in_thread() as url:
        config = write_config(tmp_path / "router.yaml", [mistral_deployment(url)])
        process = subprocess.Popen(
            _command("ocr", "docs", "--config", config, "--out", "out", "--concurrency", "1"),
            cwd=tmp_path,
            env={**_environment(), "PYTHONUNBUFFERED": "1"},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert process.stderr is not None
        first = process.stderr.readline()  # piped: a line as soon as the first document ends
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=30)

    assert first.startswith("[1/30] docs/d0.png: ok"), first + stderr
    assert process.returncode == 130, stderr
    flat = " ".join(stdout.split())
    assert "not finished (nothing written)" in flat
    done = len(list((tmp_path / "out").glob("*.md")))
    assert 1 <= done < 30
    assert f"{done} ok, 0 failed" in flat
    assert "Traceback" not in stderr


def test_fake_server_on_a_busy_port_says_so_without_a_traceback() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        finished = subprocess.run(
            _command("fake-server", "--provider", "mistral", "--port", str(port)),
            capture_output=True,
            text=True,
            timeout=30,
        )

    assert finished.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in finished.stderr
    assert "Traceback" not in finished.stderr


def test_check_config_into_a_reader_that_stops_early_ends_quietly(tmp_path: Path) -> None:
    deployments = [
        mistral_deployment(f"http://127.0.0.1:{9000 + n}", group=f"g{n}") for n in range(300)
    ]
    config = write_config(tmp_path / "router.yaml", deployments)
    reader = subprocess.Popen(["head", "-n", "1"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    writer = subprocess.run(
        _command("check-config", config),
        stdout=reader.stdin,
        stderr=subprocess.PIPE,
        text=True,
        timeout=60,
    )
    assert reader.stdin is not None
    reader.stdin.close()
    reader.wait(timeout=10)

    assert "BrokenPipeError" not in writer.stderr and "Traceback" not in writer.stderr
    assert writer.returncode in (0, 141)  # 141 when the reader left before the end


def test_commands_come_from_one_table_and_none_registers_itself() -> None:
    from router.cli import COMMANDS, build_parser

    _, runners = build_parser()
    assert list(runners) == [name for name, _ in COMMANDS]
    assert set(runners) == {"demo", "quickstart", "ocr", "serve", "check-config", "fake-server"}
    source = "\n".join(path.read_text() for path in (REPOSITORY / "router").rglob("*.py"))
    assert "@subcommand" not in source and "TEMPORARY" not in source
