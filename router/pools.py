"""The router's connection pools: one `httpx.AsyncClient` per event loop.

A pool's connections belong to the event loop that opened them: a second `asyncio.run()`, or the
sync bridge's thread (router/sync_bridge.py), needs a pool of its own. `LoopClients` maps each
loop the router has been used from to its pool, opening one on first use and forgetting those
whose loop has closed (their connections died with it). A client lent by the caller
(`Router(client=...)`) is used on the caller's loops and never closed here; the sync bridge's loop
always has the router's own pool.

Closing runs each pool's `aclose` on its own loop where that can be done: the sync loop's on the
sync loop, an idle loop's by running it; a running foreign loop's pool is left to that loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping

import httpx

from router.http_client import RouterClient
from router.transport import fast_transport

# Sized for many concurrent OCR calls to a handful of hosts; keep-alive saves TLS handshakes.
DEFAULT_POOL_LIMITS = httpx.Limits(max_connections=512, max_keepalive_connections=128)


class LoopClients(Mapping[asyncio.AbstractEventLoop, httpx.AsyncClient]):
    """The router's own pools, by event loop (read as a mapping), and the client lent to it."""

    def __init__(
        self,
        transport: httpx.AsyncBaseTransport | None = None,
        given: httpx.AsyncClient | None = None,
    ) -> None:
        self._transport = transport  # of the router's own pools (tests plug a fake's here)
        self._given = given  # lent by the caller: used on its loop, never closed by us
        self._clients: dict[asyncio.AbstractEventLoop, httpx.AsyncClient] = {}

    def __getitem__(self, loop: asyncio.AbstractEventLoop) -> httpx.AsyncClient:
        return self._clients[loop]

    def __iter__(self) -> Iterator[asyncio.AbstractEventLoop]:
        return iter(self._clients)

    def __len__(self) -> int:
        return len(self._clients)

    def for_running_loop(self, sync_loop: asyncio.AbstractEventLoop | None) -> httpx.AsyncClient:
        """The client for the running loop: the lent one, except on the sync bridge's
        `sync_loop`, else this loop's pool (opened now if it has none)."""
        loop = asyncio.get_running_loop()
        if self._given is not None and loop is not sync_loop:
            return self._given
        client = self._clients.get(loop)
        if client is None:
            for closed in [old for old in self._clients if old.is_closed()]:
                del self._clients[closed]  # its connections died with its loop
            client = self._clients[loop] = self._new_client()
        return client

    def _new_client(self) -> httpx.AsyncClient:
        transport = self._transport or fast_transport(DEFAULT_POOL_LIMITS)
        if transport is None:  # no `fast` extra, or an environment proxy: httpx's own pool
            return httpx.AsyncClient(limits=DEFAULT_POOL_LIMITS)
        return RouterClient(transport, DEFAULT_POOL_LIMITS)

    async def close_running(self) -> None:
        """Close the running loop's pool, if it has one; the next request opens a new one."""
        client = self._clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.aclose()

    def close_all(self, sync_loop: asyncio.AbstractEventLoop | None) -> None:
        """Close each pool on its own loop where it can be (the sync bridge's on `sync_loop`,
        still running); a closed loop took its pool along."""
        for owner, client in list(self._clients.items()):
            if owner is sync_loop and sync_loop is not None:
                asyncio.run_coroutine_threadsafe(client.aclose(), sync_loop).result()
            elif not owner.is_closed() and not owner.is_running():
                owner.run_until_complete(client.aclose())
        self._clients.clear()
