"""Hostile upstreams against the Router, over real sockets: each attack of issue 13, bounded.

A deployment that answers 200 MB, a gzip bomb, a redirect, an unmapped status, an absurd
Retry-After or an error quoting the key is that deployment's failure: the request fails over to a
good one, and what the bad answer cost is measured (the bytes the upstream managed to send
before the router stopped reading, the peak memory of this process), never the time it took.
Both pools are tested: the fast transport (aiohttp) and httpx's own.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from cost_probe import MB, PeakRSS
from hostile_upstream import (
    Answer,
    dripping,
    error_echoing,
    gzip_bomb,
    hostile_upstream,
    huge_body,
    status,
)
from router_helpers import KEY

from providers.fake import FakeProvider
from router.errors import BadRequestError
from router.router import Router

DOCUMENT = {"type": "document_url", "document_url": "https://example.com/paper.pdf"}
CAP = 1 * MB


def _entry(name: str, url: str, **options: Any) -> dict[str, Any]:
    return {
        "model_name": "ocr",
        "model": "mistral/mistral-ocr-latest",
        "id": name,
        "api_base": url,
        "api_key": KEY,
        **options,
    }


@pytest.fixture(params=["fast", "httpx"])
def transport(request: pytest.FixtureRequest) -> httpx.AsyncBaseTransport | None:
    """None: the Router's own fast pool; else httpx's own transport."""
    return None if request.param == "fast" else httpx.AsyncHTTPTransport()


async def _hostile_first(
    answer: Answer,
    fake_server: Callable[[FakeProvider], Awaitable[str]],
    transport: httpx.AsyncBaseTransport | None,
    requests: int = 1,
    **settings: Any,
) -> tuple[list[str], int, int]:
    """Send `requests` requests to a group whose first tier is the hostile upstream and whose
    second is a good fake; returns who served each, the bytes the hostile one sent, and the
    peak memory growth."""
    good = await fake_server(FakeProvider("mistral", api_key=KEY))
    async with hostile_upstream(answer) as upstream:
        entries = [
            _entry("hostile", upstream.url, priority=0, max_response_bytes=CAP),
            _entry("good", good, priority=1),
        ]
        served = []
        with PeakRSS() as rss:
            async with Router(entries, transport=transport, **settings) as router:
                for _ in range(requests):
                    response = await router.aocr("ocr", DOCUMENT)
                    assert response.call_info is not None
                    served.append(response.call_info.deployment_id)
        return served, upstream.bytes_sent, rss.growth


@pytest.mark.parametrize("declared", [False, True], ids=["chunked", "content-length"])
async def test_a_200_mb_answer_is_cut_at_the_cap_and_fails_over(
    fake_server: Callable[[FakeProvider], Awaitable[str]],
    transport: httpx.AsyncBaseTransport | None,
    declared: bool,
) -> None:
    answer = huge_body(200 * MB, declared=declared)  # was read whole: 654 MB of RSS
    served, sent, growth = await _hostile_first(answer, fake_server, transport)
    assert served == ["good"]
    # What the kernel's socket buffers hold beyond what was read (a few MB on loopback).
    assert sent < CAP + 16 * MB
    assert growth < 40 * MB


async def test_a_gzip_bomb_stops_inflating_at_the_cap(
    fake_server: Callable[[FakeProvider], Awaitable[str]],
    transport: httpx.AsyncBaseTransport | None,
) -> None:
    served, sent, growth = await _hostile_first(gzip_bomb(100 * MB), fake_server, transport)
    assert served == ["good"]
    assert sent < 1 * MB  # the whole bomb is small: what matters is what it inflated to
    assert growth < 40 * MB  # inflated whole, 100 MB


async def test_an_answer_that_drips_for_ever_is_cut_by_the_deadline_and_fails_over(
    fake_server: Callable[[FakeProvider], Awaitable[str]],
    transport: httpx.AsyncBaseTransport | None,
) -> None:
    good = await fake_server(FakeProvider("mistral", api_key=KEY))
    async with hostile_upstream(dripping(0.05)) as upstream:
        entries = [
            _entry("hostile", upstream.url, priority=0, timeout=1),  # a byte every 50 ms
            _entry("good", good, priority=1),
        ]
        async with Router(entries, transport=transport) as router:
            response = await router.aocr("ocr", DOCUMENT)
    assert response.call_info is not None
    assert response.call_info.deployment_id == "good"
    assert upstream.bytes_sent < 2048  # about 20 chunks of one byte: the call was cut at 1 s


@pytest.mark.parametrize(
    "line", ["302 Found", "307 Temporary Redirect", "418 I'm a teapot", "405 Method Not Allowed"]
)
async def test_a_redirect_or_an_unmapped_status_is_the_deployments_failure(
    fake_server: Callable[[FakeProvider], Awaitable[str]], line: str
) -> None:
    answer = status(line, {"Location": "http://127.0.0.1:9/elsewhere"})
    served, _, _ = await _hostile_first(
        answer, fake_server, None, requests=20, allowed_fails=3, cooldown_time=60
    )
    assert served == ["good"] * 20  # was a 400 to the client, with no failover


async def test_the_hostile_deployment_is_cooled_after_repeated_redirects(
    fake_server: Callable[[FakeProvider], Awaitable[str]],
) -> None:
    good = await fake_server(FakeProvider("mistral", api_key=KEY))
    async with hostile_upstream(status("302 Found", {"Location": "/x"})) as upstream:
        entries = [_entry("hostile", upstream.url), _entry("good", good)]
        async with Router(
            entries, routing_strategy="round-robin", allowed_fails=3, cooldown_time=60
        ) as router:
            for _ in range(20):
                await router.aocr("ocr", DOCUMENT)
            assert router.health()["hostile"].status == "cooling"
        assert upstream.requests == 3  # tried until allowed_fails, then left alone


@pytest.mark.parametrize(
    ("value", "expected"),
    [("999999", 600.0), ("1e300", 600.0), ("inf", 30.0), ("nan", 30.0), ("-inf", 30.0)],
)
async def test_retry_after_is_capped_and_non_finite_is_absent(
    fake_server: Callable[[FakeProvider], Awaitable[str]], value: str, expected: float
) -> None:
    answer = status("429 Too Many Requests", {"Retry-After": value})
    good = await fake_server(FakeProvider("mistral", api_key=KEY))
    async with hostile_upstream(answer) as upstream:
        entries = [_entry("hostile", upstream.url, priority=0), _entry("good", good, priority=1)]
        now = 1_000_000.0
        async with Router(entries, clock=lambda: now, cooldown_time=30) as router:
            response = await router.aocr("ocr", DOCUMENT)
            health = router.health()["hostile"]
    assert response.call_info is not None
    assert response.call_info.deployment_id == "good"
    assert health.cooldown_until is not None
    assert math.isfinite(health.cooldown_until)
    assert health.cooldown_until - now == pytest.approx(expected)  # 11.6 days, or forever


@pytest.mark.parametrize("at", [0, 480, 495, 499])
async def test_a_key_echoed_across_the_message_cut_never_reaches_the_caller(
    at: int,
) -> None:
    async with hostile_upstream(error_echoing(KEY, at=at)) as upstream:
        router = Router([_entry("hostile", upstream.url)])
        async with router:
            with pytest.raises(BadRequestError) as raised:
                await router.aocr("ocr", DOCUMENT)
    message = str(raised.value)
    # No 6 consecutive characters of the key: a cut key's start was sent before.
    assert not [KEY[i : i + 6] for i in range(len(KEY) - 5) if KEY[i : i + 6] in message]
