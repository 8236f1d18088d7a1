"""The `ocr-router demo` subcommand: options, signals and exit status around `run_demo`.

Ctrl-C (or SIGTERM) is part of the demo, not a crash: the first one stops sending, lets the
requests in flight finish (a few seconds at most) and prints the summary; a second one cancels
the requests still in flight. Either way the summary is printed, with no traceback, and the exit
status is 130 (the shell's code for a command stopped by Ctrl-C, as `ocr-router ocr` uses): a
script can tell a demo that ran its course (0) from one cut short. `demo --serve` runs until
Ctrl-C by design, so there Ctrl-C is its normal end (0), as for `ocr-router serve`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from router.cli import Runner
from router.cli.arguments import port
from router.demo.process import (
    DEFAULT_DURATION_S,
    DEFAULT_PORT,
    DEFAULT_RATE,
    DEFAULT_SEED,
    stop_on_signals,
)

EXIT_INTERRUPTED = 130  # 128 + SIGINT: stopped by Ctrl-C (before the start, or during the run)


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds > 0")
    return value


def _positive_rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= 1000:
        raise argparse.ArgumentTypeError(f"{text!r} is not a rate between 0 and 1000 per second")
    return value


def install(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> Runner:
    parser = subparsers.add_parser(
        "demo",
        help="watch the router fail over between fake providers (no key, no network)",
        description=(
            "Start fake Mistral, Azure and Vertex servers on 127.0.0.1 (one with an outage, one "
            "failing 15% of the time, one rate-limited), route a steady stream of sample "
            "documents through a Router over them, show each deployment live, and end with a "
            "summary. Ctrl-C stops early and still prints the summary."
        ),
    )
    parser.add_argument(
        "--duration",
        type=_positive_seconds,
        metavar="SECONDS",
        help=(f"how long to send (default: {DEFAULT_DURATION_S:g}; with --serve: until Ctrl-C)"),
    )
    parser.add_argument(
        "--rate",
        type=_positive_rate,
        default=DEFAULT_RATE,
        metavar="REQUESTS_PER_SECOND",
        help="documents sent per second (default: %(default)g)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=DEFAULT_SEED,
        help="seed of the fakes' faults and of the document order (default: %(default)s)",
    )
    parser.add_argument(
        "--serve",
        action="store_true",
        help="run the proxy (POST /v1/ocr) over the same fakes instead of the stream",
    )
    parser.add_argument(
        "--port",
        type=port,
        default=DEFAULT_PORT,
        help="--serve: port on 127.0.0.1 (default: %(default)s; 0 picks a free one)",
    )
    return _run_demo


def _run_demo(args: argparse.Namespace) -> int:
    try:
        from rich.console import Console
    except ImportError:
        print("ocr-router demo needs rich: pip install 'ocr-router[cli]'", file=sys.stderr)
        return 2
    from router.demo.run import DemoOptions, StopSignal, run_demo

    console = Console(highlight=False)
    if not console.is_terminal:  # a log or a pipe: wide enough for the summary table
        console = Console(highlight=False, width=120)

    if args.serve:
        from router.demo.serve import run_serve_command

        return run_serve_command(args, console)

    options = DemoOptions(
        duration_s=args.duration or DEFAULT_DURATION_S, rate=args.rate, seed=args.seed
    )

    async def demo() -> bool:
        stop = StopSignal()
        with stop_on_signals(asyncio.get_running_loop(), stop.request):
            summary = await run_demo(options, console, stop)
        return summary.interrupted

    try:
        interrupted = asyncio.run(demo())
    except KeyboardInterrupt:  # only before the handlers are installed, or on Windows
        return EXIT_INTERRUPTED
    return EXIT_INTERRUPTED if interrupted else 0
