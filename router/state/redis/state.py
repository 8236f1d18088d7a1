"""`RedisState`: one view of the router's memory shared by every process that names the same router.

Several proxy replicas (or service instances embedding a Router) each learn on their own that a
deployment is failing, and together overrun a provider's quota. Redis, a store teams already run,
gives them one view. The router's code does not change: this class is a `RouterState`.

How it stays off the hot path. Reads answer from a local copy, refreshed by ONE background task
per process (on its own thread and event loop, so it serves every loop the router runs on):
every `staleness` seconds (0.5 s by default: a cooldown set by one process is honoured by all
within about a second) it sends one pipeline that pushes this process's pending writes and reads
back the shared state. Writes are applied to the local copy at once and queued for that pipeline;
a health change (a cooldown) wakes the task at once instead of waiting for its turn.

What is exact, and how:

- `rpm` and `pages_per_minute` windows: `reserve_window` is awaited by the router after it chooses
  a deployment with a quota: one Lua script checks and adds in one step, so processes racing for
  the last slot cannot both get it. It is the only Redis round trip a request waits on.
- Costs and budget spend: increments (integers; money as whole dollars and pico-dollars with a
  carry, so sums are exact and never overflow), pushed by the background task and added on the
  server; nothing is ever overwritten, so a total is the exact sum over processes. Each push is
  a numbered batch, re-sent unchanged until its reply arrives and applied once (a sync whose
  reply was lost after Redis applied it must not count twice: the ledger grew on every retry).
  The ledger carries an epoch, a random name for this life of the store: a Redis restarted empty
  has none, so each live process finds its epoch gone and pushes its totals again, instead of
  the shared ledger silently losing everything counted before the restart.

What is shared, with the staleness bound: health records (cooldowns and failure streaks, one key
per deployment with a TTL; a live cooldown is only replaced by a later one), in-flight counts (per
process, as leases: each value carries an expiry refreshed by every sync, so a process that dies
stops counting after `lease_seconds`), and latency estimates (each process publishes its own;
`seconds_per_page` is their mean).

Keys (prefix `ocr-router:<name>:`), bounded: `health:<id>`, `inflight:<id>` and `latency:<id>`
(one per deployment, fields one per live process), `processes` (fields one per live process),
`window:<key>` (one per deployment with a quota and two for the retry budget, fields three per
second of the window: requests, pages, and the tokens booked that second), `costs` (one hash,
fields per deployment, group and provider), `spend:<budget>:<period>` (one per budget and period,
expiring 40 days after its last write). Every key has a TTL except `costs` and the `total` budgets.

A Redis outage never fails a request: the task logs the outage once and its end once (only a
failed sync starts one: a slow reservation falls back to the local window without a log line),
keeps every write in
its queue (windows pruned to their length, costs summed per key, health the latest per
deployment: bounded), answers from the local copy, `reserve_window` falls back to the local
window, and reconnects with exponential backoff (0.1 s to 5 s). When Redis is back, the first
pipeline re-pushes the queue and re-reads everything: the processes share one view again. Any
other failure of a sync (a bug, a malformed record) is logged the same way and retried: the task
never stops.

A slow Redis is not an outage, and a timeout does not say what happened: the script may have run,
or may run when the server catches up. So every window booking carries a token, booked once
however often it is sent (scripts.WINDOW): a reservation whose reply is lost asks again with the
same token; a booking pushed by a sync whose reply is lost is pushed again with the same token. A
reservation that still gets no answer is decided locally, within this process's share of the
quota (`_reserve_locally` states the bound), and reconciled when Redis is back: granted, it counts
once; refused, whatever the server booked for it is taken back.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from router.state.base import CostTotals, HealthRecord, WindowTotals
from router.state.memory import DEFAULT_RECORD_TTL, MemoryState
from router.state.redis import scripts

logger = logging.getLogger("ocr_router.state.redis")

DEFAULT_STALENESS = 0.5  # seconds between syncs: every view is at most ~1 s old
DEFAULT_LEASE_SECONDS = 10.0  # a dead process's in-flight count vanishes after this
DEFAULT_TIMEOUT = 0.5  # seconds for one Redis command: a hung server must not hold requests
MIN_WINDOW_RETENTION = 60.0  # windows keep a minute of buckets: rpm/pages_per_minute need it
SPEND_TTL_SECONDS = 40 * 86400  # a budget period's spend outlives the longest period (a month)
BACKOFF_FIRST, BACKOFF_MAX = 0.1, 5.0  # reconnect attempts: fast at first, then every 5 s
CLOSE_TIMEOUT = 2.0  # seconds `close()` waits for the last push of pending writes
PICO = 10**12  # money is exact to the pico-dollar
APPLIED_TTL_MS = 7 * 86400 * 1000  # a batch is deduplicated for a week of retries
RESERVE_POOL_SIZE = 16  # connections per process: reservations queue briefly rather than flood
RESERVE_ATTEMPTS = 2  # a reservation's reply lost once is asked again (same token) before local

_TRANSIENT = (RedisError, OSError, asyncio.TimeoutError)
_SLOW = (RedisTimeoutError, asyncio.TimeoutError)  # no answer in time: maybe only busy


def _split_usd(usd: Decimal) -> tuple[int, int]:
    picos = int((usd * PICO).to_integral_value(rounding=ROUND_HALF_EVEN))
    return divmod(picos, PICO)


def _join_usd(dollars: Any, picos: Any) -> Decimal:
    return Decimal(int(dollars or 0)) + Decimal(int(picos or 0)) / PICO


@dataclass
class _Batch:
    """Increments frozen for one push: re-sent unchanged until Redis answers."""

    sequence: int
    costs: dict[str, _CostDelta]
    spends: dict[str, Decimal]


@dataclass
class _CostDelta:
    requests: int = 0
    pages: int = 0
    unpriced: int = 0
    usd: Decimal = Decimal(0)


def _plus(totals: CostTotals, delta: _CostDelta) -> CostTotals:
    return CostTotals(
        requests=totals.requests + delta.requests,
        pages=totals.pages + delta.pages,
        usd=totals.usd + delta.usd,
        priced=totals.priced and delta.unpriced == 0,
    )


class RedisState:
    """A `RouterState` shared through Redis (see the module docstring).

    Args:
        url: `redis://[:password@]host:port/db` (never logged: it may hold a password).
        name: the router's name; routers with the same name share state.
        staleness: seconds between syncs with Redis (the bound on how old a read may be).
        lease_seconds: how long an in-flight count outlives the last sync of its process.
        record_ttl: how long a health record lives untouched (as in `MemoryState`).
        clock: the router's clock (wall time: records are compared across processes).
        timeout: seconds for one Redis command before the state degrades to local.
        deployments: ids to read from the start (others are read once asked about).
    """

    def __init__(
        self,
        url: str,
        *,
        name: str = "default",
        staleness: float = DEFAULT_STALENESS,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        record_ttl: float = DEFAULT_RECORD_TTL,
        clock: Callable[[], float] = time.time,
        timeout: float = DEFAULT_TIMEOUT,
        deployments: Iterable[str] = (),
    ) -> None:
        if not staleness > 0 or not lease_seconds > staleness:
            raise ValueError("staleness must be positive and lease_seconds longer than it")
        self.name = name
        self.staleness = staleness
        self.lease_seconds = lease_seconds
        self._prefix = f"ocr-router:{name}:"
        self._process = uuid.uuid4().hex[:16]
        self._clock = clock
        self._record_ttl = record_ttl
        self._lock = threading.RLock()
        # This process's own figures (in flight, latency) and the local copy of health records.
        self._local = MemoryState(clock=clock, record_ttl=record_ttl)
        self._others_in_flight: dict[str, int] = {}
        self._others_latency: dict[str, list[float]] = {}
        self._deployments: set[str] = set(deployments)  # read from the first sync on
        # Health writes not yet pushed: id -> (sequence number, record or None).
        self._health_pending: dict[str, tuple[int, HealthRecord | None]] = {}
        self._sequence = 0
        # Windows: what Redis said (base) plus what this process added since (pending, by
        # (second, token): token "" while it may grow, a fresh one once it is pushed, a
        # reservation's own when its outcome was unknown), and the unknown reservations refused
        # locally, whose booking on the server (if it was made) is to be taken back (withdraw).
        self._window_base: dict[str, dict[int, list[int]]] = {}
        self._window_pending: dict[str, dict[tuple[int, str], list[int]]] = {}
        self._window_withdraw: dict[str, dict[tuple[int, str], list[int]]] = {}
        self._processes = 1  # live processes sharing this name, as of the last sync
        self._window_lengths: dict[str, float] = {}
        self._cost_base: dict[str, CostTotals] = {}
        self._cost_pending: dict[str, _CostDelta] = {}
        self._spend_base: dict[str, Decimal] = {}
        self._spend_pending: dict[str, Decimal] = {}
        self._spend_used: dict[str, float] = {}  # spend key -> when last used (old periods go)
        # The batch being pushed, what this process pushed and Redis applied (its share of the
        # ledger, pushed again if the store is found empty), and the store's epoch.
        self._batch: _Batch | None = None
        self._batch_sequence = 0
        self._cost_acked: dict[str, _CostDelta] = {}
        self._spend_acked: dict[str, Decimal] = {}
        self._epoch = ""
        self._repush_health = False
        self._connected = False
        self._degraded = False
        self._closed = False
        self._synced = threading.Condition(self._lock)
        self._sync_count = 0
        self._attempts = 0  # syncs tried, successful or not
        self._timeout = timeout
        self._url = url
        self._client: aioredis.Redis
        self._loop = asyncio.new_event_loop()
        self._wake: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(
            target=self._run_loop, name=f"ocr-router-redis-{name}", daemon=True
        )
        self._thread.start()
        self._ready.wait()
        # Start from the shared view (a cooldown set by another process), unless Redis does
        # not answer at once: then the first requests run on local state, as in an outage.
        with self._synced:
            self._synced.wait_for(lambda: self._attempts > 0, timeout * 4)

    def __repr__(self) -> str:
        state = "connected" if self._connected else "degraded" if self._degraded else "starting"
        return f"RedisState(name={self.name!r}, {state})"  # never the URL: it may hold a password

    @property
    def connected(self) -> bool:
        """Whether the last sync with Redis succeeded."""
        return self._connected

    # ------------------------------------------------------------------ load

    def in_flight(self, deployment_id: str) -> int:
        with self._lock:
            self._deployments.add(deployment_id)
            return self._local.in_flight(deployment_id) + self._others_in_flight.get(
                deployment_id, 0
            )

    def add_in_flight(self, deployment_id: str, delta: int) -> None:
        with self._lock:
            self._deployments.add(deployment_id)
            self._local.add_in_flight(deployment_id, delta)

    def seconds_per_page(self, deployment_id: str) -> float | None:
        with self._lock:
            self._deployments.add(deployment_id)
            estimates = list(self._others_latency.get(deployment_id, ()))
            own = self._local.seconds_per_page(deployment_id)
        if own is not None:
            estimates.append(own)
        return sum(estimates) / len(estimates) if estimates else None

    def observe_latency(self, deployment_id: str, seconds_per_page: float, now: float) -> None:
        with self._lock:
            self._deployments.add(deployment_id)
            self._local.observe_latency(deployment_id, seconds_per_page, now)

    def observe_failure(self, deployment_id: str, now: float) -> None:
        with self._lock:
            self._deployments.add(deployment_id)
            self._local.observe_failure(deployment_id, now)

    # ------------------------------------------------------------------ health

    def health_record(self, deployment_id: str) -> HealthRecord | None:
        with self._lock:
            self._deployments.add(deployment_id)
            return self._local.health_record(deployment_id)

    def set_health_record(self, deployment_id: str, record: HealthRecord | None) -> None:
        with self._lock:
            self._deployments.add(deployment_id)
            self._local.set_health_record(deployment_id, record)
            self._sequence += 1
            self._health_pending[deployment_id] = (self._sequence, record)
        self._wake_soon()  # a cooldown is worth telling the others at once

    # ------------------------------------------------------------------ windows

    def add_to_window(self, key: str, now: float, requests: int, pages: int = 0) -> None:
        with self._lock:
            self._add_pending_window(key, math.floor(now) + 1, requests, pages)

    def _add_pending_window(
        self, key: str, second: int, requests: int, pages: int, token: str = ""
    ) -> None:
        buckets = self._window_pending.setdefault(key, {})
        bucket = buckets.setdefault((second, token), [0, 0])
        bucket[0] += requests
        bucket[1] += pages

    def window_totals(self, key: str, now: float, window_seconds: float) -> WindowTotals:
        with self._lock:
            self._window_lengths[key] = max(window_seconds, self._window_lengths.get(key, 0.0))
            shared, own = self._window_parts(key, now, window_seconds)
        requests, pages = shared[0] + own[0], shared[1] + own[1]
        oldest = min(shared[2], own[2])
        if oldest == math.inf and requests == 0 and pages == 0:
            return WindowTotals()
        return WindowTotals(
            requests=requests, pages=pages, oldest=None if oldest == math.inf else oldest
        )

    def _window_parts(
        self, key: str, now: float, window_seconds: float
    ) -> tuple[tuple[int, int, float], tuple[int, int, float]]:
        """(requests, pages, oldest second) in the window: as Redis last said, and as this
        process added since. Prunes what no reader needs any more. Call with the lock held."""
        retention = self._retention(key)
        base = self._window_base.get(key, {})
        pending = self._window_pending.get(key, {})
        for second in [s for s in base if s + retention <= now]:
            del base[second]  # pruned: kept no longer than any reader needs
        for entry in [e for e in pending if e[0] + retention <= now]:
            del pending[entry]
        return (
            _sum_window(((s, c) for s, c in base.items()), now, window_seconds),
            _sum_window(((e[0], c) for e, c in pending.items()), now, window_seconds),
        )

    def _retention(self, key: str) -> float:
        return max(self._window_lengths.get(key, 0.0), MIN_WINDOW_RETENTION)

    async def reserve_window(
        self,
        key: str,
        now: float,
        requests: int,
        pages: int,
        *,
        max_requests: int | None,
        max_pages: int | None,
        window_seconds: float,
    ) -> bool:
        """Add (requests, pages) to the window unless that breaks a maximum, atomically across
        every process: one Lua script, one round trip. Returns whether it was added.

        Each reservation carries a token, and the script books a token once: a reply lost to a
        timeout (the script may have run, or may still run) is asked again with the same token
        and answers what the server decided, never a second booking. When that fails too, the
        outcome is unknown and Redis is taken as unreachable: the decision is local
        (`_reserve_locally`) and the token goes with it, so that the booking counts once when
        Redis is back, whichever way the server had decided.
        """
        second = math.floor(now) + 1
        with self._lock:
            self._window_lengths[key] = max(window_seconds, self._window_lengths.get(key, 0.0))
            connected = self._connected and not self._closed
        token = ""
        if connected:
            token = uuid.uuid4().hex[:16]
            args = (second, requests, pages, max_requests, max_pages, now, self._retention(key))
            error: BaseException | None = None
            for _ in range(RESERVE_ATTEMPTS):
                try:
                    reply = await asyncio.wrap_future(
                        asyncio.run_coroutine_threadsafe(
                            self._reserve_remote(key, *args, token), self._loop
                        )
                    )
                except _TRANSIENT as failure:
                    error = failure
                    continue
                admitted, buckets = _parse_window(reply)
                with self._lock:
                    self._window_base[key] = buckets
                return admitted
            if isinstance(error, _SLOW):
                self._fall_back_locally()  # slow, not gone: the sync task tells the two apart
            else:
                assert error is not None
                self._mark_degraded(error)  # refused or reset: an outage
        with self._lock:
            admitted = self._reserve_locally(
                key, now, requests, pages, max_requests, max_pages, window_seconds
            )
            if admitted:
                self._add_pending_window(key, second, requests, pages, token)
            elif token:  # the server may have booked it: take that back when Redis answers
                withdraw = self._window_withdraw.setdefault(key, {})
                withdraw[(second, token)] = [requests, pages]
            return admitted

    def _reserve_locally(
        self,
        key: str,
        now: float,
        requests: int,
        pages: int,
        max_requests: int | None,
        max_pages: int | None,
        window_seconds: float,
    ) -> bool:
        """The decision while Redis does not answer (an outage never fails a request).

        The guarantee: each process admits at most its share (1 / the live processes it last
        heard of) of the room left in the window as Redis last told it, counting what it
        booked itself since. Processes that last heard the same figures together stay within
        the quota; the excess is bounded by what others booked after this process's last
        reply (at most `staleness` old while connected). Every booking is pushed when Redis is
        back, with its token: counted once. Call with the lock held.
        """
        shared, own = self._window_parts(key, now, window_seconds)
        share = 1 / max(self._processes, 1)
        if max_requests is not None:
            room = max(max_requests - shared[0], 0) * share
            if own[0] + requests > room:
                return False
        if max_pages is not None and shared[1] + own[1] > 0:
            room = max(max_pages - shared[1], 0) * share
            if own[1] + pages > room:
                return False
        return True

    async def _reserve_remote(
        self,
        key: str,
        second: int,
        requests: int,
        pages: int,
        max_requests: int | None,
        max_pages: int | None,
        now: float,
        retention: float,
        token: str,
    ) -> Any:
        return await self._client.eval(
            scripts.WINDOW,
            1,
            self._prefix + "window:" + key,
            *self._window_args(
                second, requests, pages, max_requests, max_pages, now, retention, token
            ),
        )

    @staticmethod
    def _window_args(
        second: int,
        requests: int,
        pages: int,
        max_requests: int | None,
        max_pages: int | None,
        now: float,
        retention: float,
        token: str = "",
        mode: str = "book",
    ) -> list[Any]:
        return [
            second,
            requests,
            pages,
            -1 if max_requests is None else max_requests,
            -1 if max_pages is None else max_pages,
            repr(float(now)),
            repr(float(retention)),
            int((retention + 2) * 1000),
            token,
            mode,
        ]

    # ------------------------------------------------------------------ cost and budgets

    def add_cost(self, keys: tuple[str, ...], pages: int, usd: Decimal | None) -> None:
        with self._lock:
            for key in keys:
                delta = self._cost_pending.setdefault(key, _CostDelta())
                delta.requests += 1
                delta.pages += pages
                if usd is None:
                    delta.unpriced += 1
                else:
                    delta.usd += usd

    def cost_totals(self) -> dict[str, CostTotals]:
        with self._lock:
            totals = dict(self._cost_base)
            unapplied = [self._cost_pending] if self._batch is None else [self._batch.costs]
            if self._batch is not None:
                unapplied.append(self._cost_pending)
            for deltas in unapplied:
                for key, delta in deltas.items():
                    totals[key] = _plus(totals.get(key, CostTotals()), delta)
            return totals

    def add_spend(self, key: str, usd: Decimal) -> None:
        with self._lock:
            self._spend_used[key] = time.monotonic()
            self._spend_pending[key] = self._spend_pending.get(key, Decimal(0)) + usd

    def spend(self, key: str) -> Decimal:
        with self._lock:
            self._spend_used[key] = time.monotonic()
            batched = Decimal(0) if self._batch is None else self._batch.spends.get(key, Decimal(0))
            return (
                self._spend_base.get(key, Decimal(0))
                + batched
                + self._spend_pending.get(key, Decimal(0))
            )

    # ------------------------------------------------------------------ lifetime

    def sync(self, timeout: float = 5.0) -> bool:
        """Wait for a full sync with Redis (push and read) that started after this call; True
        when one succeeded within `timeout`. For tests and for a clean shutdown."""
        with self._lock:
            target = self._sync_count + 2  # the one running now may have missed our writes
        self._wake_soon()
        deadline = time.monotonic() + timeout
        with self._synced:
            while self._sync_count < target:
                left = deadline - time.monotonic()
                if left <= 0 or self._closed:
                    return False
                self._synced.wait(min(left, self.staleness))
                if self._sync_count < target:
                    self._wake_soon()
            return True

    def close(self) -> None:
        """Push what is pending (within `CLOSE_TIMEOUT`), then stop the background task."""
        if self._closed:
            return
        if self._connected:
            self.sync(CLOSE_TIMEOUT)
        with self._lock:
            self._closed = True
        if self._thread is threading.current_thread():
            return  # pragma: no cover - close from a hook on our own loop
        future = asyncio.run_coroutine_threadsafe(self._client.aclose(), self._loop)
        try:
            future.result(CLOSE_TIMEOUT)
        except Exception:  # closing a dead connection may fail in many ways
            logger.debug("closing the Redis connection failed", exc_info=True)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(CLOSE_TIMEOUT)

    async def aclose(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.close)

    # ------------------------------------------------------------------ the background task

    def _run_loop(self) -> None:
        asyncio.set_event_loop(self._loop)
        pool = aioredis.BlockingConnectionPool.from_url(
            self._url,
            max_connections=RESERVE_POOL_SIZE,
            timeout=self._timeout,
            socket_timeout=self._timeout,
            socket_connect_timeout=self._timeout,
            retry=Retry(NoBackoff(), 0),  # no retries: an outage degrades at once
        )
        self._client = aioredis.Redis(connection_pool=pool)
        self._wake = asyncio.Event()
        task = self._loop.create_task(self._sync_forever())
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            task.cancel()
            self._loop.run_until_complete(asyncio.gather(task, return_exceptions=True))
            self._loop.close()

    def _wake_soon(self) -> None:
        wake = self._wake
        if wake is not None and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                self._loop.call_soon_threadsafe(wake.set)

    async def _sync_forever(self) -> None:
        assert self._wake is not None
        pause = BACKOFF_FIRST
        while not self._closed:
            self._wake.clear()
            try:
                await asyncio.wait_for(self._sync_once(), self._timeout * 4)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # an outage, or a bug: logged once, retried, never fatal
                self._mark_degraded(error)
                with self._synced:
                    self._attempts += 1
                    self._synced.notify_all()
                await asyncio.sleep(pause)
                pause = min(pause * 2, BACKOFF_MAX)
                continue
            pause = BACKOFF_FIRST
            if self._degraded:
                logger.warning(
                    "shared router state %r: Redis is back, state resynchronised", self.name
                )
            with self._synced:
                self._connected = True
                self._degraded = False
                self._sync_count += 1
                self._attempts += 1
                self._synced.notify_all()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.staleness)

    def _ledger_args(self, batch: _Batch | None, epoch: str) -> list[Any]:
        """`scripts.LEDGER`'s keys and arguments for `batch` (None: only check the epoch)."""
        prefix = self._prefix
        costs = {} if batch is None else batch.costs
        spend_names = [] if batch is None else sorted(batch.spends)
        keys = [prefix + "costs", prefix + "applied:" + self._process]
        keys.extend(prefix + "spend:" + name for name in spend_names)
        args: list[Any] = [
            epoch,
            uuid.uuid4().hex,
            0 if batch is None else batch.sequence,
            APPLIED_TTL_MS,
            len(costs),
        ]
        for key, delta in costs.items():
            dollars, picos = _split_usd(delta.usd)
            args.extend((key + "|", delta.requests, delta.pages, delta.unpriced, dollars, picos))
        for name in spend_names:
            assert batch is not None
            dollars, picos = _split_usd(batch.spends[name])
            args.extend((dollars, picos, 0 if name.endswith(":total") else SPEND_TTL_SECONDS))
        return [len(keys), *keys, *args]

    def _settle_ledger(self, batch: _Batch | None, status: int, epoch: str) -> None:
        """After the ledger's reply (under the lock): an applied batch is this process's share
        from now on; a store not the one counted against gets every total pushed again."""
        if status < 0:
            # Redis restarted empty: what this process pushed before is lost there. Push it all
            # again under the new epoch (the batch too: nothing of it was applied).
            logger.warning(
                "shared router state %r: Redis lost its data (restarted empty); pushing this "
                "process's totals and health again",
                self.name,
            )
            unpushed = self._cost_acked
            if batch is not None:
                _add_deltas(unpushed, batch.costs)
            _add_deltas(unpushed, self._cost_pending)
            spends = self._spend_acked
            if batch is not None:
                _add_spends(spends, batch.spends)
            _add_spends(spends, self._spend_pending)
            self._cost_pending, self._spend_pending = unpushed, spends
            self._cost_acked, self._spend_acked = {}, {}
            self._batch = None
            self._repush_health = True
        elif batch is not None:
            _add_deltas(self._cost_acked, batch.costs)
            _add_spends(self._spend_acked, batch.spends)
            self._batch = None
        self._epoch = epoch

    def _mark_degraded(self, error: BaseException) -> None:
        """A sync failed: the outage starts (logged once, however long it lasts)."""
        with self._lock:
            first = not self._degraded
            self._connected = False
            self._degraded = True
        if not first:
            return
        if isinstance(error, _TRANSIENT):
            logger.warning(
                "shared router state %r: Redis unreachable (%s); carrying on with local state, "
                "reconnecting with backoff",
                self.name,
                type(error).__name__,
            )
        else:  # not Redis's fault: the traceback is the bug report
            logger.error(
                "shared router state %r: a sync failed (%s); carrying on with local state, "
                "retrying with backoff",
                self.name,
                type(error).__name__,
                exc_info=error,
            )

    def _fall_back_locally(self) -> None:
        """A reservation got no answer in time: serve from the local copy until the next sync
        succeeds. Not an outage by itself (a busy Redis can be slow once, and logging each such
        reservation as an outage and the next sync as its end made the log flap); a sync that
        fails decides that."""
        with self._lock:
            self._connected = False

    async def _sync_once(self) -> None:
        """One sync in one round trip: take what is pending (under the lock), push it, publish
        this process's load, read the shared state back, and apply what was read (under the
        lock). The pushes come first in the pipeline, so the reads after them include them."""
        sync = self._take_pending(self._clock())
        pipe = self._client.pipeline(transaction=False)
        # 1. pushes: the ledger first (its reply says whether the store is the one counted on)
        pipe.eval(scripts.LEDGER, *self._ledger_args(sync.batch, sync.epoch))
        self._push_health(pipe, sync)
        self._push_windows(pipe, sync)
        pushes = len(pipe)
        # 2. reads (after the pushes, in the same round trip: they include them)
        self._publish_load(pipe, sync)
        self._ask_shared_state(pipe, sync)
        replies = await pipe.execute()
        ledger_status, store_epoch = int(replies[0][0]), _text(replies[0][1])
        reads = _read_replies(iter(replies[pushes:]), sync)
        self._apply_reads(sync, reads, ledger_status, store_epoch)

    def _take_pending(self, now: float) -> _Sync:
        """What this sync pushes and reads: the writes pending until `now`, frozen."""
        with self._lock:
            health = self._health_to_push()
            windows, withdrawals = self._windows_to_push(now)
            window_keys = sorted(
                set(self._window_base) | set(self._window_pending) | set(self._window_lengths)
            )
            retention = {key: self._retention(key) for key in window_keys}
            self._repush_health = False
            batch = self._ledger_batch()
            epoch = self._epoch
            spend_keys = self._spend_keys(batch)
            deployments = sorted(self._deployments)
            in_flight = {d: self._local.in_flight(d) for d in deployments}
            latency = {d: self._local.seconds_per_page(d) for d in deployments}
        return _Sync(
            now=now,
            health=health,
            windows=windows,
            withdrawals=withdrawals,
            window_keys=window_keys,
            retention=retention,
            batch=batch,
            epoch=epoch,
            spend_keys=spend_keys,
            deployments=deployments,
            in_flight=in_flight,
            latency=latency,
        )

    def _health_to_push(self) -> dict[str, tuple[int, HealthRecord | None]]:
        """The health records to push (under the lock): the changed ones, and every live one
        after an outage."""
        health = dict(self._health_pending)
        if self._degraded or self._repush_health:
            # Back from an outage (Redis may have restarted empty): push every live record.
            for deployment_id in self._deployments:
                record = self._local.health_record(deployment_id)
                if record is not None and deployment_id not in health:
                    self._sequence += 1
                    health[deployment_id] = self._health_pending[deployment_id] = (
                        self._sequence,
                        record,
                    )
        return health

    def _windows_to_push(self, now: float) -> tuple[_WindowPushes, _WindowPushes]:
        """(the window bookings to push, the withdrawals to push), under the lock; each entry
        sealed under a token of its own, so that a push whose reply is lost is sent again the
        same and counted once."""
        # Seal what may still grow under a token of its own: a sync whose reply is lost
        # pushes the same entries, with the same tokens, next time (counted once).
        for buckets in self._window_pending.values():
            for second, token in [entry for entry in buckets if not entry[1]]:
                buckets[(second, uuid.uuid4().hex[:16])] = buckets.pop((second, token))
        windows = {k: {e: list(c) for e, c in b.items()} for k, b in self._window_pending.items()}
        for key, buckets in self._window_withdraw.items():
            for entry in [e for e in buckets if e[0] + self._retention(key) <= now]:
                del buckets[entry]  # its booking has left the window anyway
        withdrawals = {
            k: {e: list(c) for e, c in b.items()} for k, b in self._window_withdraw.items() if b
        }
        return windows, withdrawals

    def _ledger_batch(self) -> _Batch | None:
        """The ledger batch to push (under the lock): the one not yet answered, else the
        increments pending now, frozen as the next batch."""
        if self._batch is None and (self._cost_pending or self._spend_pending):
            self._batch_sequence += 1
            self._batch = _Batch(self._batch_sequence, self._cost_pending, self._spend_pending)
            self._cost_pending, self._spend_pending = {}, {}
        return self._batch

    def _spend_keys(self, batch: _Batch | None) -> list[str]:
        """The budget spends to read (under the lock): those asked for lately and those pushed;
        a period nobody asked for in a while is forgotten."""
        spends = {} if batch is None else batch.spends
        stale = time.monotonic() - 2 * MIN_WINDOW_RETENTION
        for key in [k for k, used in self._spend_used.items() if used < stale]:
            del self._spend_used[key]  # an old budget period: nobody asks any more
            self._spend_base.pop(key, None)
        return sorted(set(self._spend_used) | set(spends))

    def _push_health(self, pipe: Pipeline, sync: _Sync) -> None:
        """Each health record to push, kept while it matters (a cooldown outlives its TTL)."""
        now = sync.now
        for deployment_id, (_, record) in sync.health.items():
            payload = _health_payload(record)
            if payload is None:
                continue  # not representable (non-finite): never pushed, never breaks a sync
            ttl = self._record_ttl
            if record is not None and record.cooldown_until is not None:
                ttl += max(record.cooldown_until - now, 0.0)
            pipe.eval(
                scripts.HEALTH,
                1,
                self._prefix + "health:" + deployment_id,
                payload,
                repr(now),
                int(ttl * 1000),
            )

    def _push_windows(self, pipe: Pipeline, sync: _Sync) -> None:
        """Each window booking and withdrawal to push, under its token."""
        for mode, entries in (("book", sync.windows), ("withdraw", sync.withdrawals)):
            for key, buckets in entries.items():
                for (second, token), (requests, pages) in buckets.items():
                    pipe.eval(
                        scripts.WINDOW,
                        1,
                        self._prefix + "window:" + key,
                        *self._window_args(
                            second,
                            requests,
                            pages,
                            None,
                            None,
                            sync.now,
                            sync.retention[key],
                            token,
                            mode,
                        ),
                    )

    def _publish_load(self, pipe: Pipeline, sync: _Sync) -> None:
        """This process's leases (its presence, in-flight counts, latency estimates), each
        answered with the other live processes' values."""
        prefix = self._prefix
        now_ms = int(sync.now * 1000)
        lease_ms = int(self.lease_seconds * 1000)
        lease = (now_ms, now_ms + lease_ms, lease_ms * 2)
        # How many processes share this name: the share of a quota while degraded.
        pipe.eval(scripts.PUBLISH, 1, prefix + "processes", self._process, "1", *lease)
        for deployment_id in sync.deployments:
            count = sync.in_flight[deployment_id]
            pipe.eval(
                scripts.PUBLISH,
                1,
                prefix + "inflight:" + deployment_id,
                self._process,
                str(count) if count else "",
                *lease,
            )
            estimate = sync.latency[deployment_id]
            pipe.eval(
                scripts.PUBLISH,
                1,
                prefix + "latency:" + deployment_id,
                self._process,
                "" if estimate is None else repr(estimate),
                *lease,
            )

    def _ask_shared_state(self, pipe: Pipeline, sync: _Sync) -> None:
        """The reads of the shared state: health, windows, costs and spends."""
        prefix = self._prefix
        for deployment_id in sync.deployments:
            pipe.get(prefix + "health:" + deployment_id)
        for key in sync.window_keys:
            pipe.eval(
                scripts.WINDOW,
                1,
                prefix + "window:" + key,
                *self._window_args(0, 0, 0, None, None, sync.now, sync.retention[key]),
            )
        pipe.hgetall(prefix + "costs")
        for key in sync.spend_keys:
            pipe.hmget(prefix + "spend:" + key, "usd_d", "usd_p")

    def _apply_reads(self, sync: _Sync, reads: _Reads, ledger_status: int, epoch: str) -> None:
        """The local copy takes what was read; what was pushed leaves the pending writes."""
        with self._lock:
            self._processes = reads.processes
            self._others_in_flight = reads.others_in_flight
            self._others_latency = reads.others_latency
            for deployment_id, (sequence, _) in sync.health.items():
                if self._health_pending.get(deployment_id, (None,))[0] == sequence:
                    del self._health_pending[deployment_id]
            for deployment_id, stored in reads.health.items():
                if deployment_id not in self._health_pending:
                    self._local.set_health_record(deployment_id, _parse_health(stored))
            for pushed, table in (
                (sync.windows, self._window_pending),
                (sync.withdrawals, self._window_withdraw),
            ):
                for key, buckets in pushed.items():
                    remaining = table.get(key, {})
                    for entry in buckets:
                        remaining.pop(entry, None)  # sealed: never grown after it was read
                    if not remaining:
                        table.pop(key, None)
            self._window_base.update(reads.windows)
            self._settle_ledger(sync.batch, ledger_status, epoch)
            self._cost_base = reads.costs
            self._spend_base.update(reads.spends)


