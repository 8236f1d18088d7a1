"""`ocr-router quickstart`: the README's examples against fake providers (`router.quickstart`)."""

from __future__ import annotations

import argparse
import asyncio
import sys

from router.cli import Runner
from router.cli.arguments import positive_int


def install(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> Runner:
    parser = subparsers.add_parser(
        "quickstart",
        help="run the README's examples against fake providers on 127.0.0.1 (no key, no network)",
        description="One ocr() call, then a Router over three fake providers with faults.",
    )
    parser.add_argument(
        "--requests",
        type=positive_int,
        default=120,
        help="documents to route (default: %(default)s)",
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the faults (default: 1)")
    return run


def run(args: argparse.Namespace) -> int:
    from router.quickstart import run_quickstart

    result = asyncio.run(run_quickstart(sys.stdout, requests=args.requests, seed=args.seed))
    return 0 if result.succeeded == result.requests else 1


__all__ = ["install", "run"]
