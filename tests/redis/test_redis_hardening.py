"""The shared state against a real redis-server that loses replies, restarts empty, or holds
what a process cannot handle: increments applied once, totals pushed again, a sync task that
never stops, and one log line per outage.

Counts are read back from Redis itself (the measure of what was applied), never timed.
"""

from __future__ import annotations

import logging
import math
import socket
import threading
import time
from collections.abc import Iterator
from decimal import Decimal

import pytest
import redis
from redis_helpers import RedisServer

from router.state.base import HealthRecord
from router.state.redis import RedisState

REQUESTS = 25


class ReplyEater:
    """A TCP relay to Redis that can swallow Redis's replies (`eat = True`): the commands reach
    the server and are applied, the client never hears back (a reply lost on the network)."""

    def __init__(self, target_port: int) -> None:
        self.eat = False
        self._target = target_port
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._stopped = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self._target))
            threading.Thread(target=self._pump, args=(client, server, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, True), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, replies: bool) -> None:
        try:
            while data := source.recv(65536):
                if not (replies and self.eat):
                    sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                end.close()

    def close(self) -> None:
        self._stopped.set()
        self._listener.close()


@pytest.fixture
def eater(redis_server: RedisServer) -> Iterator[ReplyEater]:
    relay = ReplyEater(redis_server.port)
    yield relay
    relay.close()


def _ledger(url: str, name: str) -> dict[str, int]:
    client = redis.Redis.from_url(url)
    try:
        fields = client.hgetall(f"ocr-router:{name}:costs")
    finally:
        client.close()
    return {key.decode(): int(value) for key, value in fields.items() if key != b"epoch|"}


def test_an_increment_is_applied_once_however_often_its_sync_is_retried(
    eater: ReplyEater, redis_server: RedisServer, router_name: str
) -> None:
    state = RedisState(eater.url, name=router_name, timeout=0.2)
    try:
        assert state.sync()
        for _ in range(REQUESTS):
            state.add_cost(("deployment:d",), 2, Decimal("0.001"))
        eater.eat = True  # Redis applies each push; its replies are lost: the sync is retried
        assert not state.sync(timeout=1.5)
        eater.eat = False
        assert state.sync(timeout=15)
        ledger = _ledger(redis_server.url, router_name)
        assert ledger["deployment:d|requests"] == REQUESTS  # was REQUESTS x (retries + 1)
        assert ledger["deployment:d|pages"] == 2 * REQUESTS
        assert state.cost_totals()["deployment:d"].requests == REQUESTS
    finally:
        state.close()