# A window's pending bookings or withdrawals: key -> (second, token) -> [requests, pages].
_WindowPushes = dict[str, dict[tuple[int, str], list[int]]]


@dataclass
class _Sync:
    """What one sync pushes and reads, taken from the pending writes under the lock."""

    now: float
    health: dict[str, tuple[int, HealthRecord | None]]  # id -> (its change's number, record)
    windows: _WindowPushes
    withdrawals: _WindowPushes
    window_keys: list[str]  # every window read back
    retention: dict[str, float]  # seconds each window keeps
    batch: _Batch | None  # the ledger batch pushed (None: the epoch is only checked)
    epoch: str
    spend_keys: list[str]
    deployments: list[str]
    in_flight: dict[str, int]  # this process's, published
    latency: dict[str, float | None]  # this process's estimates, published


@dataclass
class _Reads:
    """What one sync read back, parsed."""

    processes: int
    others_in_flight: dict[str, int]
    others_latency: dict[str, list[float]]
    health: dict[str, Any]  # as stored: parsed when applied
    windows: dict[str, dict[int, list[int]]]
    costs: dict[str, CostTotals]
    spends: dict[str, Decimal]


def _read_replies(reads: Iterator[Any], sync: _Sync) -> _Reads:
    """The replies of the reads, in the order `_publish_load` and `_ask_shared_state` asked."""
    processes = 1 + len(next(reads))
    others_in_flight: dict[str, int] = {}
    others_latency: dict[str, list[float]] = {}
    for deployment_id in sync.deployments:
        others_in_flight[deployment_id] = sum(int(v) for v in next(reads))
        others_latency[deployment_id] = [float(v) for v in next(reads)]
    health = {deployment_id: next(reads) for deployment_id in sync.deployments}
    windows = {key: _parse_window(next(reads))[1] for key in sync.window_keys}
    costs = _parse_costs(next(reads))
    spends = {key: _join_usd(*next(reads)) for key in sync.spend_keys}
    return _Reads(processes, others_in_flight, others_latency, health, windows, costs, spends)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _add_deltas(into: dict[str, _CostDelta], deltas: dict[str, _CostDelta]) -> None:
    for key, delta in deltas.items():
        total = into.setdefault(key, _CostDelta())
        total.requests += delta.requests
        total.pages += delta.pages
        total.unpriced += delta.unpriced
        total.usd += delta.usd


