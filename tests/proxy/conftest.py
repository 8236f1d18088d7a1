"""Fixtures for the proxy tests: a proxy over fake providers, served by uvicorn on 127.0.0.1.

    proxy = await start_proxy({"a": FakeProvider("mistral", api_key=PROVIDER_KEY)})
    proxy.url, proxy.router, proxy.fakes

Every fake is a real HTTP server (the `fake_server` fixture) and the proxy a real uvicorn server;
all of them stop when the test ends. Backoff sleeps are instant, and no provider key is read from
the environment.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from typing import Any

import pytest
from proxy_helpers import MASTER_KEY, Proxy, ProxyStarter, mistral_entry, serve_app

from providers.fake import FakeProvider
from router.config import GeneralSettings
from router.proxy import create_app
from router.retry import instant_backoff
from router.router import Router


@pytest.fixture(autouse=True)
def _instant_backoff() -> Iterator[None]:
    with instant_backoff():
        yield


@pytest.fixture(autouse=True)
def _no_provider_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MISTRAL_API_KEY", "AZURE_AI_API_KEY", "AZURE_AI_API_BASE", "VERTEXAI_PROJECT"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
async def start_proxy(
    fake_server: Callable[[FakeProvider], Awaitable[str]],
) -> AsyncIterator[ProxyStarter]:
    """`await start_proxy(fakes, groups={"b": "other"}, keys=[...], body_limit=N,
    general={...}, **settings)`: a Router over the fakes (each a deployment whose id is its
    name, in group "ocr" unless `groups` says otherwise) behind the proxy app; `general` adds
    general_settings (the server's limits)."""
    async with contextlib.AsyncExitStack() as stack:

        async def start(
            fakes: Mapping[str, FakeProvider],
            *,
            groups: Mapping[str, str] | None = None,
            keys: list[str] | None = None,
            body_limit: int | None = None,
            general: Mapping[str, Any] | None = None,
            **settings: Any,
        ) -> Proxy:
            entries = []
            for name, fake in fakes.items():
                url = await fake_server(fake)
                entries.append(mistral_entry(name, url, group=(groups or {}).get(name, "ocr")))
            settings.setdefault("timeout", 10)
            router = Router(entries, **settings)
            stack.push_async_callback(router.aclose)
            accepted = [MASTER_KEY] if keys is None else keys
            general_settings = GeneralSettings.model_validate(
                {"master_keys": accepted, **(general or {})}
            )
            app = create_app(router, general_settings, max_request_body_bytes=body_limit)
            url = await stack.enter_async_context(serve_app(app, general_settings))
            return Proxy(url, router, dict(fakes))

        yield start
