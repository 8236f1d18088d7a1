"""The `ocr-router` command.

Every subcommand is a row of `COMMANDS`: its name and the module that builds it. A command module
has one function, `install(subparsers) -> Runner`, that adds its parser and returns the function
that runs it. The table is the whole list, read in one place; nothing registers itself by being
imported, so a command cannot go missing because some import did not happen.

    ocr-router fake-server --provider azure_ai --port 0 --script ok,500,429:2
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from importlib import metadata
from typing import Any

Runner = Callable[[argparse.Namespace], int]

# (name, module): in the order `ocr-router --help` lists them. Modules are imported when the
# command line is parsed, never by `import router`, so the library stays light.
COMMANDS: tuple[tuple[str, str], ...] = (
    ("demo", "router.demo.command"),
    ("quickstart", "router.cli.quickstart"),
    ("ocr", "router.batch"),
    ("serve", "router.proxy.command"),
    ("check-config", "router.check_config"),
    ("fake-server", "router.cli.fake_server"),
)

BROKEN_PIPE_EXIT = 141  # 128 + SIGPIPE: what a shell reports for a command whose reader left


def _version() -> str:
    try:
        return metadata.version("ocr-router")
    except metadata.PackageNotFoundError:  # running from a checkout that was never installed
        return "unknown"


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, Runner]]:
    """The `ocr-router` parser and each subcommand's runner, from `COMMANDS`."""
    parser = argparse.ArgumentParser(
        prog="ocr-router",
        description="Load-balance Mistral OCR across Mistral, Azure AI Foundry and Vertex AI.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    runners: dict[str, Runner] = {}
    for name, module_name in COMMANDS:
        install: Callable[[Any], Runner] = importlib.import_module(module_name).install
        runners[name] = install(subparsers)
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
    except BrokenPipeError:
        # `ocr-router check-config ... | head`: the reader left, which is not an error of ours.
        # Point stdout at /dev/null so that the interpreter's final flush cannot fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return BROKEN_PIPE_EXIT


__all__ = ["COMMANDS", "Runner", "build_parser", "main"]
