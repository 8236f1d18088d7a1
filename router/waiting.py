"""Waiting for a deployment to come back, within the request's deadline.

When no deployment of a request's plan is usable, the request waits for the first one to return
if that can happen before its deadline: a cooldown or a budget window ends at a known time
(`Out.until`), and a request ending frees a slot or a probe at an unknown one
(`Out.frees_on_release`). `wake_time` says until when to wait, or that nothing can come back in
time (the caller is then told why, at once).

Waiting requests queue in arrival order (`WaitQueue`). Each change (a request ends, freeing a
slot or a probe) wakes only the longest-waiting request that has not looked since; if that one
still cannot proceed (it waits for another group, say) it passes the wake-up on when it waits
again. So a change costs one look in the usual case, not one per queued request. A waiter
belongs to the event loop it waits on (the sync thread has its own), and is woken on that loop
from any thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from router.selection import Out


def earliest_return(out: Mapping[str, Out]) -> float | None:
    """When the first of the deployments that are out returns, if any says when."""
    returns = [o.until for o in out.values() if o.until is not None]
    return min(returns) if returns else None


def wake_time(
    out: Mapping[str, Out], first_return: float | None, now: float, deadline: float
) -> float | None:
    """Until when a request finding every deployment `out` waits before it looks again: the first
    return, or its deadline when only a request ending may free one; None when nothing can come
    back before the deadline (or it has passed)."""
    may_free = any(o.frees_on_release for o in out.values())
    reachable = first_return is not None and first_return < deadline
    if now >= deadline or not (reachable or may_free):
        return None
    if reachable and first_return is not None:
        return min(first_return, deadline)
    return deadline


class WaitQueue:
    """The requests waiting for a deployment, oldest first, and a counter of the changes (a
    request ended, health changed) that may let one proceed."""

    def __init__(self) -> None:
        self._waiters: dict[Waiter, None] = {}  # a dict keeps insertion order
        self.changes = 0

    def __len__(self) -> int:
        return len(self._waiters)

    def join(self) -> Waiter:
        """A place at the end of the queue, on the running event loop."""
        waiter = Waiter(self, asyncio.get_running_loop())
        self._waiters[waiter] = None
        return waiter

    def leave(self, waiter: Waiter, *, served: bool) -> None:
        """`waiter` stops waiting; a wake-up it took and did not use goes on to the next."""
        del self._waiters[waiter]
        if waiter.woken and not served:
            self.wake_next()

    def changed(self) -> None:
        """Something changed that may let a waiting request proceed."""
        self.changes += 1
        if self._waiters:
            self.wake_next()

    def wake_next(self) -> None:
        """Wake the longest-waiting request that has not looked since the last change."""
        for waiter in self._waiters:  # waking does not change the dict
            if waiter.seen < self.changes and not waiter.woken:
                waiter.wake()
                return


class Waiter:
    """One request waiting for a deployment, on its own event loop."""

    def __init__(self, queue: WaitQueue, loop: asyncio.AbstractEventLoop) -> None:
        self._queue = queue
        self.loop = loop
        self.seen = queue.changes  # the change counter when it last looked for a deployment
        self.woken = False  # woken by a change (not by its own timer) since it last waited
        self._future: asyncio.Future[None] = loop.create_future()

    def looking(self) -> None:
        """It is about to look for a deployment: the changes so far are seen."""
        self.seen = self._queue.changes

    async def wait(self, seconds: float) -> None:
        """Wait up to `seconds`, or until woken by a change."""
        if self.woken:
            self._queue.wake_next()  # the last wake-up was not for us: pass it on
        self.woken = False
        self._future = self.loop.create_future()
        await asyncio.wait({self._future}, timeout=seconds)

    def wake(self) -> None:
        self.woken = True
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            self._resolve()
        elif not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self._resolve)

    def _resolve(self) -> None:
        if not self._future.done():
            self._future.set_result(None)
