"""`ocr-router fake-server`: one fake provider over HTTP until Ctrl-C (or `--duration`).

ocr-router fake-server --provider vertex_ai --port 0 --script ok,500,429:2 --fault 503=0.1
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import signal
import sys

from router.cli import Runner
from router.cli.arguments import port, positive_int, seconds

LISTEN_FAILED_EXIT = 1


def _fault_rate(text: str) -> tuple[str, float]:
    entry, separator, rate = text.rpartition("=")
    if not separator or not entry:
        raise argparse.ArgumentTypeError(f"{text!r} is not ENTRY=RATE (for example 500=0.1)")
    try:
        return entry, float(rate)
    except ValueError:
        raise argparse.ArgumentTypeError(f"the rate in {text!r} is not a number") from None


def _date(text: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date YYYY-MM-DD") from None


def _latency(text: str) -> float | tuple[float, float]:
    try:
        parts = [float(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not SECONDS or LOW,HIGH") from None
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2:
        return (parts[0], parts[1])
    raise argparse.ArgumentTypeError(f"{text!r} is not SECONDS or LOW,HIGH")


def install(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> Runner:
    parser = subparsers.add_parser(
        "fake-server",
        help="run a fake OCR provider over HTTP, with scripted and random faults",
        description="Serve a fake Mistral OCR provider until interrupted (or --duration).",
    )
    parser.add_argument("--provider", required=True, choices=("mistral", "azure_ai", "vertex_ai"))
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    parser.add_argument("--port", type=port, default=0, help="0 picks a free port (default)")
    parser.add_argument("--api-key", help="the credential to expect; any is accepted without it")
    parser.add_argument(
        "--script", default="", help="faults for the first requests, comma-separated: ok,500,429:2"
    )
    parser.add_argument(
        "--fault",
        type=_fault_rate,
        action="append",
        default=[],
        metavar="ENTRY=RATE",
        help="random fault rate once the script is used up, e.g. --fault 500=0.1 (repeatable)",
    )
    parser.add_argument("--seed", type=int, help="seed of the random faults and latencies")
    parser.add_argument(
        "--latency", type=_latency, help="seconds before each answer: SECONDS or LOW,HIGH"
    )
    parser.add_argument(
        "--latency-per-page",
        type=seconds,
        default=0.0,
        help="seconds more per page answered (default: %(default)s)",
    )
    parser.add_argument(
        "--pages",
        type=positive_int,
        default=1,
        help="pages assumed for a remote document (default: %(default)s)",
    )
    parser.add_argument(
        "--today",
        type=_date,
        help="the date retirements are judged by, YYYY-MM-DD: a model retired by then answers "
        "the host's 404 (default: the real date)",
    )
    parser.add_argument(
        "--duration", type=seconds, help="stop after this many seconds (default: run until Ctrl-C)"
    )
    return run


def run(args: argparse.Namespace) -> int:
    from providers.fake import FakeProvider

    fake = FakeProvider(
        args.provider,
        api_key=args.api_key,
        script=[entry for entry in args.script.split(",") if entry.strip()],
        faults=dict(args.fault),
        seed=args.seed,
        latency=args.latency,
        latency_per_page=args.latency_per_page,
        default_page_count=args.pages,
        today=args.today,
        record_requests=False,  # only this process could read them: a long run must not keep them
    )

    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signal_number in (signal.SIGINT, signal.SIGTERM):
            # Windows has no loop signal handlers: there Ctrl-C raises KeyboardInterrupt instead.
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signal_number, stop.set)
        async with fake.serve(args.host, args.port) as base_url:
            print(f"fake {args.provider} listening on {base_url}", flush=True)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), args.duration)

    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve())
    except OSError as error:  # the port is taken, the address is not this machine's, ...
        reason = error.strerror or str(error)
        print(
            f"ocr-router fake-server: cannot listen on {args.host}:{args.port}: {reason}",
            file=sys.stderr,
        )
        return LISTEN_FAILED_EXIT
    print(f"fake {args.provider} served {fake.request_count} requests", flush=True)
    return 0


__all__ = ["install", "run"]
