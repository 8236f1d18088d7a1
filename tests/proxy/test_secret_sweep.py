"""The secret sweep: a proxy holding distinctive secrets of every kind (provider keys inline and
from the environment, a Vertex token, a service account's private key, the master key, a Redis
password) serves real traffic with failures, at debug log level with the access log on; then
every output a person or a scraper can see is searched for each secret: the process's logs,
every route's answers (errors included), /health/readiness, /metrics, and check-config."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from proxy_process import REPOSITORY

from providers.fake import FakeProvider
from providers.samples import make_png

MISTRAL_KEY = "sk-sweep-mistral-7f3a9c"  # given through the environment
AZURE_KEY = "az-sweep-inline-51c2e8"  # written in the config
VERTEX_TOKEN = "ya29.sweep-token-0b9d"
PRIVATE_KEY_PEM = (
    rsa.generate_private_key(public_exponent=65537, key_size=2048)
    .private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    .decode()
)
PRIVATE_KEY = PRIVATE_KEY_PEM.splitlines()[5]  # a line from the middle of the key's body
MASTER_KEY = "sk-sweep-master-90e1"
REDIS_PASSWORD = "redis-sweep-pw-4d4d"
SECRETS = [MISTRAL_KEY, AZURE_KEY, VERTEX_TOKEN, PRIVATE_KEY, MASTER_KEY, REDIS_PASSWORD]


def _config(mistral_url: str, azure_url: str, vertex_url: str) -> dict[str, Any]:
    service_account = {
        "type": "service_account",
        "project_id": "sweep",
        "private_key_id": "k1",
        "private_key": PRIVATE_KEY_PEM,
        "client_email": "sweep@sweep.iam.gserviceaccount.com",
        "token_uri": "http://127.0.0.1:9/token",
    }
    return {
        "model_list": [
            {
                "model_name": "ocr",
                "litellm_params": {
                    "model": "mistral/mistral-ocr-latest",
                    "api_key": "os.environ/SWEEP_MISTRAL_KEY",
                    "api_base": mistral_url,
                },
            },
            {
                "model_name": "ocr",
                "model": "azure_ai/mistral-ocr-4-0",
                "api_key": AZURE_KEY,
                "api_base": azure_url,
            },
            {
                "model_name": "ocr",
                "model": "vertex_ai/mistral-ocr-2505",
                "vertex_project": "sweep",
                "token": VERTEX_TOKEN,
                "api_base": vertex_url,
            },
            {
                "model_name": "ocr-sa",  # never asked for: only described
                "model": "vertex_ai/mistral-ocr-2505",
                "vertex_project": "sweep",
                "vertex_credentials": service_account,
            },
        ],
        # Nothing listens there: the shared state degrades (and says so) without the password.
        "router_settings": {
            "redis_url": f"redis://:{REDIS_PASSWORD}@127.0.0.1:9/0",
            "allowed_fails": 1,
            "cooldown_time": 0.2,
            "timeout": 10,
        },
        "general_settings": {"master_key": MASTER_KEY},
    }


async def test_no_secret_appears_in_any_output_of_the_proxy_or_check_config(
    fake_server: Any, tmp_path: Path
) -> None:
    fakes = {
        "mistral": FakeProvider("mistral", api_key=MISTRAL_KEY, faults={"500": 0.3}, seed=1),
        "azure": FakeProvider("azure_ai", api_key=AZURE_KEY, faults={"429": 0.3}, seed=2),
        # Vertex refuses its token: 401s, cooldowns and their log lines.
        "vertex": FakeProvider("vertex_ai", api_key="not-the-sweep-token"),
    }
    urls = [await fake_server(fake) for fake in fakes.values()]
    config_path = tmp_path / "config.yaml"
    config_path.write_text(json.dumps(_config(*urls)), encoding="utf-8")
    config_path.chmod(0o600)
    environment = {**os.environ, "SWEEP_MISTRAL_KEY": MISTRAL_KEY}
    log_path = tmp_path / "proxy.log"
    png = base64.b64encode(make_png()).decode()
    body = {"model": "ocr", "document": {"image_url": f"data:image/png;base64,{png}"}}
    good = {"Authorization": f"Bearer {MASTER_KEY}"}
    # A client may send anything: a wrong key that contains the real one must not come back.
    wrong = {"Authorization": f"Bearer {MASTER_KEY}-{MISTRAL_KEY}"}
    outputs: list[str] = []

    with log_path.open("w", encoding="utf-8") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "router.cli",
            "serve",
            "--config",
            str(config_path),
            "--port",
            "0",
            "--log-level",
            "debug",
            "--access-log",
            cwd=REPOSITORY,
            env=environment,
            stdout=asyncio.subprocess.PIPE,
            stderr=log,
        )
        try:
            assert process.stdout is not None
            line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
            outputs.append(line)
            url = line.rsplit(" ", 1)[1].strip()
            async with httpx.AsyncClient(base_url=url, timeout=30) as client:
                answers = await asyncio.gather(
                    *(client.post("/v1/ocr", json=body, headers=good) for _ in range(30))
                )
                answers += [
                    await client.post("/v1/ocr", json=body, headers=wrong),
                    await client.post("/v1/ocr", json=body),
                    await client.post("/v1/ocr", json={**body, "model": "ocr-sa"}, headers=good),
                    await client.post("/v1/ocr", content=b"{not json", headers=good),
                ]
                for path in ("/health/liveness", "/health/readiness", "/openapi.json"):
                    answers.append(await client.get(path))
                for path in ("/v1/models", "/metrics"):
                    answers.append(await client.get(path, headers=good))
                    answers.append(await client.get(path, headers=wrong))
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
            remaining, _ = await asyncio.wait_for(process.communicate(), 30)
            outputs.append(remaining.decode())
    log_text = log_path.read_text(encoding="utf-8")
    outputs.append(log_text)
    for answer in answers:
        outputs.append(json.dumps(dict(answer.headers)))
        outputs.append(answer.text)
    for extra in ([], ["--json"]):
        checked = subprocess.run(  # noqa: ASYNC221  (the servers are done; nothing to block)
            [sys.executable, "-m", "router.cli", "check-config", *extra, str(config_path)],
            cwd=REPOSITORY,
            env=environment,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert checked.returncode == 0, checked.stderr
        outputs += [checked.stdout, checked.stderr]

    statuses = sorted({answer.status_code for answer in answers})
    # The sweep saw what it meant to: successes, refusals, an upstream failure, the degradation.
    assert {200, 400, 401}.issubset(statuses), statuses
    assert fakes["vertex"].request_count > 0  # the refused token was really sent and refused
    assert "Redis unreachable" in log_text
    assert '"POST /v1/ocr HTTP/1.1" 401' in outputs[1]  # the access log (on stdout) was on
    leaks = {secret: [i for i, text in enumerate(outputs) if secret in text] for secret in SECRETS}
    assert not {secret: where for secret, where in leaks.items() if where}
