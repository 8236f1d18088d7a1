"""`ocr-router ocr`: batches of real sample documents through fake providers on 127.0.0.1."""

from __future__ import annotations

import base64
import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from providers.fake import FakeProvider
from providers.samples import make_pdf, make_png
from router.batch import BatchOptions, run_batch
from router.batch_inputs import assign_outputs, discover_inputs
from router.cli import main
from router.pdf import count_pages
from router.router import Router
from router.types import OCRResponse

REPOSITORY = Path(__file__).parents[2]
MISTRAL_KEY = "fake-mistral-Kq3Vb8"
AZURE_KEY = "fake-azure-Zt6Pn1"
WRONG_KEY = "wrong-key-Jd2Wx5"
# Quick to give up, so that the failure tests take milliseconds: a short deadline, no waits.
FAST_FAILURE_SETTINGS = {
    "num_retries": 2,
    "timeout": 5,
    "backoff_initial": 0,
    "backoff_max": 0.01,
    "cooldown_time": 30,
}
PAGE_MARKER = re.compile(r"<!-- page (\d+) -->")
# What the fake read on a PDF page itself ("Page 3 of 6", 1-based): a shard's answer numbers its
# pages from 0 in the sub-PDF, the page's own text tells which page of the document it is.
FAKE_PAGE_TEXT = re.compile(r"The page shows: .*?Page (\d+) of \d+")
FAKE_PAGE_INDEX = re.compile(r"Fake OCR text of page index (\d+)")  # an image's one page


def make_sample_folder(root: Path) -> dict[str, int]:
    """20 documents (PDFs of 1 to 11 pages, PNGs, a nested folder, two files named a.pdf) and
    one text file to skip; returns each document's path relative to `root` and its page count."""
    pages: dict[str, int] = {}
    for number in range(12):
        count = number % 5 + 1 if number != 7 else 11  # one PDF long enough to be split
        pages[f"report-{number:02d}.pdf"] = count
    for number in range(4):
        pages[f"scan-{number}.png"] = 1
    pages["a.pdf"] = 2
    pages["nested/a.pdf"] = 3
    pages["nested/deeper/letter.pdf"] = 4
    pages["nested/photo.png"] = 1
    for name, count in pages.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(make_png() if name.endswith(".png") else make_pdf(count, title=name))
    (root / "nested" / "README.txt").write_text("not a document", encoding="utf-8")
    return pages


def write_config(path: Path, deployments: list[dict[str, Any]], **settings: Any) -> str:
    config: dict[str, Any] = {"model_list": deployments}
    if settings:
        config["router_settings"] = settings
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    os.chmod(path, 0o600)  # inline keys in a file others may read would draw a warning
    return str(path)


def mistral_deployment(base_url: str, key: str = MISTRAL_KEY, group: str = "ocr") -> dict[str, Any]:
    return {
        "model_name": group,
        "model": "mistral/mistral-ocr-latest",
        "api_key": key,
        "api_base": base_url,
    }


def azure_deployment(base_url: str, key: str = AZURE_KEY) -> dict[str, Any]:
    return {
        "model_name": "ocr",
        "model": "azure_ai/mistral-document-ai-2512",
        "api_key": key,
        "api_base": base_url,
    }


def page_order(markdown: str) -> list[int]:
    markers = [int(index) for index in PAGE_MARKER.findall(markdown)]
    shown = []
    for section in PAGE_MARKER.split(markdown)[2::2]:
        text = FAKE_PAGE_TEXT.search(section)
        shown.append(int(text[1]) - 1 if text else int(FAKE_PAGE_INDEX.findall(section)[0]))
    assert markers == shown
    return markers


@pytest.fixture
def two_fakes() -> Iterator[tuple[FakeProvider, str, FakeProvider, str]]:
    mistral = FakeProvider("mistral", api_key=MISTRAL_KEY, latency=(0, 0.005), seed=3)
    azure = FakeProvider("azure_ai", api_key=AZURE_KEY, latency=(0, 0.005), seed=4)
    with mistral.serve_in_thread() as mistral_url, azure.serve_in_thread() as azure_url:
        yield mistral, mistral_url, azure, azure_url


