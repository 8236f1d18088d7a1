"""`ocr-router ocr --cache DIR`: a second run over the same documents pays for nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from providers.fake import FakeProvider
from providers.samples import make_pdf
from router.cli import main

KEY = "fake-mistral-cache-Hq2Lp7"
REPOSITORY = Path(__file__).parents[2]


def _config(path: Path, base_url: str) -> str:
    deployment = {
        "model_name": "ocr",
        "model": "mistral/mistral-ocr-latest",
        "api_key": KEY,
        "api_base": base_url,
    }
    path.write_text(yaml.safe_dump({"model_list": [deployment]}), encoding="utf-8")
    os.chmod(path, 0o600)
    return str(path)


def test_a_second_run_in_another_process_is_served_from_the_cache_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    for number in range(3):
        (docs / f"d{number}.pdf").write_bytes(make_pdf(number + 1, title=f"d{number}"))
    fake = FakeProvider("mistral", api_key=KEY)
    with fake.serve_in_thread() as url:
        config = _config(tmp_path / "router.yaml", url)
        cache = str(tmp_path / "cache")
        command = ["ocr", str(docs), "--config", config, "--cache", cache]
        # The first run in a process of its own: the directory is what the two runs share.
        first = subprocess.run(
            [sys.executable, "-m", "router.cli", *command, "--out", str(tmp_path / "one")],
            capture_output=True,
            text=True,
            cwd=REPOSITORY,
            timeout=60,
            check=False,
        )
        assert first.returncode == 0, first.stderr
        sent = fake.request_count
        code = main([*command, "--out", str(tmp_path / "two")])
    stdout = capsys.readouterr().out
    assert code == 0
    assert sent == 3 and fake.request_count == 3  # the second run reached no provider
    assert "6 page(s) served from the cache" in stdout and "saved $0.0240" in stdout
    for number in range(3):
        name = f"d{number}.md"
        assert (tmp_path / "two" / name).read_text() == (tmp_path / "one" / name).read_text()
    assert KEY not in stdout + first.stdout + first.stderr


def test_check_config_shows_the_cache_but_never_its_redis_password(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "router.yaml"
    _config(config, "https://api.mistral.ai")
    written = yaml.safe_load(config.read_text())
    written["router_settings"] = {"cache": "redis://:hunter2-secret@cache.internal:6379/0"}
    config.write_text(yaml.safe_dump(written), encoding="utf-8")
    assert main(["check-config", str(config)]) == 0
    assert main(["check-config", str(config), "--json"]) == 0
    output = capsys.readouterr().out
    assert "hunter2-secret" not in output
    assert "redis://**********@cache.internal:6379/0" in output
