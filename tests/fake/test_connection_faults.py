"""Connection faults as a client sees them over real sockets, and the ways to run a fake."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import httpx
import pytest
from fake_helpers import ROUTES, body

from providers.fake import FakeProvider

FakeServer = Callable[[FakeProvider], Awaitable[str]]


async def post_once(base_url: str, fake: FakeProvider, timeout: float = 5.0) -> httpx.Response:
    async with httpx.AsyncClient(base_url=base_url, timeout=timeout) as client:
        return await client.post(ROUTES[fake.provider], json=body())


async def test_reset_aborts_the_connection_before_any_byte(fake_server: FakeServer) -> None:
    fake = FakeProvider("azure_ai", script=["reset"])
    url = await fake_server(fake)
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError, httpx.ConnectError)):
        await post_once(url, fake)
    assert (await post_once(url, fake)).status_code == 200
    assert fake.outcomes == {"reset": 1, "ok": 1}


async def test_truncated_body_is_a_protocol_error(fake_server: FakeServer) -> None:
    fake = FakeProvider("mistral", script=["truncated"])
    url = await fake_server(fake)
    with pytest.raises(httpx.RemoteProtocolError):
        await post_once(url, fake)
    assert (await post_once(url, fake)).status_code == 200


async def test_timeout_holds_the_request_until_the_client_gives_up(
    fake_server: FakeServer,
) -> None:
    fake = FakeProvider("vertex_ai", script=["timeout"], hang_seconds=30)
    url = await fake_server(fake)
    with pytest.raises(httpx.ReadTimeout):
        await post_once(url, fake, timeout=0.2)
    assert (await post_once(url, fake)).status_code == 200
    assert fake.outcomes == {"timeout": 1, "ok": 1}


async def test_timeout_drops_the_connection_after_hang_seconds(fake_server: FakeServer) -> None:
    fake = FakeProvider("mistral", script=["timeout"], hang_seconds=0.1)
    url = await fake_server(fake)
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        await post_once(url, fake, timeout=10)


async def test_stopping_the_server_releases_a_held_request() -> None:
    fake = FakeProvider("mistral", script=["timeout"], hang_seconds=30)
    async with fake.serve() as url:
        pending = asyncio.ensure_future(post_once(url, fake, timeout=20))
        for _ in range(500):  # wait (at most 5 s) until the fake holds the request
            if fake.request_count:
                break
            await asyncio.sleep(0.01)
        assert fake.outcomes == {"timeout": 1}
    with pytest.raises(httpx.TransportError):
        await asyncio.wait_for(pending, 5)


@pytest.mark.parametrize(
    ("entry", "error"),
    [
        ("timeout", httpx.ReadTimeout),
        ("reset", httpx.ReadError),
        ("truncated", httpx.RemoteProtocolError),
    ],
)
async def test_connection_faults_in_process_raise_what_httpx_raises(
    entry: str, error: type[Exception]
) -> None:
    fake = FakeProvider("mistral", script=[entry])
    async with httpx.AsyncClient(transport=fake.mock_transport(), base_url="http://f") as client:
        with pytest.raises(error):
            await client.post(ROUTES["mistral"], json=body())
        assert (await client.post(ROUTES["mistral"], json=body())).status_code == 200


async def test_one_fake_serves_concurrent_requests(fake_server: FakeServer) -> None:
    fake = FakeProvider("mistral", latency=0.05)
    url = await fake_server(fake)
    async with httpx.AsyncClient(base_url=url) as client:
        responses = await asyncio.gather(
            *(client.post(ROUTES["mistral"], json=body()) for _ in range(20))
        )
    assert {response.status_code for response in responses} == {200}
    assert fake.request_count == 20


def test_serve_in_thread_answers_a_sync_client() -> None:
    fake = FakeProvider("azure_ai", api_key="k", script=["503"])
    with fake.serve_in_thread() as url, httpx.Client(base_url=url) as client:
        assert url.startswith("http://127.0.0.1:")
        first = client.post(ROUTES["azure_ai"], json=body(), headers={"api-key": "k"})
        second = client.post(ROUTES["azure_ai"], json=body(), headers={"api-key": "k"})
    assert (first.status_code, second.status_code) == (503, 200)
    assert fake.request_count == 2


def test_serve_in_thread_reports_a_port_in_use() -> None:
    first = FakeProvider("mistral")
    with first.serve_in_thread() as url:
        port = int(url.rsplit(":", 1)[1])
        with pytest.raises(OSError), FakeProvider("mistral").serve_in_thread(port=port):
            pass
