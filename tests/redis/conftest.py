"""A real `redis-server` for the shared-state tests, on a free loopback port.

The server runs without persistence (`--save '' --appendonly no`) and is killed at the end of the
session. Tests that need the binary are skipped, with the reason, only where it is absent
(`.ci/run` installs Debian's `redis-server`). See `redis_helpers.RedisServer`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from redis_helpers import REDIS_BINARY, RedisServer, running

from router.retry import instant_backoff


@pytest.fixture(scope="session")
def redis_binary() -> str:
    if REDIS_BINARY is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server; .ci/run does)")
    return REDIS_BINARY


@pytest.fixture(scope="session")
def redis_server(redis_binary: str) -> Iterator[RedisServer]:
    """One server for the session; tests keep apart by giving their routers unique names."""
    with running(redis_binary) as server:
        yield server


@pytest.fixture
def own_redis_server(redis_binary: str) -> Iterator[RedisServer]:
    """A server of this test's own, which the test may stop and start again."""
    with running(redis_binary) as server:
        yield server


@pytest.fixture
def router_name() -> str:
    """A name no other test uses: its keys are its own."""
    return f"test-{uuid.uuid4().hex[:8]}"


@pytest.fixture(autouse=True)
def _instant_backoff() -> Iterator[None]:
    with instant_backoff():
        yield
