"""`Router.ocr` for synchronous code: the router's own event loop, on a thread of its own.

Synchronous calls run as coroutines on one loop the router owns (started on first use, a daemon
thread), not a fresh `asyncio.run()` each: the loop keeps its connection pool
(router/pools.py) from call to call, and cooldowns, waits and hooks behave as in async code.
A call from that thread itself (a hook calling `Router.ocr`) would wait on its own loop forever,
so it is refused.

A script that never closes its Router would end with aiohttp's "Unclosed client session" for
each pool, so starting the loop registers an `atexit` hook closing the Router; it holds the
Router through a weak reference (the Router still goes when dropped) and is unregistered when
the bridge is released.
"""

from __future__ import annotations

import asyncio
import atexit
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class SyncBridge:
    """The router's event loop thread for synchronous calls (started on first use)."""

    def __init__(self, at_exit: Callable[[], None]) -> None:
        self._at_exit = at_exit  # registered with atexit while the loop runs
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._exit_registered = False

    def on_own_thread(self) -> bool:
        return threading.current_thread() is self.thread

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run `coroutine` on the router's loop and wait for its result in this thread."""
        if self.on_own_thread():
            coroutine.close()
            raise RuntimeError("Router.ocr() was called from the router's own loop (a hook?)")
        loop = self._ensure_loop()
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result()

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self.loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(
                    target=loop.run_forever, name="ocr-router-sync", daemon=True
                )
                thread.start()
                self.loop, self.thread = loop, thread
                atexit.register(self._at_exit)
                self._exit_registered = True
            return self.loop

    def release(self) -> tuple[asyncio.AbstractEventLoop | None, threading.Thread | None]:
        """Forget the loop and its thread, still running (the caller closes what lives on the
        loop, then `stop`s it), and unregister the exit hook."""
        with self._lock:
            loop, thread = self.loop, self.thread
            self.loop = self.thread = None
            if self._exit_registered:
                atexit.unregister(self._at_exit)
                self._exit_registered = False
        return loop, thread


def stop(loop: asyncio.AbstractEventLoop, thread: threading.Thread | None) -> None:
    """Stop a loop `SyncBridge.release` gave up, wait for its thread (unless it is this one)
    and close it."""
    loop.call_soon_threadsafe(loop.stop)
    if thread is not None and thread is not threading.current_thread():
        thread.join()
    loop.close()
