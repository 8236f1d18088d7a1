"""Identical requests in flight at once are sent once: the others wait for the first's answer.

A cache alone lets identical requests that arrive together all miss and all pay (a client that
retries a slow call, a pipeline fanning out one document). The first to miss *leads*: it is sent.
Identical requests that come while it runs, on the same event loop, wait for it (within their own
deadline) and then read the cache: a hit when the leader's answer was stored. When it was not
(the leader failed or was cancelled, or its answer is too large to keep) they go out themselves,
at once and side by side, rather than one after another. Only one process's requests are
coalesced, each event loop's apart (a future belongs to its loop).
"""

from __future__ import annotations

import asyncio


class InFlight:
    """The requests being sent, by cache key, each with the future its followers wait on."""

    def __init__(self) -> None:
        # Keyed by loop too: the router's sync thread and a caller's loop never share a future.
        self._leaders: dict[tuple[asyncio.AbstractEventLoop, str], asyncio.Future[bool]] = {}

    def follow(self, key: str) -> asyncio.Future[bool] | None:
        """The future of the request already sent for `key` (its result: whether its answer was
        stored), or None: the caller leads and must call `done(key, stored)` when it ends."""
        loop = asyncio.get_running_loop()
        leader = self._leaders.get((loop, key))
        if leader is not None:
            return leader
        self._leaders[(loop, key)] = loop.create_future()
        return None

    def done(self, key: str, stored: bool) -> None:
        leader = self._leaders.pop((asyncio.get_running_loop(), key), None)
        if leader is not None and not leader.done():
            leader.set_result(stored)

    def __len__(self) -> int:
        return len(self._leaders)


__all__ = ["InFlight"]