def test_live_processes_push_their_totals_again_after_redis_restarts_empty(
    own_redis_server: RedisServer, router_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ocr_router.state.redis")
    first = RedisState(own_redis_server.url, name=router_name)
    second = RedisState(own_redis_server.url, name=router_name)
    try:
        for state, count in ((first, 30), (second, 12)):
            for _ in range(count):
                state.add_cost(("deployment:d",), 1, Decimal("0.002"))
            state.add_spend("budget:day", Decimal("0.5"))
            assert state.sync()
        own_redis_server.stop()
        own_redis_server.start()  # the same port, and empty
        first.add_cost(("deployment:d",), 1, Decimal("0.002"))  # counted after the restart
        assert first.sync(timeout=15) and second.sync(timeout=15)
        ledger = _ledger(own_redis_server.url, router_name)
        assert ledger["deployment:d|requests"] == 43  # was 1: 42 lost with the old store
        reader = RedisState(own_redis_server.url, name=router_name)
        try:
            assert reader.cost_totals()["deployment:d"].requests == 43
            reader.spend("budget:day")  # a budget is read from the sync after it is asked about
            assert reader.sync()
            assert reader.spend("budget:day") == Decimal("1.0")
        finally:
            reader.close()
        assert first.sync()  # its view catches up with what the other pushed again
        assert first.cost_totals()["deployment:d"].requests == 43
    finally:
        first.close()
        second.close()
    lost = [r for r in caplog.records if "lost its data" in r.getMessage()]
    assert len(lost) == 2  # once per live process


def test_a_record_with_an_infinite_cooldown_never_stops_the_sync(
    redis_server: RedisServer, router_name: str
) -> None:
    state = RedisState(redis_server.url, name=router_name)
    try:
        # A cooldown of for ever (Retry-After: inf, before it was capped): int(inf) once
        # killed the sync task without a log line, and the process stopped sharing.
        forever = HealthRecord(consecutive_failures=1, cooldown_until=math.inf, reason="inf")
        state.set_health_record("d", forever)
        state.add_cost(("deployment:d",), 1, Decimal("0.001"))
        assert state.sync()
        assert state.sync()
        assert _ledger(redis_server.url, router_name)["deployment:d|requests"] == 1
    finally:
        state.close()


def test_a_failing_sync_is_logged_once_and_retried_not_fatal(
    redis_server: RedisServer,
    router_name: str,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.WARNING, logger="ocr_router.state.redis")
    state = RedisState(redis_server.url, name=router_name)
    failures = {"left": 5}
    real = state._ledger_args

    def broken(*args: object) -> object:
        if failures["left"]:
            failures["left"] -= 1
            raise OverflowError("a bug in a sync")
        return real(*args)  # type: ignore[arg-type]

    try:
        monkeypatch.setattr(state, "_ledger_args", broken)
        state.add_cost(("deployment:d",), 1, Decimal("0.001"))
        assert state.sync(timeout=20)  # after five failed syncs: the task carried on
        assert _ledger(redis_server.url, router_name)["deployment:d|requests"] == 1
    finally:
        state.close()
    failed = [r for r in caplog.records if "a sync failed" in r.getMessage()]
    back = [r for r in caplog.records if "Redis is back" in r.getMessage()]
    assert len(failed) == 1 and failed[0].levelno == logging.ERROR
    assert len(back) == 1


async def test_a_slow_reservation_is_no_outage(
    redis_server: RedisServer,
    router_name: str,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.WARNING, logger="ocr_router.state.redis")
    state = RedisState(redis_server.url, name=router_name)

    async def times_out(*args: object) -> object:
        raise TimeoutError

    try:
        monkeypatch.setattr(state, "_reserve_remote", times_out)
        for second in range(20):
            admitted = await state.reserve_window(
                "usage:d",
                1000.0 + second,
                1,
                1,
                max_requests=100,
                max_pages=None,
                window_seconds=60,
            )
            assert admitted  # served from the local window
            assert state.sync()  # and the syncs still succeed in between
    finally:
        state.close()
    # Was one "unreachable" and one "back" per slow reservation: the outage log flapped.
    assert not [r for r in caplog.records if "Redis" in r.getMessage()]


async def test_a_window_booking_counts_once_however_often_its_reply_is_lost(
    eater: ReplyEater, redis_server: RedisServer, router_name: str
) -> None:
    now = time.time()  # the state's own clock: its syncs prune the window by it
    state = RedisState(eater.url, name=router_name, timeout=0.2)
    try:
        assert state.sync()
        eater.eat = True
        # Run on the server twice (the first try and the retry), both replies lost: decided
        # locally, and pushed later under the same token.
        assert await state.reserve_window(
            "usage:d", now, 1, 3, max_requests=10, max_pages=None, window_seconds=60
        )
        for _ in range(REQUESTS):
            state.add_to_window("usage:d", now, 0, 2)  # pages served beyond the estimate
        assert not state.sync(timeout=1.5)  # every push applied, its reply lost: retried
        eater.eat = False
        assert state.sync(timeout=15)
        totals = state.window_totals("usage:d", now, 60)
    finally:
        state.close()
    client = redis.Redis.from_url(redis_server.url)
    try:
        fields = client.hgetall(f"ocr-router:{router_name}:window:usage:d")
    finally:
        client.close()
    booked = {kind: 0 for kind in (b"r", b"p")}
    for name, value in fields.items():
        if name[:1] in booked:
            booked[name[:1]] += int(value)

    assert (booked[b"r"], booked[b"p"]) == (1, 3 + 2 * REQUESTS)
    assert (totals.requests, totals.pages) == (1, 3 + 2 * REQUESTS)
