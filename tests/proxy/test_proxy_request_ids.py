"""The proxy's request ids (`x-request-id` in and out, on every answer and log line) and its
JSON logs (`ocr-router serve --log-format json`, in every worker)."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from proxy_helpers import BEARER, DOCUMENT, MASTER_KEY, PROVIDER_KEY, ProxyStarter
from proxy_process import serving_proxy
from test_proxy_command import write_config

from providers.fake import FakeProvider
from router.events import RouterEvent

BODY = {"model": "ocr", "document": DOCUMENT}


def _fake(**options: object) -> FakeProvider:
    return FakeProvider("mistral", api_key=PROVIDER_KEY, **options)  # type: ignore[arg-type]


async def test_a_clients_id_names_the_request_in_events_and_comes_back(
    start_proxy: ProxyStarter,
) -> None:
    proxy = await start_proxy(
        {"bad": _fake(faults={"500": 1.0}), "ok": _fake()}, routing_strategy="round-robin"
    )
    events: list[RouterEvent] = []
    proxy.router.add_hook(events.append)
    async with proxy.client() as client:
        answer = await client.post(
            "/v1/ocr", json=BODY, headers={**BEARER, "x-request-id": "client-req-1"}
        )
    assert answer.status_code == 200
    assert answer.headers["x-request-id"] == "client-req-1"
    assert events and {e.request_id for e in events} == {"client-req-1"}


async def test_without_a_header_each_answer_gets_a_new_id(start_proxy: ProxyStarter) -> None:
    proxy = await start_proxy({"ok": _fake()})
    async with proxy.client() as client:
        answers = [await client.post("/v1/ocr", json=BODY, headers=BEARER) for _ in range(2)]
    ids = [answer.headers["x-request-id"] for answer in answers]
    assert len(set(ids)) == 2 and all(len(i) == 32 for i in ids)


@pytest.mark.parametrize(
    ("sent", "used"),
    [
        ("a b\tc;<d>", "abcd"),  # anything outside [A-Za-z0-9._:-] is dropped
        ("x" * 5000, "x" * 128),  # bounded
        ("ünï", "n"),
    ],
)
async def test_a_clients_id_is_bounded_and_sanitised(
    start_proxy: ProxyStarter, sent: str, used: str
) -> None:
    proxy = await start_proxy({"ok": _fake()})
    async with proxy.client() as client:
        answer = await client.post(
            "/v1/ocr", json=BODY, headers={**BEARER, "x-request-id": sent.encode("utf-8")}
        )
    assert answer.status_code == 200
    assert answer.headers["x-request-id"] == used


async def test_a_client_id_of_nothing_usable_gets_a_new_one(start_proxy: ProxyStarter) -> None:
    proxy = await start_proxy({"ok": _fake()})
    async with proxy.client() as client:
        answer = await client.post("/v1/ocr", json=BODY, headers={**BEARER, "x-request-id": "!!"})
    assert len(answer.headers["x-request-id"]) == 32


async def test_error_answers_carry_the_id_too(start_proxy: ProxyStarter) -> None:
    proxy = await start_proxy({"bad": _fake(faults={"500": 1.0})}, num_retries=0)
    async with proxy.client() as client:
        unauthorised = await client.post("/v1/ocr", json=BODY, headers={"x-request-id": "r-401"})
        malformed = await client.post(
            "/v1/ocr", content=b"{", headers={**BEARER, "x-request-id": "r-400"}
        )
        upstream = await client.post(
            "/v1/ocr", json=BODY, headers={**BEARER, "x-request-id": "r-502"}
        )
    assert (unauthorised.status_code, unauthorised.headers["x-request-id"]) == (401, "r-401")
    assert (malformed.status_code, malformed.headers["x-request-id"]) == (400, "r-400")
    assert (upstream.status_code, upstream.headers["x-request-id"]) == (502, "r-502")
    assert "(request id r-502)" in upstream.json()["message"]


async def test_json_logs_in_every_worker_name_the_request(
    fake_server: Callable[[FakeProvider], Awaitable[str]], tmp_path: Path
) -> None:
    failing = _fake(faults={"500": 1.0})
    path = write_config(tmp_path, await fake_server(failing))
    # One retry each, and no cooldown: four requests, eight failures, no wait.
    path.write_text(
        path.read_text() + "router_settings: {num_retries: 1, allowed_fails: 100}\n",
        encoding="utf-8",
    )
    log = tmp_path / "stderr.log"
    with log.open("wb") as stderr:
        async with serving_proxy(
            "--config",
            str(path),
            "--port",
            "0",
            "--workers",
            "2",
            "--log-format",
            "json",
            stderr=stderr,
        ) as (process, url):
            async with httpx.AsyncClient(base_url=url, timeout=20) as client:
                answers = await asyncio.gather(
                    *(
                        client.post(
                            "/v1/ocr",
                            json=BODY,
                            headers={**BEARER, "x-request-id": f"json-{index}"},
                        )
                        for index in range(4)
                    )
                )
            process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.wait(), 20)
    assert {answer.status_code for answer in answers} == {502}
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    assert lines, "nothing was logged"
    failures = [line for line in lines if line.get("event") == "failure"]
    # Each worker's failures reached the log as JSON, each naming its request and deployment.
    assert {line["request_id"] for line in failures} == {f"json-{i}" for i in range(4)}
    assert len(failures) == 8
    assert len([line for line in lines if line.get("event") == "retry"]) == 4
    for line in failures:
        assert line["logger"] == "ocr_router.router" and line["level"] == "INFO"
        assert line["error_type"] == "ServerError" and line["deployment_id"]
    assert any(line["logger"].startswith("uvicorn") for line in lines)  # uvicorn's too
    text = log.read_text()
    assert PROVIDER_KEY not in text and MASTER_KEY not in text
