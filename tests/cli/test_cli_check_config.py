"""`ocr-router check-config`: the pools of a config, with every secret masked."""

from __future__ import annotations

import datetime
import io
import json
import os
from pathlib import Path

import pytest

from router.cli import main

SEED_CONFIG = """\
model_list:
  - model_name: mistral-ocr
    litellm_params:
      model: mistral/mistral-ocr-latest
      api_key: os.environ/MISTRAL_API_KEY
"""

# Distinctive values: a test searches the whole output for each of them.
ENV_MISTRAL_KEY = "env-mistral-Qx7Zk2"
ENV_VERTEX_TOKEN = "env-vertex-Wp4Jm9"
ENV_MASTER_KEY = "env-master-Lr8Tn3"
INLINE_AZURE_KEY = "inline-azure-Hv5Ys1"
INLINE_MASTER_KEY = "inline-master-Bc6Fd0"

THREE_PROVIDERS = f"""\
model_list:
  - model_name: ocr
    litellm_params:
      model: mistral/mistral-ocr-latest
      api_key: os.environ/MISTRAL_API_KEY
      rpm: 60
      max_concurrency: 8
      order: 0
    model_info:
      id: mistral-primary
  - model_name: ocr
    litellm_params:
      model: azure_ai/mistral-ocr-4-0
      api_key: {INLINE_AZURE_KEY}
      api_base: https://contoso.services.ai.azure.com
      weight: 2
      order: 1
      pages_per_minute: 600
      tags: [eu]
    model_info:
      ocr_cost_per_page: 0.0025
  - model_name: ocr-backup
    litellm_params:
      model: vertex_ai/mistral-ocr-2505
      vertex_project: acme-ocr
      vertex_location: europe-west4
      token: os.environ/VERTEX_ACCESS_TOKEN
router_settings:
  routing_strategy: least-busy
  num_retries: 5
  fallbacks: [{{"ocr": ["ocr-backup"]}}]
general_settings:
  master_key: os.environ/PROXY_MASTER_KEY
  master_keys: [{INLINE_MASTER_KEY}]
"""

SECRETS = (ENV_MISTRAL_KEY, ENV_VERTEX_TOKEN, ENV_MASTER_KEY, INLINE_AZURE_KEY, INLINE_MASTER_KEY)


def write_config(tmp_path: Path, text: str) -> str:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    os.chmod(path, 0o600)  # the loader warns about clear secrets in a file others may read
    return str(path)


@pytest.fixture
def three_provider_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MISTRAL_API_KEY", ENV_MISTRAL_KEY)
    monkeypatch.setenv("VERTEX_ACCESS_TOKEN", ENV_VERTEX_TOKEN)
    monkeypatch.setenv("PROXY_MASTER_KEY", ENV_MASTER_KEY)


def test_seed_config_prints_its_one_pool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MISTRAL_API_KEY", ENV_MISTRAL_KEY)

    code = main(["check-config", write_config(tmp_path, SEED_CONFIG)])

    out, err = capsys.readouterr()
    assert code == 0
    assert "group mistral-ocr (1 deployment(s))" in out
    assert "model: mistral/mistral-ocr-latest" in out
    assert "endpoint: https://api.mistral.ai/v1/ocr" in out
    assert "api_key: set (os.environ/MISTRAL_API_KEY)" in out
    assert ENV_MISTRAL_KEY not in out + err


def test_three_provider_config_prints_every_pool_limit_price_and_fallback(
    tmp_path: Path, three_provider_environment: None, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["check-config", write_config(tmp_path, THREE_PROVIDERS)])

    out, _ = capsys.readouterr()
    assert code == 0
    assert "3 deployment(s) in 2 group(s)" in out
    assert "group ocr (2 deployment(s))" in out
    assert "group ocr-backup (1 deployment(s))" in out
    assert "id: mistral-primary" in out
    assert "max_concurrency=8  rpm=60" in out
    assert "pages_per_minute=600" in out
    assert "weight: 2    priority: 1" in out
    assert "price per 1,000 pages: $2.50" in out and "configured" in out
    assert "tags: eu" in out
    assert "/projects/acme-ocr/locations/europe-west4/" in out
    assert "ocr -> ocr-backup" in out
    assert "routing_strategy: least-busy" in out
    assert "num_retries: 5" in out


