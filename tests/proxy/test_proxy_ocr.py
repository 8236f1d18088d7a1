"""POST /v1/ocr over real sockets: Mistral clients get the fake provider's pages, and headers
say which deployment served, after how many attempts, at what cost."""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest
from mistralai.client import Mistral
from mistralai.client.errors import HTTPValidationError, SDKError
from proxy_helpers import (
    BEARER,
    DOCUMENT,
    MASTER_KEY,
    PROVIDER_KEY,
    ProxyStarter,
    metric_sum,
    serve_app,
)

from providers.fake import FakeProvider
from providers.samples import make_pdf
from router.config import load_config
from router.proxy import create_app
from router.router import Router


async def test_mistralai_client_gets_the_pages_of_the_fake_answer(
    start_proxy: ProxyStarter,
) -> None:
    fake = FakeProvider("mistral", api_key=PROVIDER_KEY, default_page_count=3)
    proxy = await start_proxy({"a": fake})
    client = Mistral(api_key=MASTER_KEY, server_url=proxy.url)

    response = await client.ocr.process_async(
        model="ocr", document={"type": "document_url", "document_url": DOCUMENT["document_url"]}
    )

    assert [page.index for page in response.pages] == [0, 1, 2]
    assert response.usage_info.pages_processed == 3
    assert fake.outcomes["ok"] == 1
    # What the fake received is the client's request, with the deployment's model.
    assert fake.requests[0].json["document"]["document_url"] == DOCUMENT["document_url"]


async def test_mistralai_client_raises_its_401_error_for_a_wrong_key(
    start_proxy: ProxyStarter,
) -> None:
    fake = FakeProvider("mistral", api_key=PROVIDER_KEY)
    proxy = await start_proxy({"a": fake})
    client = Mistral(api_key="sk-wrong", server_url=proxy.url)

    with pytest.raises(SDKError) as raised:
        await client.ocr.process_async(model="ocr", document=DOCUMENT)  # type: ignore[arg-type]

    assert raised.value.status_code == 401
    assert "invalid API key" in raised.value.body
    assert fake.request_count == 0


async def test_mistralai_client_reads_a_422_naming_the_wrong_field(
    start_proxy: ProxyStarter,
) -> None:
    proxy = await start_proxy({"a": FakeProvider("mistral", api_key=PROVIDER_KEY)})
    client = Mistral(api_key=MASTER_KEY, server_url=proxy.url)

    with pytest.raises(HTTPValidationError) as raised:
        await client.ocr.process_async(model="ocr", document=DOCUMENT, pages=[-1])  # type: ignore[arg-type]

    assert raised.value.status_code == 422
    assert raised.value.data.detail is not None
    assert raised.value.data.detail[0].loc[:2] == ["body", "pages"]


async def test_response_headers_name_the_deployment_group_attempts_and_cost(
    start_proxy: ProxyStarter,
) -> None:
    failing = FakeProvider("mistral", api_key=PROVIDER_KEY, faults={"500": 1.0})
    healthy = FakeProvider("mistral", api_key=PROVIDER_KEY, default_page_count=2)
    # round-robin from "failing": the first request fails over to "healthy" on its 2nd attempt.
    proxy = await start_proxy(
        {"failing": failing, "healthy": healthy}, routing_strategy="round-robin"
    )

    async with proxy.client() as client:
        answer = await client.post(
            "/v1/ocr", json={"model": "ocr", "document": DOCUMENT}, headers=BEARER
        )

    assert answer.status_code == 200, answer.text
    assert answer.headers["x-ocr-router-deployment"] == "healthy"
    assert answer.headers["x-ocr-router-group"] == "ocr"
    assert answer.headers["x-ocr-router-attempts"] == str(failing.request_count + 1)
    # mistral-ocr-latest lists at 4 USD per 1,000 pages: 2 pages cost 0.008.
    assert float(answer.headers["x-ocr-router-cost-usd"]) == pytest.approx(0.008)
    assert float(answer.headers["x-ocr-router-latency-ms"]) > 0
    assert len(answer.json()["pages"]) == 2


async def test_ocr_route_without_v1_prefix_answers_the_same(start_proxy: ProxyStarter) -> None:
    proxy = await start_proxy({"a": FakeProvider("mistral", api_key=PROVIDER_KEY)})

    async with proxy.client() as client:
        answer = await client.post(
            "/ocr", json={"model": "ocr", "document": DOCUMENT}, headers=BEARER
        )

    assert answer.status_code == 200
    assert answer.json()["usage_info"]["pages_processed"] == 1


async def test_every_configured_key_is_accepted(start_proxy: ProxyStarter) -> None:
    proxy = await start_proxy(
        {"a": FakeProvider("mistral", api_key=PROVIDER_KEY)}, keys=["sk-first-key", "sk-second-key"]
    )
    body = {"model": "ocr", "document": DOCUMENT}

    async with proxy.client() as client:
        statuses = [
            (
                await client.post("/v1/ocr", json=body, headers={"Authorization": f"Bearer {key}"})
            ).status_code
            for key in ("sk-first-key", "sk-second-key", "sk-third-key")
        ]

    assert statuses == [200, 200, 401]