def _add_spends(into: dict[str, Decimal], spends: dict[str, Decimal]) -> None:
    for key, usd in spends.items():
        into[key] = into.get(key, Decimal(0)) + usd


def _health_payload(record: HealthRecord | None) -> str | None:
    """The record as Redis stores it ("" clears it); None when it holds a non-finite number."""
    if record is None:
        return ""
    try:
        return json.dumps(asdict(record), allow_nan=False)
    except ValueError:
        return None


def _sum_window(
    buckets: Iterable[tuple[int, list[int]]], now: float, window_seconds: float
) -> tuple[int, int, float]:
    """(requests, pages, oldest second or inf) of the buckets inside the window."""
    requests = pages = 0
    oldest = math.inf
    for second, (bucket_requests, bucket_pages) in buckets:
        if second + window_seconds > now:
            requests += bucket_requests
            pages += bucket_pages
            oldest = min(oldest, float(second))
    return requests, pages, oldest


def _parse_window(reply: Any) -> tuple[bool, dict[int, list[int]]]:
    admitted = bool(int(reply[0]))
    buckets: dict[int, list[int]] = {}
    for index in range(1, len(reply) - 2, 3):
        buckets[int(reply[index])] = [int(reply[index + 1]), int(reply[index + 2])]
    return admitted, buckets


def _parse_health(stored: Any) -> HealthRecord | None:
    if stored is None:
        return None
    try:
        record = HealthRecord(**json.loads(stored))
        for value in (record.cooldown_until, record.cooldown_seconds):
            if value is not None and not math.isfinite(value):
                raise ValueError("a non-finite time")
        return record
    except (TypeError, ValueError):
        logger.warning("ignoring a malformed health record in Redis")
        return None


def _parse_costs(fields: dict[Any, Any]) -> dict[str, CostTotals]:
    raw: dict[str, dict[str, Any]] = {}
    for name, value in fields.items():
        text = name.decode() if isinstance(name, bytes) else str(name)
        if text == "epoch|":
            continue  # the store's epoch, not a total (see `scripts.LEDGER`)
        key, _, field = text.rpartition("|")
        raw.setdefault(key, {})[field] = value
    return {
        key: CostTotals(
            requests=int(values.get("requests", 0)),
            pages=int(values.get("pages", 0)),
            usd=_join_usd(values.get("usd_d"), values.get("usd_p")),
            priced=int(values.get("unpriced", 0)) == 0,
        )
        for key, values in raw.items()
    }


__all__ = ["DEFAULT_LEASE_SECONDS", "DEFAULT_STALENESS", "RedisState"]
