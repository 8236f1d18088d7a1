"""The `ocr-router` command.

Subcommands live in a registry: each is one small function that adds its parser and returns the
function that runs it, so later work adds a command without touching the others.

    ocr-router fake-server --provider azure_ai --port 0 --script ok,500,429:2
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import signal
import sys
from collections.abc import Callable, Sequence
from importlib import metadata
from typing import Any

Runner = Callable[[argparse.Namespace], int]
SubcommandInstaller = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], Runner]

SUBCOMMANDS: dict[str, SubcommandInstaller] = {}


def subcommand(name: str) -> Callable[[SubcommandInstaller], SubcommandInstaller]:
    """Register a function that adds the `name` subparser and returns its runner."""

    def register(installer: SubcommandInstaller) -> SubcommandInstaller:
        SUBCOMMANDS[name] = installer
        return installer

    return register


def _version() -> str:
    try:
        return metadata.version("ocr-router")
    except metadata.PackageNotFoundError:  # running from a checkout that was never installed
        return "unknown"


# -- fake-server --------------------------------------------------------------------------


def _fault_rate(text: str) -> tuple[str, float]:
    entry, separator, rate = text.rpartition("=")
    if not separator or not entry:
        raise argparse.ArgumentTypeError(f"{text!r} is not ENTRY=RATE (for example 500=0.1)")
    try:
        return entry, float(rate)
    except ValueError:
        raise argparse.ArgumentTypeError(f"the rate in {text!r} is not a number") from None


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


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number >= 1")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds >= 0")
    return value


@subcommand("fake-server")
def _install_fake_server(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> Runner:
    parser = subparsers.add_parser(
        "fake-server",
        help="run a fake OCR provider over HTTP, with scripted and random faults",
        description="Serve a fake Mistral OCR provider until interrupted (or --duration).",
    )
    parser.add_argument("--provider", required=True, choices=("mistral", "azure_ai", "vertex_ai"))
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (default)")
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
        type=_seconds,
        default=0.0,
        help="seconds more per page answered (default: %(default)s)",
    )
    parser.add_argument(
        "--pages",
        type=_positive_int,
        default=1,
        help="pages assumed for a remote document (default: %(default)s)",
    )
    parser.add_argument(
        "--duration", type=_seconds, help="stop after this many seconds (default: run until Ctrl-C)"
    )
    return _run_fake_server


def _run_fake_server(args: argparse.Namespace) -> int:
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

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())
    print(f"fake {args.provider} served {fake.request_count} requests", flush=True)
    return 0


# -- quickstart ---------------------------------------------------------------------------


@subcommand("quickstart")
def _install_quickstart(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> Runner:
    parser = subparsers.add_parser(
        "quickstart",
        help="run the README's examples against fake providers on 127.0.0.1 (no key, no network)",
        description="One ocr() call, then a Router over three fake providers with faults.",
    )
    parser.add_argument(
        "--requests",
        type=_positive_int,
        default=120,
        help="documents to route (default: %(default)s)",
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the faults (default: 1)")
    return _run_quickstart


def _run_quickstart(args: argparse.Namespace) -> int:
    from router.quickstart import run_quickstart

    result = asyncio.run(run_quickstart(sys.stdout, requests=args.requests, seed=args.seed))
    return 0 if result.succeeded == result.requests else 1


# -- entry point --------------------------------------------------------------------------


# Modules that register more subcommands with @subcommand when imported; importing them only
# when the command line is parsed keeps `import router` light.
COMMAND_MODULES = (
    "router.proxy.command",  # serve
    "router.batch",  # ocr
    "router.check_config",  # check-config
    "router.demo",  # demo
)


def _load_command_modules() -> None:
    for name in COMMAND_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as error:  # TEMPORARY while these modules are being written
            if error.name != name and not name.startswith(str(error.name)):
                raise


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, Runner]]:
    _load_command_modules()
    parser = argparse.ArgumentParser(
        prog="ocr-router",
        description="Load-balance Mistral OCR across Mistral, Azure AI Foundry and Vertex AI.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    runners = {name: install(subparsers) for name, install in SUBCOMMANDS.items()}
    return parser, runners


def main(argv: Sequence[str] | None = None) -> int:
    """Run `ocr-router` with `argv` (default: the process's arguments); returns the exit code."""
    parser, runners = build_parser()
    args: Any = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return runners[args.command](args)
    except ValueError as error:  # a bad fault script or option found when building the command
        parser.error(str(error))
        return 2  # pragma: no cover - parser.error exits


if __name__ == "__main__":
    # `python -m router.cli` runs this file as `__main__`, but command modules register with the
    # imported `router.cli`: run that module's main so their subcommands are found.
    from router.cli import main as imported_main

    sys.exit(imported_main())
