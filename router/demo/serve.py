"""`ocr-router demo --serve`: the proxy in front of the demo's fakes (not available yet)."""

from __future__ import annotations

import argparse
import sys

from rich.console import Console

EXIT_PROXY_UNAVAILABLE = 2


def run_serve_command(args: argparse.Namespace, console: Console) -> int:
    print("ocr-router demo --serve: the proxy is not available in this build", file=sys.stderr)
    return EXIT_PROXY_UNAVAILABLE
