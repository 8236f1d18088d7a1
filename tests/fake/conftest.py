"""The `send` fixture: runs a test twice, in-process (mock transport) and over a real socket."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import httpx
import pytest
from fake_helpers import ROUTES, Send

from providers.fake import FakeProvider


@pytest.fixture(params=["in_process", "real_socket"])
async def send(
    request: pytest.FixtureRequest, fake_server: Callable[[FakeProvider], Awaitable[str]]
) -> AsyncIterator[Send]:
    """`response = await send(fake, body(), headers=auth())`, through the parametrized way."""
    async with contextlib.AsyncExitStack() as stack:
        clients: dict[int, httpx.AsyncClient] = {}

        async def client_for(fake: FakeProvider) -> httpx.AsyncClient:
            if id(fake) not in clients:
                if request.param == "in_process":
                    client = httpx.AsyncClient(
                        transport=fake.mock_transport(), base_url="http://fake"
                    )
                else:
                    client = httpx.AsyncClient(base_url=await fake_server(fake))
                clients[id(fake)] = await stack.enter_async_context(client)
            return clients[id(fake)]

        async def send(
            fake: FakeProvider,
            json: Any = None,
            *,
            path: str | None = None,
            headers: Mapping[str, str] | None = None,
            content: bytes | None = None,
        ) -> httpx.Response:
            client = await client_for(fake)
            url = path or ROUTES[fake.provider]
            if content is not None:
                return await client.post(url, content=content, headers=headers)
            return await client.post(url, json=json, headers=headers)

        yield send
