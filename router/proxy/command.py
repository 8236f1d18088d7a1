"""`ocr-router serve`: run the proxy on uvicorn (uvloop, httptools), one Router per worker process.

    ocr-router serve --config config.yaml [--host 127.0.0.1] [--port 4000] [--workers N]
                     [--no-auth] [--log-level info] [--log-format text|json] [--access-log]
                     [--otlp]

The config is validated in this (parent) process before anything is bound, so a mistake is one
clear message and exit status 1, not a crash in every worker. With one worker the app runs here,
on a socket bound first (so `--port 0` reports the port really bound); with more, uvicorn's
supervisor starts the workers and each builds its own Router from `OCR_ROUTER_CONFIG` (router
state is per process). On SIGTERM or SIGINT uvicorn stops accepting connections and lets the
requests in flight finish, for up to the router's `timeout` (no request can take longer).

Without any `master_key` the proxy would spend provider credits for anyone who can reach it: it
then only binds a loopback address, unless `--no-auth` says the operator means it, and warns
either way. Configured keys are always enforced.

`--log-format json` writes every log line (ocr-router's and uvicorn's, in every worker) as one
JSON object with the request id (router/telemetry/logs.py); the default is text. `--otlp` sends
each worker's traces and metrics to an OpenTelemetry collector (router/telemetry/export.py).
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import logging.config
import sys

from router.cli import Runner
from router.cli.arguments import port, positive_int
from router.telemetry.logs import LOG_FORMATS, logging_config

logger = logging.getLogger("ocr_router.proxy")

DEFAULT_PORT = 4000  # LiteLLM's proxy port: the seed's curl request and clients assume it
LOG_LEVELS = ("critical", "error", "warning", "info", "debug")


def install(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> Runner:
    parser = subparsers.add_parser(
        "serve",
        help="run the Mistral-compatible OCR proxy (POST /v1/ocr) over a config's deployments",
        description="Serve Mistral's /v1/ocr in front of a Router built from a config file.",
    )
    parser.add_argument("--config", required=True, help="the YAML config (model_list, ...)")
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    parser.add_argument(
        "--port", type=port, default=DEFAULT_PORT, help="0 picks a free port (default: %(default)s)"
    )
    parser.add_argument(
        "--workers", type=positive_int, default=1, help="worker processes (default: 1)"
    )
    parser.add_argument(
        "--no-auth",
        action="store_true",
        help="allow serving without any master_key on a non-loopback address",
    )
    parser.add_argument("--log-level", default="info", choices=LOG_LEVELS)
    parser.add_argument(
        "--log-format",
        default="text",
        choices=LOG_FORMATS,
        help="text, or one JSON object per line with the request id (default: %(default)s)",
    )
    parser.add_argument(
        "--access-log", action="store_true", help="log every request (off by default: speed)"
    )
    parser.add_argument(
        "--otlp",
        action="store_true",
        help="export traces and metrics over OTLP/HTTP to OTEL_EXPORTER_OTLP_ENDPOINT "
        "(default http://localhost:4318; needs the extra 'otlp')",
    )
    return _run_serve


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and "localhost": addresses only this machine can reach."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _run_serve(args: argparse.Namespace) -> int:
    from router.config import load_config
    from router.errors import ConfigError

    log_config = logging_config(args.log_level, args.log_format)
    logging.config.dictConfig(log_config)
    try:
        config = load_config(args.config)
    except ConfigError as error:
        print(f"ocr-router serve: {error}", file=sys.stderr)
        return 1
    if args.otlp:
        from router.telemetry.export import missing_otlp_packages

        problem = missing_otlp_packages()
        if problem is not None:
            print(f"ocr-router serve: {problem}", file=sys.stderr)
            return 1
    try:
        from router.proxy.server import run_server
    except ModuleNotFoundError as error:
        print(
            f"ocr-router serve needs the proxy extra ({error.name} is missing): "
            "pip install 'ocr-router[proxy]'",
            file=sys.stderr,
        )
        return 1
    if not config.general_settings.accepted_keys():
        if not is_loopback(args.host) and not args.no_auth:
            print(
                f"ocr-router serve: no master_key in general_settings: refusing to serve "
                f"{args.host} to anyone who can reach it; set a master_key, or pass --no-auth",
                file=sys.stderr,
            )
            return 1
        logger.warning("no master_key configured: the proxy accepts every request")

    return run_server(
        config,
        args.config,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
        access_log=args.access_log,
        log_config=log_config,
        otlp=args.otlp,
    )


__all__ = ["DEFAULT_PORT", "is_loopback"]
