"""`ocr-router serve` as a real subprocess, for the tests that need the command itself (graceful
shutdown, workers, shared state, the proxy soak): `async with serving_proxy("--config", path)`
yields the process and its URL, and kills its whole process group at the end."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

REPOSITORY = Path(__file__).parents[1]
LISTENING = "ocr-router proxy listening on "


@contextlib.asynccontextmanager
async def serving_proxy(
    *arguments: str, stderr: Any = asyncio.subprocess.DEVNULL
) -> AsyncIterator[tuple[asyncio.subprocess.Process, str]]:
    """`ocr-router serve ...` running; yields the process and its URL; killed if still alive.
    `stderr`: where its log goes (an open file to read it; discarded by default)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "router.cli",
        "serve",
        *arguments,
        cwd=REPOSITORY,
        stdout=asyncio.subprocess.PIPE,
        stderr=stderr,
        start_new_session=True,  # its own process group: the cleanup reaches its workers too
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 20)).decode()
        assert line.startswith(LISTENING), line
        yield process, line.removeprefix(LISTENING).strip()
    finally:
        # Workers left alive would hold the stdout pipe open, and wait() waits for the pipe.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        await asyncio.wait_for(process.wait(), 20)
