"""An aiohttp app served on 127.0.0.1 for the length of a block: the tests' small upstreams
(a document host, a token endpoint, an OTLP collector), each on a port of its own."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from aiohttp import web


@contextlib.asynccontextmanager
async def serving(app: web.Application, *, access_log: bool = True) -> AsyncIterator[str]:
    """Serve `app` on a free loopback port; yields its base URL, `http://127.0.0.1:PORT`."""
    runner = web.AppRunner(app) if access_log else web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()
