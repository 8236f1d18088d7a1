"""Run the proxy app on uvicorn (uvloop, httptools): one process, or a supervisor and workers.

uvloop and httptools are uvicorn's fastest event loop and HTTP parser; the access log is off
unless asked for, since one log line per request costs more than routing it.

With one worker the app and its Router live in this process, on a socket bound before the server
starts (so `port=0` can report the port really bound). With more, uvicorn's supervisor shares
one bound socket with the workers, and each builds its own Router from `OCR_ROUTER_CONFIG`.
SIGTERM and SIGINT stop accepting connections and let requests in flight finish. A worker whose
supervisor dies (even by `kill -9`) stops too: it would otherwise keep the port, serving a
config nobody can reload, with no parent to restart or stop it.

Each connection's costs are bounded by the protocol (router/proxy/protocol.py): header size,
head and body read timeouts, open connections. The access log (when on) never shows a query
string (a key pasted into a URL would land in the log) nor any configured secret
(router/proxy/access_log.py).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
from collections.abc import Iterator
from typing import Any

import uvicorn
from uvicorn.supervisors import Multiprocess

from router.config import GeneralSettings, RouterConfig
from router.proxy.app import CONFIG_ENV, create_app
from router.proxy.protocol import ProxyServerConfig, ServerLimits
from router.proxy.worker import prepare_worker
from router.router import Router
from router.telemetry.export import OTLP_ENV, export_to_otlp


class AnnouncingServer(uvicorn.Server):
    """A uvicorn server that prints one "listening" line once it accepts requests."""

    def __init__(self, config: uvicorn.Config, url: str) -> None:
        super().__init__(config)
        self.url = url

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            print(f"ocr-router proxy listening on {self.url}", flush=True)


def run_server(
    config: RouterConfig,
    config_path: str,
    *,
    host: str,
    port: int,
    workers: int = 1,
    log_level: str = "info",
    access_log: bool = False,
    log_config: dict[str, Any] | None = None,
    otlp: bool = False,
) -> int:
    """Serve until SIGTERM/SIGINT; returns the exit status. `log_config` (a dictConfig) is
    applied in every worker; None keeps uvicorn's own. `otlp`: each worker exports its traces
    and metrics over OTLP (router/telemetry/export.py)."""
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "loop": "uvloop",
        "lifespan": "on",
        "log_level": log_level,
        "access_log": access_log,
        # Requests in flight may run up to the router's deadline, and no request runs longer.
        "timeout_graceful_shutdown": config.router_settings.timeout,
        # Longer than clients keep idle connections (httpx 5 s, aiohttp 15 s, load balancers
        # 60 s): the client closes first. Closing at the client's moment races its next request,
        # which then fails unanswered (uvicorn's default is 5 s, exactly httpx's).
        "timeout_keep_alive": KEEP_ALIVE_SECONDS,
        "proxy_limits": ServerLimits.from_settings(config.general_settings),
    }
    if log_config is not None:
        options["log_config"] = log_config
    if workers == 1:
        if otlp:
            export_to_otlp()
        settings = config.router_settings.model_dump(exclude_unset=True)
        app = create_app(
            Router(config.model_list, **settings), config.general_settings, close_router=True
        )
        prepare_worker()
        server_config = ProxyServerConfig(app, **options)
        bound = server_config.bind_socket()
        server = AnnouncingServer(server_config, _url(host, bound.getsockname()[1]))
        with _signals_end_quietly():
            server.run(sockets=[bound])
        return 0 if server.started else 1

    os.environ[CONFIG_ENV] = os.path.abspath(config_path)  # inherited by every worker
    if otlp:
        os.environ[OTLP_ENV] = "1"  # each worker sets its own providers (app_from_environment)
    server_config = ProxyServerConfig(
        "router.proxy.app:app_from_environment", factory=True, workers=workers, **options
    )
    bound = server_config.bind_socket()
    # Listen now (bind_socket only binds): connections made before the workers are up wait in
    # the backlog instead of being refused, so the announced address works at once.
    bound.listen(server_config.backlog)
    print(f"ocr-router proxy listening on {_url(host, bound.getsockname()[1])}", flush=True)
    Multiprocess(server_config, sockets=[bound]).run()
    return 0


KEEP_ALIVE_SECONDS = 75


def server_config(app: Any, general_settings: GeneralSettings, **options: Any) -> ProxyServerConfig:
    """A uvicorn config for the proxy app with the limits of `general_settings` (tests serve the
    app the way `ocr-router serve` does through this)."""
    return ProxyServerConfig(
        app, proxy_limits=ServerLimits.from_settings(general_settings), **options
    )


@contextlib.contextmanager
def _signals_end_quietly() -> Iterator[None]:
    """uvicorn handles SIGTERM/SIGINT itself (graceful shutdown), then re-raises the signal to
    the handler that was there before: make that one do nothing, so that a graceful shutdown
    ends with exit status 0 instead of being killed (SIGTERM) or raising KeyboardInterrupt."""
    handled = (signal.SIGINT, signal.SIGTERM)
    previous = {number: signal.signal(number, lambda number, frame: None) for number in handled}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


__all__ = [
    "AnnouncingServer",
    "run_server",
    "server_config",
]
