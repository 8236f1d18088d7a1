"""Helpers for the shared-state tests: a real `redis-server` subprocess on a fixed loopback
port (`RedisServer`: no persistence; `stop()`/`start()` cut Redis off mid-run and bring it back,
empty, on the same port; `slow_for()` stalls it), and model_list entries for fake Mistral
deployments.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import redis

REDIS_BINARY = shutil.which("redis-server") or shutil.which(
    "redis-server", path="/usr/sbin:/usr/bin"
)
START_TIMEOUT = 10.0  # seconds for redis-server to answer PING


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _answers_ping(port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _debug_sleep(url: str, seconds: float) -> None:
    client = redis.Redis.from_url(url, socket_timeout=seconds + START_TIMEOUT)
    try:
        client.execute_command("DEBUG", "SLEEP", repr(seconds))
    finally:
        client.close()


class RedisServer:
    """One redis-server subprocess on a fixed loopback port."""

    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--enable-debug-command",  # DEBUG SLEEP: a slow server, for the timeout tests
                "local",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while not _answers_ping(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            time.sleep(0.02)

    def slow_for(self, seconds: float) -> threading.Thread:
        """Make the server answer nothing for `seconds` (DEBUG SLEEP: commands sent meanwhile
        run when it wakes, as after a stall); returns once it sleeps, with the thread to join."""
        sleeper = threading.Thread(
            target=_debug_sleep, args=(self.url, seconds), name="redis-debug-sleep"
        )
        sleeper.start()
        deadline = time.monotonic() + START_TIMEOUT
        while _answers_ping(self.port, timeout=0.05) and time.monotonic() < deadline:
            time.sleep(0.01)
        return sleeper

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)
        self.process = None


@contextmanager
def running(binary: str) -> Iterator[RedisServer]:
    """A started server, stopped when the block ends."""
    server = RedisServer(binary)
    server.start()
    try:
        yield server
    finally:
        server.stop()


KEY = "redis-test-provider-key"


def mistral(deployment_id: str, url: str, **options: Any) -> dict[str, Any]:
    """A model_list entry for a fake Mistral at `url` (credential `KEY`), with that id."""
    return {
        "model_name": "ocr",
        "id": deployment_id,
        "model": "mistral/mistral-ocr-latest",
        "api_key": KEY,
        "api_base": url,
        **options,
    }
