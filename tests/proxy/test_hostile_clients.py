"""Hostile clients against the proxy, over real sockets: each attack of issue 13, bounded.

Every test sends what an attacker would and measures what it cost the proxy: the bytes of the
answer, the peak memory of the process serving it (`PeakRSS`: the proxy runs in this process),
and that the proxy still serves another request afterwards (or while the attack holds its
connections). None asserts on elapsed time: a connection the proxy should close is awaited with
a generous guard, and the answer tells which rule closed it (431, 408, 400, 503).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from cost_probe import MB, PeakRSS
from hostile_upstream import hostile_upstream, status
from proxy_helpers import (
    BEARER,
    DOCUMENT,
    MASTER_KEY,
    PROVIDER_KEY,
    ProxyStarter,
    metric_sum,
    mistral_entry,
    serve_app,
)

from providers.fake import FakeProvider
from router.config import GeneralSettings
from router.errors import InvalidRequestError
from router.proxy import create_app
from router.router import Router
from router.types import MAX_PAGES_PER_REQUEST

SMALL_ANSWER = 4096  # bytes: an error answer names a few problems, whatever the request held
GUARD_S = 20  # a connection the proxy must close is awaited this long at most (a hang fails)


def _host_port(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("http://").split(":")
    return host, int(port)


async def _exchange(url: str, *chunks: bytes, close_after: bool = False) -> bytes:
    """Send `chunks` on a fresh connection and read until the proxy closes it."""
    reader, writer = await asyncio.open_connection(*_host_port(url))
    try:
        for chunk in chunks:
            writer.write(chunk)
            try:
                await writer.drain()
            except ConnectionError:
                break  # the proxy closed while we were still sending (it refused early)
        if close_after:
            writer.close()
            return b""
        return await asyncio.wait_for(reader.read(), GUARD_S)
    finally:
        writer.close()


async def _post(proxy_url: str, body: bytes) -> httpx.Response:
    async with httpx.AsyncClient(base_url=proxy_url, timeout=GUARD_S) as client:
        return await client.post(
            "/v1/ocr", content=body, headers={**BEARER, "Content-Type": "application/json"}
        )


async def _still_serves(proxy_url: str) -> None:
    async with httpx.AsyncClient(base_url=proxy_url, timeout=GUARD_S) as client:
        answer = await client.post(
            "/v1/ocr", json={"model": "ocr", "document": DOCUMENT}, headers=BEARER
        )
    assert answer.status_code == 200, answer.text


@pytest.fixture
async def proxy_url(start_proxy: ProxyStarter) -> str:
    proxy = await start_proxy(
        {"a": FakeProvider("mistral", api_key=PROVIDER_KEY)},
        general={"header_read_timeout": 0.5, "body_read_timeout": 0.5, "max_connections": 8},
    )
    return proxy.url


def _body(**fields: Any) -> bytes:
    return json.dumps({"model": "ocr", "document": DOCUMENT, **fields}).encode()


# ------------------------------------------------------------ amplification before a limit


async def test_a_million_bad_pages_are_refused_by_their_count(proxy_url: str) -> None:
    body = _body(pages=[-1] * 1_000_000)  # 2.9 MB; was 2.2 GB of RSS and a 161 MB answer
    with PeakRSS() as rss:
        answer = await _post(proxy_url, body)
    assert answer.status_code == 422
    assert f"more than {MAX_PAGES_PER_REQUEST} pages" in answer.json()["message"]
    assert len(answer.content) < SMALL_ANSWER
    assert rss.growth < 100 * MB  # the parsed list itself (8 MB) and the body, not per-item work
    await _still_serves(proxy_url)


async def test_page_ranges_are_counted_before_they_are_expanded(proxy_url: str) -> None:
    spec = ",".join(["0-99999"] * 140)  # 1.1 KB asking for 14 million pages; was 375 MB
    with PeakRSS() as rss:
        answer = await _post(proxy_url, _body(pages=spec))
    assert answer.status_code == 422
    assert "pages" in answer.json()["message"]
    assert len(answer.content) < SMALL_ANSWER
    assert rss.growth < 20 * MB


async def test_many_unknown_keys_are_named_a_few_and_counted(proxy_url: str) -> None:
    unknown = {f"k{number}": 0 for number in range(200_000)}  # 2.6 MB; 10^6 answered 97 MB
    with PeakRSS() as rss:
        answer = await _post(proxy_url, _body(**unknown))
    error = answer.json()
    assert answer.status_code == 422
    assert len(answer.content) < SMALL_ANSWER
    assert "and 199990 more" in error["message"]
    assert len(error["detail"]) == 10
    assert rss.growth < 150 * MB  # json's dict of the body's keys; nothing per key after it


async def test_a_megabyte_key_is_echoed_only_in_part(proxy_url: str) -> None:
    answer = await _post(proxy_url, _body(**{"k" * 1_000_000: 1}))  # was echoed three times
    assert answer.status_code == 422
    assert len(answer.content) < SMALL_ANSWER
    assert answer.json()["param"].startswith("kkkk")


# ------------------------------------------------------------ client input is a 4xx, never a 500


@pytest.mark.parametrize("depth", [975, 100_000])
async def test_deeply_nested_json_is_a_400(proxy_url: str, depth: int) -> None:
    body = b'{"model": "ocr", "pages": ' + b"[" * depth + b"]" * depth + b"}"
    answer = await _post(proxy_url, body)
    assert answer.status_code in (400, 422), answer.text
    assert len(answer.content) < SMALL_ANSWER
    await _still_serves(proxy_url)


async def test_a_deep_json_schema_is_a_422_over_http_and_from_aocr(
    start_proxy: ProxyStarter,
) -> None:
    proxy = await start_proxy({"a": FakeProvider("mistral", api_key=PROVIDER_KEY)})
    schema: dict[str, Any] = {}
    for _ in range(255):
        schema = {"type": "object", "properties": {"a": schema}}
    annotation = {"type": "json_schema", "json_schema": {"name": "deep", "schema": schema}}
    answer = await _post(proxy.url, _body(document_annotation_format=annotation))
    assert answer.status_code == 422, answer.text
    assert "nested deeper than 64 levels" in answer.json()["message"]
    with pytest.raises(InvalidRequestError, match="nested deeper"):
        await proxy.router.aocr("ocr", DOCUMENT, document_annotation_format=annotation)
    assert proxy.fakes["a"].request_count == 0


async def test_an_extra_body_too_deep_to_encode_is_a_typed_error_from_aocr(
    start_proxy: ProxyStarter,
) -> None:
    proxy = await start_proxy({"a": FakeProvider("mistral", api_key=PROVIDER_KEY)})
    deep: dict[str, Any] = {}
    for _ in range(3000):  # json.dumps raised RecursionError out of aocr, untyped
        deep = {"a": deep}
    with pytest.raises(InvalidRequestError, match="extra_body: nested deeper than 64"):
        await proxy.router.aocr("ocr", DOCUMENT, extra_body={"x": deep})
    assert proxy.fakes["a"].request_count == 0


async def test_an_invalid_idna_host_is_a_422_over_http_and_from_aocr(
    start_proxy: ProxyStarter,
) -> None:
    proxy = await start_proxy({"a": FakeProvider("mistral", api_key=PROVIDER_KEY)})
    document = {"type": "document_url", "document_url": "https://xn--localhost-/a.pdf"}
    answer = await _post(proxy.url, _body(document=document))
    assert answer.status_code == 422, answer.text
    assert "not a valid URL" in answer.json()["message"]
    with pytest.raises(InvalidRequestError, match="not a valid URL"):
        await proxy.router.aocr("ocr", document)


async def test_a_5000_digit_integer_is_named_as_such(proxy_url: str) -> None:
    answer = await _post(proxy_url, b'{"model": "ocr", "pages": [' + b"9" * 5000 + b"]}")
    assert answer.status_code == 400
    assert "too many digits" in answer.json()["message"]
    assert "UTF-8" not in answer.json()["message"]


# ------------------------------------------------------------ the server's own limits


async def test_oversized_headers_are_431_before_they_are_read_whole(proxy_url: str) -> None:
    head = b"POST /v1/ocr HTTP/1.1\r\nHost: x\r\nX-Pad: "
    pad = b"a" * (1 * MB)
    with PeakRSS() as rss:  # 500 MB of headers grew a worker by 351 MB
        answer = await _exchange(proxy_url, head, *([pad] * 20), b"\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 431 ")
    assert len(answer) < SMALL_ANSWER
    assert rss.growth < 10 * MB  # the limit (64 KiB) and a read chunk, not the 20 MB sent
    await _still_serves(proxy_url)


async def test_idle_and_half_sent_heads_are_closed_while_others_are_served(
    proxy_url: str,
) -> None:
    idle = asyncio.create_task(_exchange(proxy_url))  # connects, sends nothing
    half = asyncio.create_task(_exchange(proxy_url, b"POST /v1/ocr HTTP/1.1\r\nHost: x\r\n"))
    await _still_serves(proxy_url)  # served while both are held
    answers = await asyncio.gather(idle, half)
    assert all(answer.startswith(b"HTTP/1.1 408 ") for answer in answers), answers


async def test_a_half_sent_body_is_dropped_and_counted_as_a_client_gone(
    proxy_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    head = (
        "POST /v1/ocr HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {MASTER_KEY}\r\nContent-Length: 1000000\r\n\r\n"
    ).encode()
    with caplog.at_level(logging.INFO):
        answer = await _exchange(proxy_url, head, b'{"model": "ocr", "document": ')
        await _still_serves(proxy_url)
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]
    async with httpx.AsyncClient(base_url=proxy_url) as client:
        metrics = (await client.get("/metrics", headers=BEARER)).text
    assert metric_sum(metrics, "ocr_router_proxy_requests_total", status_code="499") == 1
    assert metric_sum(metrics, "ocr_router_proxy_requests_total", status_code="500") == 0


async def test_a_half_sent_body_costs_what_was_sent_not_what_was_declared(
    proxy_url: str,
) -> None:
    head = (
        "POST /v1/ocr HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {MASTER_KEY}\r\nContent-Length: {60 * MB}\r\n\r\n"
    ).encode()
    with PeakRSS() as rss:  # 60 MB were allocated on the first byte, for every such client
        answers = await asyncio.gather(*(_exchange(proxy_url, head, b"{" * 1024) for _ in range(4)))
    assert all(answer.startswith(b"HTTP/1.1 408 ") for answer in answers)
    assert rss.growth < 20 * MB


async def test_a_client_that_leaves_mid_body_is_no_error(
    proxy_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    head = (
        "POST /v1/ocr HTTP/1.1\r\nHost: x\r\n"
        f"Authorization: Bearer {MASTER_KEY}\r\nContent-Length: 1000\r\n\r\n"
    ).encode()
    with caplog.at_level(logging.INFO):
        await _exchange(proxy_url, head, b"{", close_after=True)
        await _still_serves(proxy_url)  # after the disconnect has been handled
        await asyncio.sleep(0.1)
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]
    async with httpx.AsyncClient(base_url=proxy_url) as client:
        metrics = (await client.get("/metrics", headers=BEARER)).text
    assert metric_sum(metrics, "ocr_router_proxy_requests_total", status_code="500") == 0


async def test_connections_past_the_bound_are_refused_at_once(proxy_url: str) -> None:
    host, port = _host_port(proxy_url)
    held = [await asyncio.open_connection(host, port) for _ in range(8)]
    try:
        refused = await _exchange(proxy_url, b"GET /health/liveness HTTP/1.1\r\nHost: x\r\n\r\n")
        assert refused.startswith(b"HTTP/1.1 503 ")
    finally:
        for _, writer in held:
            writer.close()
    await asyncio.sleep(0.05)  # the proxy sees them close
    await _still_serves(proxy_url)


async def test_an_http_0_9_request_is_answered_and_closed_at_once(proxy_url: str) -> None:
    answer = await _exchange(proxy_url, b"GET /health/liveness\r\n")
    assert answer.startswith(b"HTTP/1.1 400 "), answer  # not the 408 of the head timeout
    assert b"HTTP version" in answer


# ------------------------------------------------------------ smaller items


async def test_a_trailing_slash_is_a_404_without_a_redirect(proxy_url: str) -> None:
    async with httpx.AsyncClient(base_url=proxy_url) as client:
        answer = await client.post(
            "/v1/ocr/", json={"model": "ocr"}, headers={"Host": "evil.example"}
        )
    assert answer.status_code == 404
    assert "location" not in answer.headers


async def test_the_openapi_document_needs_the_key(proxy_url: str) -> None:
    async with httpx.AsyncClient(base_url=proxy_url) as client:
        refused = await client.get("/openapi.json")
        served = await client.get("/openapi.json", headers=BEARER)
    assert refused.status_code == 401
    assert served.status_code == 200


async def test_a_non_ascii_master_key_matches(start_proxy: ProxyStarter) -> None:
    key = "clé-ключ-🔑-0001"
    proxy = await start_proxy({"a": FakeProvider("mistral", api_key=PROVIDER_KEY)}, keys=[key])
    async with httpx.AsyncClient(base_url=proxy.url) as client:
        good = await client.get(
            "/v1/models", headers={"Authorization": b"Bearer " + key.encode("utf-8")}
        )
        wrong = await client.get("/v1/models", headers={"Authorization": "Bearer cle-0001"})
    assert good.status_code == 200
    assert wrong.status_code == 401


async def test_the_access_log_shows_no_key_sent_in_a_query_string(
    fake_server: Callable[[FakeProvider], Awaitable[str]],
) -> None:
    url = await fake_server(FakeProvider("mistral", api_key=PROVIDER_KEY))
    general = GeneralSettings.model_validate({"master_key": MASTER_KEY})
    lines: list[str] = []
    collector = logging.Handler()
    collector.emit = lambda record: lines.append(record.getMessage())  # type: ignore[method-assign]
    router = Router([mistral_entry("a", url)])
    async with router, serve_app(create_app(router, general), general, access_log=True) as served:
        access = logging.getLogger("uvicorn.access")
        access.addHandler(collector)
        try:
            async with httpx.AsyncClient(base_url=served) as client:
                await client.get(f"/v1/models?key={MASTER_KEY}", headers=BEARER)
                await client.get(f"/v1/models/{MASTER_KEY}", headers=BEARER)
        finally:
            access.removeHandler(collector)
    assert len(lines) == 2, lines
    assert "/v1/models?[query omitted]" in lines[0]
    assert not [line for line in lines if MASTER_KEY in line], lines


async def test_readiness_answers_after_a_retry_after_of_1e300(
    fake_server: Callable[[FakeProvider], Awaitable[str]],
) -> None:
    answer = status("429 Too Many Requests", {"Retry-After": "1e300"})
    general = GeneralSettings.model_validate({"master_key": MASTER_KEY})
    async with hostile_upstream(answer) as upstream:
        router = Router([mistral_entry("a", upstream.url)], timeout=5)
        app = create_app(router, general)
        async with (
            router,
            serve_app(app, general) as served,
            httpx.AsyncClient(base_url=served, timeout=GUARD_S) as client,
        ):
            refused = await client.post(
                "/v1/ocr", json={"model": "ocr", "document": DOCUMENT}, headers=BEARER
            )
            readiness = await client.get("/health/readiness")
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) <= 600  # the cap, not 10^300 seconds
    assert readiness.status_code == 503  # was a 500 (OverflowError)
    (row,) = readiness.json()["deployments"]
    assert row["status"] == "cooling"
    assert row["cooldown_until"] is not None