def test_folder_of_20_documents_writes_20_results_in_page_order_and_exits_0(
    tmp_path: Path,
    two_fakes: tuple[FakeProvider, str, FakeProvider, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    mistral, mistral_url, azure, azure_url = two_fakes
    pages = make_sample_folder(tmp_path / "docs")
    config = write_config(
        tmp_path / "router.yaml", [mistral_deployment(mistral_url), azure_deployment(azure_url)]
    )
    out = tmp_path / "results"

    code = main(["ocr", str(tmp_path / "docs"), "--config", config, "--out", str(out)])

    stdout, stderr = capsys.readouterr()
    assert code == 0
    results = sorted(path.name for path in out.iterdir())
    assert len(results) == 20
    assert "a.md" in results and "a-2.md" in results  # two a.pdf, neither result lost
    assert "nested/README.txt: not a document" in stderr
    for name, count in pages.items():
        # Same stems; the second a.pdf (in sorted order) gets -2.
        result = "a-2.md" if name == "nested/a.pdf" else Path(name).stem + ".md"
        assert page_order((out / result).read_text(encoding="utf-8")) == list(range(count))
    assert "20 documents" in stdout and "20 ok, 0 failed" in stdout
    assert mistral.request_count + azure.request_count >= 20
    assert MISTRAL_KEY not in stdout + stderr and AZURE_KEY not in stdout + stderr


def test_json_results_are_spec_conformant_ocr_responses(
    tmp_path: Path,
    two_fakes: tuple[FakeProvider, str, FakeProvider, str],
    validate_spec: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, mistral_url, _, azure_url = two_fakes
    pages = make_sample_folder(tmp_path / "docs")
    config = write_config(
        tmp_path / "router.yaml", [mistral_deployment(mistral_url), azure_deployment(azure_url)]
    )
    out = tmp_path / "json"

    code = main(
        ["ocr", str(tmp_path / "docs"), "--config", config, "--out", str(out), "--format", "json"]
    )

    assert code == 0
    written = {path.name: json.loads(path.read_text(encoding="utf-8")) for path in out.iterdir()}
    assert len(written) == 20
    for body in written.values():
        validate_spec(body, "OCRResponse")
        response = OCRResponse.model_validate(body)
        assert [page.index for page in response.pages] == list(range(len(response.pages)))
        assert response.usage_info.pages_processed == len(response.pages)
    assert len(written["report-07.json"]["pages"]) == pages["report-07.pdf"] == 11


def sent_page_counts(fake: FakeProvider) -> list[int]:
    """The page count of each sub-PDF the fake received (none asks for `pages`)."""
    counts = []
    for request in fake.requests:
        assert "pages" not in request.json
        uri = request.json["document"]["document_url"]
        counts.append(count_pages(base64.b64decode(uri.split(",", 1)[1])))
    return sorted(counts)


async def test_big_pdf_is_sharded_into_sub_pdfs_and_merged_back_in_order(
    tmp_path: Path, fake_server: Any
) -> None:
    """Changed on purpose with sharding: the command used to send the whole PDF once per page
    range (`pages`); the Router now sends sub-PDFs holding only their pages."""
    # Random latencies: the shards come back out of order, the result must not.
    fake = FakeProvider("mistral", api_key=MISTRAL_KEY, latency=(0, 0.02), seed=11)
    url = await fake_server(fake)
    (tmp_path / "big.pdf").write_bytes(make_pdf(23))
    found, _ = discover_inputs([str(tmp_path / "big.pdf")])
    options = BatchOptions(out_dir=tmp_path / "out", shard_pages=5, concurrency=4)
    inputs = assign_outputs(found, options.out_dir, ".md")

    async with Router([mistral_deployment(url)]) as router:
        result = await run_batch(inputs, router, "ocr", options)

    (document,) = result.documents
    assert document.ok and document.pages == 23 and document.requests == 5
    assert sent_page_counts(fake) == [3, 5, 5, 5, 5]
    markdown = (options.out_dir / "big.md").read_text(encoding="utf-8")
    assert page_order(markdown) == list(range(23))
    assert "Sample Page 23 of 23" in markdown.split("<!-- page 22 -->")[1]
    assert document.cost_usd == pytest.approx(23 * 0.004)  # Mistral's list price per page


async def test_a_failed_chunk_fails_its_document_and_writes_nothing(
    tmp_path: Path, fake_server: Any
) -> None:
    fake = FakeProvider("mistral", api_key=MISTRAL_KEY, script=["ok", "400"])
    url = await fake_server(fake)
    (tmp_path / "big.pdf").write_bytes(make_pdf(12))
    found, _ = discover_inputs([str(tmp_path / "big.pdf")])
    options = BatchOptions(out_dir=tmp_path / "out", shard_pages=4, concurrency=1)

    async with Router([mistral_deployment(url)]) as router:
        result = await run_batch(
            assign_outputs(found, options.out_dir, ".md"), router, "ocr", options
        )

    (document,) = result.documents
    assert not document.ok and result.exit_code == 1
    # The message starts with its status ("400 Bad Request"): the reason does not say it twice.
    assert document.error is not None
    assert document.error.startswith("BadRequestError: [ocr/mistral/mistral-ocr-latest#")
    assert "] 400 Bad Request" in document.error and "(400)" not in document.error
    assert list(options.out_dir.iterdir()) == []
    assert fake.request_count <= 3  # no shard sent twice: a 400 is not retried


def test_pages_option_selects_the_same_pages_of_every_document(
    tmp_path: Path, two_fakes: tuple[FakeProvider, str, FakeProvider, str]
) -> None:
    mistral, mistral_url, _, _ = two_fakes
    (tmp_path / "one.pdf").write_bytes(make_pdf(6))
    (tmp_path / "two.pdf").write_bytes(make_pdf(5))
    config = write_config(tmp_path / "router.yaml", [mistral_deployment(mistral_url)])
    out = tmp_path / "out"

    code = main(
        [
            "ocr",
            str(tmp_path / "one.pdf"),
            str(tmp_path / "two.pdf"),
            "--config",
            config,
            "--out",
            str(out),
            "--pages",
            "0,2-4",
            "--shard-pages",
            "2",
        ]
    )

    assert code == 0
    for name in ("one.md", "two.md"):
        assert page_order((out / name).read_text(encoding="utf-8")) == [0, 2, 3, 4]
    # Only the pages asked for were cut out: two sub-PDFs of 2 pages per document.
    assert sent_page_counts(mistral) == [2, 2, 2, 2]


def test_all_providers_failing_exits_1_naming_each_document_and_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    always_500 = FakeProvider("mistral", api_key=MISTRAL_KEY, faults={"500": 1.0}, seed=1)
    wrong_key = FakeProvider("azure_ai", api_key=AZURE_KEY)
    (tmp_path / "docs").mkdir()
    for name in ("first.pdf", "second.pdf", "third.png"):
        content = make_png() if name.endswith(".png") else make_pdf(2)
        (tmp_path / "docs" / name).write_bytes(content)
    with always_500.serve_in_thread() as url_500, wrong_key.serve_in_thread() as url_401:
        config = write_config(
            tmp_path / "router.yaml",
            [mistral_deployment(url_500), azure_deployment(url_401, key=WRONG_KEY)],
            **FAST_FAILURE_SETTINGS,
        )
        code = main(
            ["ocr", str(tmp_path / "docs"), "--config", config, "--out", str(tmp_path / "out")]
        )

    stdout, stderr = capsys.readouterr()
    assert code == 1
    failures = [line for line in stdout.splitlines() if line.startswith("FAILED ")]
    assert len(failures) == 3
    for name in ("first.pdf", "second.pdf", "third.png"):
        (line,) = [line for line in failures if f"docs/{name}: " in line]
        # The typed error of the last attempt, or why no deployment was left to try.
        assert re.search(r"(ServerError: .*500|AuthenticationError: .*401|NoDeployment)", line)
    assert "0 ok, 3 failed" in stdout
    assert always_500.outcomes["500"] >= 1 and wrong_key.outcomes["unauthorized"] >= 1
    assert WRONG_KEY not in stdout + stderr and MISTRAL_KEY not in stdout + stderr
    assert not list((tmp_path / "out").iterdir())


def test_an_explicit_file_that_is_not_a_document_fails_with_its_reason(
    tmp_path: Path,
    two_fakes: tuple[FakeProvider, str, FakeProvider, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, mistral_url, _, _ = two_fakes
    (tmp_path / "notes.txt").write_text("plain text", encoding="utf-8")
    (tmp_path / "ok.png").write_bytes(make_png())
    config = write_config(tmp_path / "router.yaml", [mistral_deployment(mistral_url)])

    code = main(
        [
            "ocr",
            str(tmp_path / "notes.txt"),
            str(tmp_path / "ok.png"),
            "--config",
            config,
            "--out",
            str(tmp_path / "out"),
        ]
    )

    stdout, _ = capsys.readouterr()
    assert code == 1
    assert "InvalidRequestError (422): cannot tell the document type" in stdout
    assert "1 ok, 1 failed" in stdout
    assert (tmp_path / "out" / "ok.md").is_file()


def test_nothing_configured_says_what_to_set_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a.png").write_bytes(make_png())

    code = main(["ocr", str(tmp_path / "a.png"), "--out", str(tmp_path / "out")])

    _, stderr = capsys.readouterr()
    assert code == 2
    assert "no providers configured" in stderr
    assert "--config config.yaml" in stderr and "MISTRAL_API_KEY" in stderr
    assert "ocr-router demo" in stderr
    assert not (tmp_path / "out").exists()


def test_model_without_its_providers_key_says_which_variable_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a.png").write_bytes(make_png())

    code = main(["ocr", str(tmp_path / "a.png"), "--model", "mistral/mistral-ocr-latest"])

    assert code == 2
    assert "no API key: set it on the deployment or in $MISTRAL_API_KEY" in capsys.readouterr().err


def test_several_groups_need_a_model_and_the_groups_are_listed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a.png").write_bytes(make_png())
    config = write_config(
        tmp_path / "router.yaml",
        [
            mistral_deployment("http://127.0.0.1:9", group="fast"),
            mistral_deployment("http://127.0.0.1:9", group="cheap"),
        ],
    )

    assert main(["ocr", str(tmp_path / "a.png"), "--config", config]) == 2
    assert "several model groups: pass --model with one of fast, cheap" in capsys.readouterr().err
    assert main(["ocr", str(tmp_path / "a.png"), "--config", config, "--model", "ocr"]) == 2
    assert "no model group 'ocr'" in capsys.readouterr().err


def test_a_missing_input_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(
        "OCR_ROUTER_CONFIG",
        write_config(tmp_path / "r.yaml", [mistral_deployment("http://127.0.0.1:9")]),
    )

    assert main(["ocr", str(tmp_path / "absent.pdf")]) == 2
    assert "absent.pdf: no such file or folder" in capsys.readouterr().err


def test_without_config_the_model_uses_the_providers_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = FakeProvider("azure_ai", api_key=AZURE_KEY)
    (tmp_path / "a.pdf").write_bytes(make_pdf(2))
    with fake.serve_in_thread() as url:
        monkeypatch.setenv("AZURE_AI_API_BASE", url)
        monkeypatch.setenv("AZURE_AI_API_KEY", AZURE_KEY)
        code = main(
            [
                "ocr",
                str(tmp_path / "a.pdf"),
                "--model",
                "azure_ai/mistral-document-ai-2512",
                "--out",
                str(tmp_path / "out"),
            ]
        )

    assert code == 0, capsys.readouterr()
    assert page_order((tmp_path / "out" / "a.md").read_text(encoding="utf-8")) == [0, 1]
    assert fake.outcomes["ok"] == 1


def test_output_names_are_unique_and_never_an_input(tmp_path: Path) -> None:
    for folder in ("x", "y"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "a.pdf").write_bytes(make_pdf(1))
    # A PDF saved as a.md in the output folder: its result must not overwrite it.
    (tmp_path / "a.md").write_bytes(make_pdf(1))
    found, _ = discover_inputs(
        [
            str(tmp_path / "x"),
            str(tmp_path / "y"),
            "https://example.com/scans/A.pdf?v=2",
            str(tmp_path / "a.md"),
            str(tmp_path / "x" / "a.pdf"),
        ]
    )

    inputs = assign_outputs(found, tmp_path, ".md")

    assert [item.stem for item in inputs] == ["a-2", "a-3", "A-4", "a-5"]  # given twice: once
    assert inputs[2].url == "https://example.com/scans/A.pdf?v=2"


def test_the_old_option_name_still_works_and_none_turns_opt_in_sharding_off(
    tmp_path: Path, two_fakes: tuple[FakeProvider, str, FakeProvider, str]
) -> None:
    mistral, mistral_url, _, _ = two_fakes
    (tmp_path / "one.pdf").write_bytes(make_pdf(6))
    config = write_config(tmp_path / "router.yaml", [mistral_deployment(mistral_url)])
    for option, value, sent in (
        ("--pages-per-request", "4", [2, 4]),
        ("--shard-pages", "none", [6]),
    ):
        mistral.reset()
        arguments = [str(tmp_path / "one.pdf"), "--config", config, "--out", str(tmp_path / "o")]
        assert main(["ocr", *arguments, option, value]) == 0
        assert sent_page_counts(mistral) == sent


def test_the_command_runs_as_a_process_with_clean_output(tmp_path: Path) -> None:
    fake = FakeProvider("mistral", api_key=MISTRAL_KEY)
    make_sample_folder(tmp_path / "docs")
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("MISTRAL", "AZURE_AI", "VERTEXAI", "OCR_ROUTER"))
    }
    with fake.serve_in_thread() as url:
        config = write_config(tmp_path / "router.yaml", [mistral_deployment(url)])
        finished = subprocess.run(
            [
                sys.executable,
                "-m",
                "router.cli",
                "ocr",
                "docs",
                "--config",
                config,
                "--out",
                "out",
                "--format",
                "json",
                "--concurrency",
                "8",
            ],
            cwd=tmp_path,
            env=environment,
            capture_output=True,
            text=True,
            timeout=60,
        )

    assert finished.returncode == 0, finished.stderr
    assert len(list((tmp_path / "out").glob("*.json"))) == 20
    assert "20 ok, 0 failed" in finished.stdout
    assert "\x1b[" not in finished.stdout + finished.stderr  # no animation, no colour in a pipe
    # In a pipe, progress is one plain line per document as it ends (no bar to animate).
    skipped, *progress = finished.stderr.strip().splitlines()
    assert skipped == "skipped docs/nested/README.txt: not a document or image OCR reads"
    assert [line.partition("]")[0] for line in progress] == [f"[{n}/20" for n in range(1, 21)]
    assert all(
        re.fullmatch(r"\[\d+/20\] docs/\S+: ok, \d+ pages?, \$\d+\.\d{4}", line)
        for line in progress
    ), progress
    assert MISTRAL_KEY not in finished.stdout + finished.stderr


async def test_progress_bar_on_a_terminal_counts_documents_failures_pages_and_cost(
    tmp_path: Path, fake_server: Any
) -> None:
    from rich.console import Console

    fake = FakeProvider("mistral", api_key=MISTRAL_KEY, script=["ok", "400"])
    url = await fake_server(fake)
    (tmp_path / "a.pdf").write_bytes(make_pdf(3))
    (tmp_path / "b.png").write_bytes(make_png())
    found, _ = discover_inputs([str(tmp_path / "a.pdf"), str(tmp_path / "b.png")])
    options = BatchOptions(out_dir=tmp_path / "out", concurrency=1)
    screen = io.StringIO()
    terminal = Console(file=screen, force_terminal=True, color_system=None, width=120)

    async with Router([mistral_deployment(url)]) as router:
        result = await run_batch(
            assign_outputs(found, options.out_dir, ".md"), router, "ocr", options, terminal
        )

    assert [document.ok for document in result.documents] == [True, False]
    final = screen.getvalue().rsplit("\r", 1)[-1]
    assert "2/2 documents" in final
    assert "1 failed" in final and "3 pages" in final and "$0.0120" in final
