"""Ready a proxy worker for traffic, and stop it with its supervisor (its own module: the app and
the server both call these, and neither imports the other for them)."""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import signal
import threading


def prepare_worker() -> None:
    """Import now what the first request would (the fast transport: ~0.1 s), then leave what
    start-up built out of later garbage collections: a full collection walks every tracked
    object, and its pause lands on the requests in flight."""
    with contextlib.suppress(ImportError):
        import router._aiohttp_transport  # noqa: F401
    gc.collect()
    gc.freeze()


def watch_parent() -> None:
    """Stop this worker (SIGTERM: a graceful shutdown) once its supervisor is gone.

    uvicorn spawns workers with multiprocessing, which hands each one a sentinel of its parent: a
    pipe end that reads as closed once the parent is gone, however it died. A daemon thread waits
    on it (no polling); a parent already gone when the app loads (a worker still starting when
    the supervisor was killed) is noticed at once."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return  # not a multiprocessing worker: nobody to outlive

    def watch() -> None:
        parent.join()
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="ocr-router-parent-watch", daemon=True).start()


__all__ = ["prepare_worker", "watch_parent"]
