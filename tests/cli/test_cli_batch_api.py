"""`ocr-router ocr --batch`: documents through Mistral's Batch API on fake servers, written as
the synchronous path writes them; resumed from a job id; failures named and re-sent."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from providers.fake import FakeProvider
from providers.samples import make_pdf
from router.batch_api import OCRBatch
from router.cli import main
from router.router import Router

KEY = "fake-mistral-batch-Ux4Rq1"


def _config(path: Path, *urls: str) -> str:
    deployments = [
        {
            "model_name": "ocr",
            "model": "mistral/mistral-ocr-latest",
            "api_key": KEY,
            "api_base": url,
            "id": f"m{number}",
        }
        for number, url in enumerate(urls)
    ]
    path.write_text(yaml.safe_dump({"model_list": deployments}), encoding="utf-8")
    os.chmod(path, 0o600)
    return str(path)


def _docs(root: Path, count: int = 3) -> Path:
    root.mkdir()
    for number in range(count):
        (root / f"d{number}.pdf").write_bytes(make_pdf(number + 1, title=f"d{number}"))
    return root


@pytest.fixture
def two_mistrals() -> Iterator[tuple[FakeProvider, FakeProvider, str, str]]:
    a, b = FakeProvider("mistral", api_key=KEY), FakeProvider("mistral", api_key=KEY)
    with a.serve_in_thread() as url_a, b.serve_in_thread() as url_b:
        yield a, b, url_a, url_b


def test_batch_writes_what_the_sync_path_writes_at_the_batch_price(
    tmp_path: Path,
    two_mistrals: tuple[FakeProvider, FakeProvider, str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    a, b, url_a, url_b = two_mistrals
    docs = _docs(tmp_path / "docs")
    config = _config(tmp_path / "router.yaml", url_a, url_b)
    common = [str(docs), "--config", config, "--batch-poll", "0"]

    code = main(["ocr", *common, "--batch", "--out", str(tmp_path / "batch")])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert main(["ocr", *common, "--out", str(tmp_path / "sync")]) == 0
    for number in range(3):
        name = f"d{number}.md"
        assert (tmp_path / "batch" / name).read_text() == (tmp_path / "sync" / name).read_text()
    assert a.batch is not None and b.batch is not None
    assert len(a.batch.jobs) + len(b.batch.jobs) == 2  # spread over both keys
    assert "batch job " in err and "--batch-job" in err and "SUCCESS" in err
    assert "6 pages through Mistral's Batch API at its price ($0.0120)" in out
    assert "(batch)" in out and KEY not in out + err


def test_an_interrupted_run_is_resumed_from_its_job_id_without_submitting_again(
    tmp_path: Path,
    two_mistrals: tuple[FakeProvider, FakeProvider, str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    a, _, url_a, _ = two_mistrals
    docs = _docs(tmp_path / "docs", 2)
    config = _config(tmp_path / "router.yaml", url_a)

    async def submit_then_stop() -> str:
        # What a run does before Ctrl-C stops it while waiting: the jobs are queued.
        async with Router.from_config(config) as router, OCRBatch(router, "ocr") as batch:
            refs = await batch.submit({"d0": docs / "d0.pdf", "d1": docs / "d1.pdf"})
        return refs[0].job_id

    job_id = asyncio.run(submit_then_stop())
    assert a.batch is not None and len(a.batch.jobs) == 1
    command = ["ocr", str(docs), "--config", config, "--out", str(tmp_path / "out")]
    code = main([*command, "--batch-job", job_id, "--batch-poll", "0"])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert len(a.batch.jobs) == 1  # nothing submitted again
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["d0.md", "d1.md"]
    assert f"batch job {job_id}" in err


def test_failed_documents_are_named_and_batch_retry_sync_sends_them_again(
    tmp_path: Path,
    two_mistrals: tuple[FakeProvider, FakeProvider, str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    a, _, url_a, _ = two_mistrals
    assert a.batch is not None
    a.batch.line_faults = {"d1": 500}
    docs = _docs(tmp_path / "docs")
    config = _config(tmp_path / "router.yaml", url_a)
    common = ["ocr", str(docs), "--config", config, "--batch", "--batch-poll", "0"]

    assert main([*common, "--out", str(tmp_path / "one")]) == 1
    out, _ = capsys.readouterr()
    assert "FAILED" in out and "d1.pdf: batch: 500:" in out
    assert sorted(p.name for p in (tmp_path / "one").iterdir()) == ["d0.md", "d2.md"]

    sync_before = a.outcomes["ok"]
    assert main([*common, "--out", str(tmp_path / "two"), "--batch-retry-sync"]) == 0
    out, err = capsys.readouterr()
    assert "sending it again" in err and "3 ok, 0 failed" in out
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == ["d0.md", "d1.md", "d2.md"]
    assert a.outcomes["ok"] > sync_before  # d1 went through /v1/ocr


def test_a_job_that_failed_fails_each_document_with_the_reason(
    tmp_path: Path,
    two_mistrals: tuple[FakeProvider, FakeProvider, str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    a, _, url_a, _ = two_mistrals
    assert a.batch is not None
    a.batch.job_outcome = "FAILED"
    docs = _docs(tmp_path / "docs", 2)
    config = _config(tmp_path / "router.yaml", url_a)
    code = main(["ocr", str(docs), "--config", config, "--batch", "--batch-poll", "0"])
    out, _ = capsys.readouterr()
    assert code == 1
    assert out.count("not processed: the job ended FAILED") == 2


def test_batch_retry_sync_without_batch_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["ocr", str(tmp_path), "--batch-retry-sync"]) == 2
    assert "--batch-retry-sync goes with --batch" in capsys.readouterr().err


def test_batch_with_a_cache_sends_only_documents_it_has_not_seen(
    tmp_path: Path,
    two_mistrals: tuple[FakeProvider, FakeProvider, str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    a, _, url_a, _ = two_mistrals
    assert a.batch is not None
    docs = _docs(tmp_path / "docs", 2)
    config = _config(tmp_path / "router.yaml", url_a)
    common = ["ocr", str(docs), "--config", config, "--batch", "--batch-poll", "0"]
    common += ["--cache", str(tmp_path / "cache")]
    assert main([*common, "--out", str(tmp_path / "one")]) == 0
    (docs / "d2.pdf").write_bytes(make_pdf(2, title="new"))
    capsys.readouterr()
    assert main([*common, "--out", str(tmp_path / "two")]) == 0
    out, _ = capsys.readouterr()
    assert [len(job.lines) for job in a.batch.jobs.values()] == [2, 1]  # only the new one
    assert "3 page(s) served from the cache" in out and "2 pages through Mistral's Batch" in out
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == ["d0.md", "d1.md", "d2.md"]
