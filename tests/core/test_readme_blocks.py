"""Every Python block of the README runs, as written, against fakes: the front door cannot rot.

Unmarked blocks run as scripts in a folder holding what they open (`invoice.pdf`, the README's
`config.yaml`), with the providers' hosts answered by fakes (`readme_blocks.fake_internet`).
Marked blocks get what they need from their own test below; a mark with no test fails.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from readme_blocks import (
    Block,
    _isolate_tracing,
    fake_internet,
    python_blocks,
    run_block,
    yaml_blocks,
)

from providers.fake import FakeProvider
from providers.samples import make_pdf

BLOCKS = python_blocks()
MARKED_KINDS = {"proxy", "redis", "app", "otlp"}  # each has a test of its own below


@pytest.fixture
def readme_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working folder with the files the README's blocks open."""
    (tmp_path / "invoice.pdf").write_bytes(make_pdf(3))
    (tmp_path / "memo.pdf").write_bytes(make_pdf(2))
    (tmp_path / "book.pdf").write_bytes(make_pdf(70))
    config = tmp_path / "config.yaml"
    config.write_text(yaml_blocks()[0], encoding="utf-8")
    os.chmod(config, 0o600)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_every_block_is_run_here() -> None:
    assert len(BLOCKS) >= 8
    assert {block.kind for block in BLOCKS} - {None} <= MARKED_KINDS, "a mark without a test"
    assert {block.kind for block in BLOCKS} >= MARKED_KINDS, "a test without its block"


# Waits a block would make in earnest, shortened here (the text stays as the README says it).
SHORTENED = {"poll_interval=30": "poll_interval=0.01"}


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.kind is None], ids=str)
def test_block_runs_as_written(
    block: Block, readme_folder: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    shortened = {old: new for old, new in SHORTENED.items() if old in block.code}
    with fake_internet(monkeypatch) as internet:
        run_block(block, **shortened)

    served = sum(fake.outcomes["ok"] for fake in internet.fakes.values())
    sends = any(call in block.code for call in ("ocr(", ".aocr("))
    if sends and "providers.fake" not in block.code:
        # It OCRed through the providers' hosts: their fakes answered (nothing else could).
        assert served >= 1, capsys.readouterr().out
    else:
        assert served == 0


def test_the_proxy_block_talks_to_a_real_proxy(readme_folder: Path) -> None:
    (block,) = [b for b in BLOCKS if b.kind == "proxy"]
    from proxy_process import serving_proxy

    fake = FakeProvider("mistral")
    config = readme_folder / "proxy.yaml"

    async def run() -> None:
        with fake.serve_in_thread() as fake_url:
            settings = yaml.safe_load(yaml_blocks()[0] + yaml_blocks()[1])
            settings["model_list"][0]["litellm_params"].update(api_key="sk-fake", api_base=fake_url)
            config.write_text(yaml.safe_dump(settings), encoding="utf-8")
            os.chmod(config, 0o600)
            async with serving_proxy("--config", str(config), "--port", "0") as (_, url):
                await asyncio.to_thread(run_block, block, **{"http://localhost:4000": url})

    asyncio.run(run())
    assert fake.outcomes["ok"] == 1


def test_the_redis_block_shares_state_in_a_real_redis(
    readme_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (block,) = [b for b in BLOCKS if b.kind == "redis"]
    import importlib.util

    helpers = Path(__file__).parents[1] / "redis" / "redis_helpers.py"
    spec = importlib.util.spec_from_file_location("readme_redis_helpers", helpers)
    assert spec is not None and spec.loader is not None
    redis_helpers = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(redis_helpers)
    REDIS_BINARY, RedisServer = redis_helpers.REDIS_BINARY, redis_helpers.RedisServer

    if REDIS_BINARY is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server; .ci/run does)")
    server = RedisServer(REDIS_BINARY)
    server.start()
    try:
        with fake_internet(monkeypatch):
            run_block(block, **{"redis://cache:6379/0": server.url})
    finally:
        server.stop()


def test_the_otlp_block_sets_an_exporting_tracer_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    (block,) = [b for b in BLOCKS if b.kind == "otlp"]
    pytest.importorskip(
        "opentelemetry.exporter.otlp.proto.http.trace_exporter",
        reason="pip install opentelemetry-exporter-otlp to run the README's OTLP block",
    )
    from opentelemetry import trace

    _isolate_tracing(monkeypatch)
    namespace = run_block(block)
    assert trace.get_tracer_provider() is namespace["provider"]


def test_the_app_block_serves_ocr_from_one_router(
    readme_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (block,) = [b for b in BLOCKS if b.kind == "app"]
    from starlette.testclient import TestClient

    with fake_internet(monkeypatch) as internet:
        app = run_block(block)["app"]
        document = {"document_url": "https://arxiv.org/pdf/2201.04234"}
        with TestClient(app) as client:  # type: ignore[arg-type]
            answers = [client.post("/ocr", json={"document": document}) for _ in range(3)]
            refused = client.post("/ocr", json={"document": {"document_url": "ftp://x"}})

    assert [answer.status_code for answer in answers] == [200] * 3
    assert all(answer.json()["pages"] and answer.json()["cost_usd"] > 0 for answer in answers)
    assert refused.status_code == 422 and "error" in refused.json()
    assert internet.fakes["mistral"].outcomes["ok"] == 3