SEED_CONFIG = """
model_list:
  - model_name: mistral-ocr
    litellm_params:
      model: mistral/mistral-ocr-latest
      api_key: os.environ/MISTRAL_API_KEY
      api_base: {api_base}
general_settings:
  master_key: sk-1234
"""


async def test_seed_curl_request_works_with_the_key_and_gets_401_without(
    fake_server: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    curl = shutil.which("curl")
    if curl is None:
        pytest.skip("the curl binary is not installed")
    monkeypatch.setenv("MISTRAL_API_KEY", PROVIDER_KEY)
    fake = FakeProvider("mistral", api_key=PROVIDER_KEY, default_page_count=2)
    api_base = await fake_server(fake)  # type: ignore[operator]
    path = tmp_path / "config.yaml"
    path.write_text(SEED_CONFIG.format(api_base=api_base), encoding="utf-8")
    path.chmod(0o600)
    config = load_config(path)
    router = Router(config.model_list)
    body = (
        '{"model": "mistral-ocr", "document": {"type": "document_url", '
        '"document_url": "https://arxiv.org/pdf/2201.04234"}}'
    )

    async def run_curl(url: str, *headers: str) -> tuple[int, dict[str, Any]]:
        arguments = [curl, "-s", "-w", "\n%{http_code}", f"{url}/v1/ocr"]
        for header in (*headers, "Content-Type: application/json"):
            arguments += ["-H", header]
        process = await asyncio.create_subprocess_exec(
            *arguments, "-d", body, stdout=asyncio.subprocess.PIPE
        )
        output, _ = await asyncio.wait_for(process.communicate(), 20)
        text, _, status = output.decode().rpartition("\n")
        return int(status), json.loads(text)

    general = config.general_settings
    async with router, serve_app(create_app(router, general), general) as url:
        status, answer = await run_curl(url, "Authorization: Bearer sk-1234")
        refused_status, refused = await run_curl(url)

    assert status == 200
    assert [page["index"] for page in answer["pages"]] == [0, 1]
    assert refused_status == 401
    assert refused["object"] == "error"
    assert fake.request_count == 1


async def test_200_concurrent_requests_succeed_with_one_of_three_deployments_failing(
    start_proxy: ProxyStarter,
) -> None:
    fakes = {
        "good-1": FakeProvider("mistral", api_key=PROVIDER_KEY),
        "good-2": FakeProvider("mistral", api_key=PROVIDER_KEY),
        "broken": FakeProvider("mistral", api_key=PROVIDER_KEY, faults={"503": 1.0}),
    }
    # Every failure may be retried (the default budget would cap retries at 20% of traffic).
    proxy = await start_proxy(fakes, retry_budget_ratio=1.0, num_retries=3)
    body = {"model": "ocr", "document": DOCUMENT}

    limits = httpx.Limits(max_connections=50)
    async with proxy.client(limits=limits) as client:
        answers = await asyncio.gather(
            *(client.post("/v1/ocr", json=body, headers=BEARER) for _ in range(200))
        )
        metrics = (await client.get("/metrics", headers=BEARER)).text

    assert [answer.status_code for answer in answers] == [200] * 200
    assert metric_sum(metrics, "ocr_router_proxy_requests_total", group="ocr") == 200
    assert metric_sum(metrics, "ocr_router_proxy_requests_total", status_code="200") == 200
    assert (
        metric_sum(metrics, "ocr_router_proxy_request_duration_seconds_count", group="ocr") == 200
    )
    for name, fake in fakes.items():
        attempts = metric_sum(metrics, "ocr_router_deployment_attempts_total", deployment=name)
        assert attempts == fake.request_count, name
    assert metric_sum(metrics, "ocr_router_deployment_attempts_total", outcome="success") == 200
    broken_failures = fakes["broken"].request_count
    assert broken_failures > 0
    assert (
        metric_sum(
            metrics,
            "ocr_router_deployment_attempts_total",
            deployment="broken",
            outcome="ServerError",
        )
        == broken_failures
    )
    assert (
        metric_sum(metrics, "ocr_router_deployment_retries_total", deployment="broken")
        == broken_failures
    )
    assert metric_sum(metrics, "ocr_router_deployment_pages_total") == 200
    assert metric_sum(metrics, "ocr_router_deployment_cooldowns_total", deployment="broken") >= 1


async def test_a_long_pdf_is_sharded_and_a_header_counts_the_shards(
    start_proxy: ProxyStarter,
) -> None:
    fakes = {name: FakeProvider("mistral", api_key=PROVIDER_KEY) for name in ("a", "b")}
    proxy = await start_proxy(fakes, shard_pages=10)
    document = "data:application/pdf;base64," + base64.b64encode(make_pdf(25)).decode()
    async with proxy.client() as client:
        body = {"model": "ocr", "document": {"type": "document_url", "document_url": document}}
        answer = await client.post("/v1/ocr", json=body, headers=BEARER)
        short = {**body, "document": DOCUMENT}
        whole = await client.post("/v1/ocr", json=short, headers=BEARER)

    assert answer.status_code == 200, answer.text
    assert answer.headers["x-ocr-router-shards"] == "3"
    assert [page["index"] for page in answer.json()["pages"]] == list(range(25))
    assert answer.json()["usage_info"]["pages_processed"] == 25
    assert sum(fake.request_count for fake in fakes.values()) == 3 + 1
    assert whole.headers["x-ocr-router-shards"] == "1"
