"""A real `redis-server` for the shared-state tests, on a free loopback port.

The server runs without persistence (`--save '' --appendonly no`) and is killed at the end of the
session. Tests that need the binary are skipped, with the reason, only where it is absent
(`.ci/run` installs Debian's `redis-server`). `RedisServer.stop()`/`start()` let a test cut
Redis off mid-run and bring it back on the same port.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator

import pytest

from router.retry import instant_backoff

REDIS_BINARY = shutil.which("redis-server") or shutil.which(
    "redis-server", path="/usr/sbin:/usr/bin"
)
START_TIMEOUT = 10.0  # seconds for redis-server to answer PING


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _answers_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")
    except OSError:
        return False


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

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)
        self.process = None


@pytest.fixture(scope="session")
def redis_binary() -> str:
    if REDIS_BINARY is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server; .ci/run does)")
    return REDIS_BINARY


@pytest.fixture(scope="session")
def redis_server(redis_binary: str) -> Iterator[RedisServer]:
    """One server for the session; tests keep apart by giving their routers unique names."""
    server = RedisServer(redis_binary)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def own_redis_server(redis_binary: str) -> Iterator[RedisServer]:
    """A server of this test's own, which the test may stop and start again."""
    server = RedisServer(redis_binary)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def router_name() -> str:
    """A name no other test uses: its keys are its own."""
    return f"test-{uuid.uuid4().hex[:8]}"


@pytest.fixture(autouse=True)
def _instant_backoff() -> Iterator[None]:
    with instant_backoff():
        yield
