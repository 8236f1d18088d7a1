"""Helpers for the proxy tests: a real uvicorn server in this process, and fake fleets.

`serve_app(app, general_settings)` runs the app on uvicorn with the proxy's own protocol and
limits (router/proxy/server.py's `server_config`, as `ocr-router serve`) on a socket bound to
127.0.0.1 port 0, yields "http://127.0.0.1:PORT", and stops the server when the block ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette

from providers.fake import FakeProvider
from router.config import GeneralSettings
from router.proxy.server import server_config
from router.router import Router

MASTER_KEY = "sk-proxy-test-master-key-0001"
SECOND_KEY = "sk-proxy-test-rotated-key-0002"
PROVIDER_KEY = "provider-secret-key-0123456789"


@contextlib.asynccontextmanager
async def serve_app(
    app: Starlette, general_settings: GeneralSettings | None = None, *, access_log: bool = False
) -> AsyncIterator[str]:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    config = server_config(
        app,
        general_settings or GeneralSettings(),
        lifespan="on",
        log_level="info" if access_log else "warning",  # access lines are INFO
        access_log=access_log,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[listener]))
    try:
        while not server.started:
            if task.done():
                task.result()  # raises why the server did not start
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


def mistral_entry(name: str, url: str, *, group: str = "ocr", **options: Any) -> dict[str, Any]:
    """A model_list entry for a fake Mistral served at `url`, with `name` as its id."""
    return {
        "model_name": group,
        "model": "mistral/mistral-ocr-latest",
        "id": name,
        "api_base": url,
        "api_key": PROVIDER_KEY,
        **options,
    }


def metric_samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Prometheus text -> {(sample name, sorted labels): value}."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def metric_sum(text: str, name: str, **labels: str) -> float:
    """The sum of the samples called `name` whose labels include `labels`."""
    return sum(
        value
        for (sample, sample_labels), value in metric_samples(text).items()
        if sample == name and set(labels.items()) <= set(sample_labels)
    )


@dataclass
class Proxy:
    """A proxy over fakes, started by the `start_proxy` fixture."""

    url: str
    router: Router
    fakes: dict[str, FakeProvider]

    def client(self, **options: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, timeout=20, **options)


ProxyStarter = Callable[..., Awaitable[Proxy]]

BEARER = {"Authorization": f"Bearer {MASTER_KEY}"}
DOCUMENT = {"type": "document_url", "document_url": "https://example.com/paper.pdf"}
