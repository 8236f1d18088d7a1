"""What the demo's two commands share (`demo` and `demo --serve`): their defaults, and Ctrl-C.

A module of its own so that `router.demo.command` (the options, read at start-up without rich or
uvicorn) and `router.demo.serve` (the proxy) both import it, and neither imports the other.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Iterator

DEFAULT_DURATION_S = 20.0  # long enough to see an outage start and end, short enough to wait for
DEFAULT_RATE = 15.0  # requests per second: a few per deployment per second, easy to follow
DEFAULT_SEED = 1
DEFAULT_PORT = 4000  # the port LiteLLM's proxy uses, so copied curl commands keep working


@contextlib.contextmanager
def stop_on_signals(loop: asyncio.AbstractEventLoop, request_stop: object) -> Iterator[None]:
    """SIGINT and SIGTERM call `request_stop` instead of raising, while the demo runs."""
    installed = []
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        # Windows has no loop signal handlers: there Ctrl-C raises KeyboardInterrupt instead.
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signal_number, request_stop)  # type: ignore[arg-type]
            installed.append(signal_number)
    try:
        yield
    finally:
        for signal_number in installed:
            loop.remove_signal_handler(signal_number)


__all__ = [
    "DEFAULT_DURATION_S",
    "DEFAULT_PORT",
    "DEFAULT_RATE",
    "DEFAULT_SEED",
    "stop_on_signals",
]