def test_secrets_are_described_by_origin_and_never_printed(
    tmp_path: Path, three_provider_environment: None, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(tmp_path, THREE_PROVIDERS)

    assert main(["check-config", path]) == 0
    assert main(["check-config", path, "--json"]) == 0

    out, err = capsys.readouterr()
    for secret in SECRETS:
        assert secret not in out + err
    assert "api_key: set (inline — consider os.environ/NAME)" in out
    assert "token: set (os.environ/VERTEX_ACCESS_TOKEN)" in out
    assert "master_key: set (os.environ/PROXY_MASTER_KEY)" in out
    assert "master_keys[0]: set (inline — consider os.environ/NAME)" in out


def test_a_key_left_to_the_providers_variable_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MISTRAL_API_KEY", ENV_MISTRAL_KEY)
    path = write_config(
        tmp_path, "model_list:\n  - model_name: ocr\n    model: mistral/mistral-ocr-latest\n"
    )

    assert main(["check-config", path]) == 0

    out, _ = capsys.readouterr()
    assert "api_key: not set (uses $MISTRAL_API_KEY)" in out
    assert ENV_MISTRAL_KEY not in out


def test_json_output_parses_and_masks(
    tmp_path: Path, three_provider_environment: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check-config", write_config(tmp_path, THREE_PROVIDERS), "--json"]) == 0

    described = json.loads(capsys.readouterr().out)
    assert described["valid"] is True
    mistral, azure = described["groups"]["ocr"]
    assert mistral["id"] == "mistral-primary"
    assert mistral["limits"]["rpm"] == 60
    assert mistral["api_key"] == "set (os.environ/MISTRAL_API_KEY)"
    assert azure["weight"] == 2.0
    assert azure["price_per_1000_pages"] == 2.5
    assert azure["tags"] == ["eu"]
    assert described["fallbacks"] == {"ocr": ["ocr-backup"]}
    assert described["router_settings"]["routing_strategy"] == "least-busy"


def test_broken_config_exits_1_naming_entry_and_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MISTRAL_API_KEY", ENV_MISTRAL_KEY)
    broken = SEED_CONFIG + "      weight: -1\n  - model_name: other\n    model: nowhere/x\n"

    code = main(["check-config", write_config(tmp_path, broken)])

    out, err = capsys.readouterr()
    assert code == 1
    assert out == ""
    assert 'model_list[0] ("mistral-ocr").litellm_params.weight' in err
    assert 'model_list[1] ("other").model' in err
    assert ENV_MISTRAL_KEY not in err


def test_missing_environment_variable_is_named_without_values(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["check-config", write_config(tmp_path, THREE_PROVIDERS), "--json"])

    out, err = capsys.readouterr()
    assert code == 1
    assert "environment variable MISTRAL_API_KEY is not set" in err
    assert json.loads(out)["valid"] is False
    assert INLINE_AZURE_KEY not in out + err


def test_missing_file_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", str(tmp_path / "absent.yaml")]) == 1
    assert "not found" in capsys.readouterr().err


AGED_MODELS = """\
model_list:
  - model_name: ocr
    model: azure_ai/mistral-document-ai-2512
    api_key: k
    api_base: https://contoso.services.ai.azure.com
  - model_name: ocr
    model: mistral/mistral-ocr-4-0
    api_key: k
"""


def test_a_retired_model_is_refused_naming_its_successor(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["check-config", write_config(tmp_path, AGED_MODELS), "--json"])

    out, err = capsys.readouterr()
    assert code == 1
    assert json.loads(out)["valid"] is False
    assert (
        'model_list[1] ("ocr"): mistral/mistral-ocr-4-0 was retired on 2026-09-30 '
        "(a retired deployment answers 404): use mistral/mistral-ocr-4-1"
    ) in err


@pytest.mark.parametrize(
    ("model", "base", "retired_on", "successor"),
    [
        ("mistral/mistral-ocr-2505", None, "2026-05-31", "mistral/mistral-ocr-2512"),
        (
            "azure_ai/mistral-document-ai-2505",
            "https://contoso.services.ai.azure.com",
            "2026-07-15",
            "azure_ai/mistral-document-ai-2512",
        ),
    ],
)
def test_each_retired_model_is_refused_on_its_retirement_day_and_served_the_day_before(
    tmp_path: Path, model: str, base: str | None, retired_on: str, successor: str
) -> None:
    from router.check_config import check_config

    entry = f"  - model_name: ocr\n    model: {model}\n    api_key: k\n"
    if base:
        entry += f"    api_base: {base}\n"
    path = write_config(tmp_path, "model_list:\n" + entry)
    day = datetime.date.fromisoformat(retired_on)
    out, err = io.StringIO(), io.StringIO()
    assert check_config(path, as_json=True, out=out, err=err, today=day) == 1
    assert (
        f'model_list[0] ("ocr"): {model} was retired on {retired_on} '
        f"(a retired deployment answers 404): use {successor}"
    ) in err.getvalue()
    before = day - datetime.timedelta(days=1)
    out, err = io.StringIO(), io.StringIO()
    assert check_config(path, as_json=True, out=out, err=err, today=before) == 0, err.getvalue()


def test_a_deprecated_model_warns_and_stays_valid(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from router.check_config import check_config

    current_only = AGED_MODELS.replace("mistral/mistral-ocr-4-0", "mistral/mistral-ocr-4-1")
    path = write_config(tmp_path, current_only)
    out, err = io.StringIO(), io.StringIO()

    assert check_config(path, as_json=True, out=out, err=err, today=datetime.date(2027, 3, 1)) == 0

    warning = (
        'model_list[0] ("ocr"): azure_ai/mistral-document-ai-2512 is deprecated since '
        "2027-02-15: use azure_ai/mistral-ocr-4-0"
    )
    assert f"warning: {warning}" in err.getvalue()
    assert json.loads(out.getvalue())["warnings"] == [warning]
    # Before its deprecation date the same config has nothing to say.
    quiet = io.StringIO()
    before = datetime.date(2026, 12, 1)
    assert check_config(path, as_json=False, out=io.StringIO(), err=quiet, today=before) == 0
    assert quiet.getvalue() == ""


def test_each_deployment_shows_what_one_request_may_carry(
    tmp_path: Path, three_provider_environment: None, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(tmp_path, THREE_PROVIDERS)
    assert main(["check-config", path]) == 0
    text = capsys.readouterr().out
    assert (
        "per request: 1000 pages, 50.0 MB of document; file_id yes; remote URLs fetched by the host"
    ) in text
    assert "per request: 30 pages, 30.0 MB of document; file_id no; remote URLs downloaded" in text
    assert "per request: 30 pages, 10.0 MB of body; file_id no" in text
    assert main(["check-config", path, "--json"]) == 0
    described = json.loads(capsys.readouterr().out)
    azure = described["groups"]["ocr"][1]
    assert azure["per_request"] == {
        "max_pages": 30,
        "max_bytes": 30 * 2**20,
        "bytes_of": "document",
        "file_id": False,
        "fetches_urls": False,
        "model_listed": True,
    }
