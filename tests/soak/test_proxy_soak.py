"""Chaos soak of the proxy: `ocr-router serve` in its own process, in front of the same faulty
fleet and outages as the Router soak, loaded over real sockets; every request's answer is
checked, and the proxy's own /metrics must count exactly what was sent.

Short run (default, CI): 1,000 requests. Long run: `OCR_ROUTER_SOAK=long`, 5,000 requests.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from proxy_process import serving_proxy
from soak_chaos import (
    HANG_MARGIN_S,
    REQUEST_TIMEOUT_S,
    ROUTER_SETTINGS,
    Ledger,
    chaos_schedule,
    injected_faults,
    run_figures,
    run_schedule,
    stop_all,
    write_report,
)

from providers.samples import make_pdf

pytestmark = pytest.mark.soak

SHORT_REQUESTS = 1_000
LONG_REQUESTS = 5_000
CONCURRENCY = 32
PAGES = 2
SUCCESS_RATE_FLOOR = 0.999
MASTER_KEY = "sk-soak-proxy"
# What a client may see from the proxy when the providers fail past every retry: Mistral's
# error envelope with one of these statuses, never a dropped connection or a 500.
UPSTREAM_FAILURE_STATUSES = {429, 502, 503, 504}


def _write_config(directory: Path, entries: list[dict[str, Any]]) -> Path:
    config = {
        "model_list": entries,
        "router_settings": ROUTER_SETTINGS,
        "general_settings": {"master_key": MASTER_KEY},
    }
    path = directory / "config.yaml"
    path.write_text(json.dumps(config), encoding="utf-8")  # JSON is YAML
    path.chmod(0o600)
    return path


def _metric_sum(metrics: str, name: str) -> int:
    """The sum of a counter of the proxy's /metrics over all its labels."""
    pattern = rf"^{name}_total(?:\{{[^}}]*\}})? ([0-9.e+]+)$"
    return int(sum(float(value) for value in re.findall(pattern, metrics, re.M)))


def _check_answer(answer: httpx.Response) -> tuple[str, str | None]:
    """(outcome, problem): "ok" or the error type, and what broke the contract, if anything."""
    if answer.status_code == 200:
        body = answer.json()
        if len(body.get("pages", [])) != PAGES:
            return "invalid", f"{len(body.get('pages', []))} pages instead of {PAGES}"
        if not answer.headers.get("x-ocr-router-deployment"):
            return "invalid", "a 200 without the serving deployment's header"
        return "ok", None
    try:
        error = answer.json()
    except ValueError:
        return "invalid", f"a {answer.status_code} whose body is not JSON"
    if error.get("object") != "error" or not error.get("message"):
        return "invalid", f"a {answer.status_code} outside Mistral's error envelope"
    if answer.status_code not in UPSTREAM_FAILURE_STATUSES:
        return "invalid", f"status {answer.status_code}: {error.get('message')}"
    return f"{answer.status_code} {error.get('type')}", None


async def test_proxy_survives_random_faults_and_outages_without_losing_a_request(
    soak_long: bool, soak_report_dir: Path, tmp_path: Path
) -> None:
    total = LONG_REQUESTS if soak_long else SHORT_REQUESTS
    sites, normal, phases = chaos_schedule()
    ledger = Ledger(total=total)
    failures: list[str] = []  # what the first failed requests were told (secret-free)
    body = {
        "model": "ocr",
        "document": {
            "type": "document_url",
            "document_url": "data:application/pdf;base64,"
            + base64.b64encode(make_pdf(PAGES)).decode(),
        },
    }
    headers = {"Authorization": f"Bearer {MASTER_KEY}"}
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    try:
        for name, site in sites.items():
            await site.serve(normal[name]())
        config = _write_config(tmp_path, [site.entry() for site in sites.values()])
        async with (
            serving_proxy("--config", str(config), "--port", "0", "--log-level", "error") as (
                _,
                url,
            ),
            httpx.AsyncClient(base_url=url, limits=limits, timeout=None) as client,
        ):

            async def one(request_id: int) -> None:
                ledger.begin(request_id)
                started = time.monotonic()
                try:
                    answer = await asyncio.wait_for(
                        client.post("/v1/ocr", json=body, headers=headers),
                        REQUEST_TIMEOUT_S + HANG_MARGIN_S,
                    )
                except TimeoutError:
                    outcome = "hung"
                    ledger.note(f"request {request_id} hung past its deadline")
                except httpx.HTTPError as error:
                    outcome = f"transport {type(error).__name__}"
                    ledger.note(f"request {request_id}: the proxy dropped it ({error!r})")
                else:
                    outcome, problem = _check_answer(answer)
                    if problem:
                        ledger.note(f"request {request_id}: {problem}")
                    elif outcome != "ok" and len(failures) < 20:
                        failures.append(f"request {request_id}: {answer.json()['message']}")
                ledger.end(request_id, outcome, time.monotonic() - started, REQUEST_TIMEOUT_S)

            run_seconds = await run_schedule(total, CONCURRENCY, sites, phases, one)
            liveness = await client.get("/health/liveness")
            metrics = (await client.get("/metrics", headers=headers)).text
    finally:
        await stop_all(sites)

    faults = injected_faults(sites)
    counted = _metric_sum(metrics, "ocr_router_proxy_requests")
    figures: dict[str, Any] = {
        **run_figures(soak_long, CONCURRENCY, ledger, faults, phases),
        "server_errors_5xx_other_than_upstream": sum(
            count
            for outcome, count in ledger.results.items()
            if outcome[:3].isdigit() and int(outcome[:3]) not in UPSTREAM_FAILURE_STATUSES
        ),
        "metrics_requests_counted": counted,
        "retries": _metric_sum(metrics, "ocr_router_deployment_retries"),
        "cooldowns": _metric_sum(metrics, "ocr_router_deployment_cooldowns"),
        "max_latency_s": round(ledger.max_latency_s, 3),
        "max_past_deadline_s": round(ledger.max_overrun_s, 3),
        "run_seconds": round(run_seconds, 2),
        "requests_per_second": round(total / run_seconds, 1),
        "failures": failures,
        "violations": ledger.violations[:20],
    }
    write_report(soak_report_dir, f"proxy-{figures['mode']}", figures)

    assert ledger.violations == [], ledger.violations[:20]
    assert ledger.lost == 0 and set(ledger.outcomes) == set(range(total))
    assert ledger.success_rate >= SUCCESS_RATE_FLOOR, figures["results"]
    assert liveness.status_code == 200  # the proxy itself never became the failure
    assert counted == total  # each request counted once by the proxy, none twice
    for kind in ("500", "503", "429", "timeout", "reset", "truncated", "garbage", "null"):
        assert faults[kind] > 0, f"no {kind} fault was injected: {dict(faults)}"
