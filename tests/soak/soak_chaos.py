"""The chaos soak's machinery: a fleet of fake providers on real sockets with a fault schedule,
and a ledger that checks every request's invariants and keeps the run's figures.

The fleet (one deployment per dialect, each on its own fixed port):

- `mistral`: random faults (about 10% of requests: 5xx, 429 with retry-after-ms, timeouts, resets,
  truncated / non-JSON / empty / null bodies, slow answers), and an outage during which its
  server is *down* (connections refused).
- `azure`: the same random faults (another seed), and an outage during which every request gets
  a 503 (a server that is up but broken).
- `vertex`: no random faults, only a latency tail, and an outage during which every request
  *hangs* (the client's timeout has to end it).

The outages do not overlap, and `vertex` (the fault-free one) is out only while the two others
are up: so at every moment at least one deployment is healthy, which is the condition under which
the success rate must stay at or above 99.9%. Phases change by the number of requests started
(not by time), so a run on a slow machine sees the same schedule. A phase change restarts a
deployment's server on the same port with another `FakeProvider` (or leaves it stopped).
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import gc
import json
import os
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from providers.fake import FakeProvider
from router.events import RouterEvent
from router.router import Router

KEY = "soak-test-key-0123456789"
MODELS = {
    "mistral": "mistral/mistral-ocr-latest",
    "azure_ai": "azure_ai/mistral-document-ai-2512",
    "vertex_ai": "vertex_ai/mistral-ocr-2505",
}

# About 10% of requests fail, in every way a provider fails (counted by the fakes' `outcomes`).
# `slow:0.15` is a slow success; `slow:1.2` outlasts the deployment timeout below.
RANDOM_FAULTS = {
    "500": 0.015,
    "503": 0.015,
    "429ms:50": 0.015,
    "timeout": 0.005,
    "reset": 0.01,
    "truncated": 0.01,
    "garbage": 0.01,
    "null": 0.01,
    "empty": 0.005,
    "slow:0.15": 0.01,
    "slow:1.2": 0.002,
}
DEPLOYMENT_TIMEOUT_S = 1.0  # one attempt; a hung call costs this much of the request's deadline
HANG_SECONDS = 1.5  # how long a `timeout` fault holds the connection (longer than any attempt)
REQUEST_TIMEOUT_S = 4.0  # the whole request: room for a hung attempt, a retry and a backoff
# Lateness tolerated past the deadline: the event loop's own scheduling under 64 requests.
DEADLINE_MARGIN_S = 0.5
HANG_MARGIN_S = 5.0  # past deadline + this, a request is declared hung (and cancelled)

# Short cooldowns so that a run sees many cycles of cooling, half-open and recovery.
ROUTER_SETTINGS: dict[str, Any] = {
    "routing_strategy": "simple-shuffle",
    "seed": 7,
    "num_retries": 3,
    "timeout": REQUEST_TIMEOUT_S,
    "allowed_fails": 3,
    "cooldown_time": 0.5,
    "auth_cooldown_time": 2.0,
    "max_cooldown_time": 2.0,
    "backoff_initial": 0.01,
    "backoff_max": 0.1,
    "retry_budget_ratio": 0.2,
    "retry_budget_min_per_second": 1.0,
    "retry_budget_window": 10.0,
}


def tail_latency(seed: int) -> Callable[[], float]:
    """1-3 ms for most answers, 20-120 ms for one in fifty: a slow tail."""
    draw = random.Random(seed)

    def latency() -> float:
        if draw.random() < 0.02:
            return draw.uniform(0.02, 0.12)
        return draw.uniform(0.001, 0.003)

    return latency


def chaos_fake(provider: str, seed: int, faults: dict[str, float] | None) -> FakeProvider:
    return FakeProvider(
        provider,
        api_key=KEY,
        faults=faults,
        seed=seed,
        latency=tail_latency(seed),
        hang_seconds=HANG_SECONDS,
        record_requests=False,  # a long run must not keep 20,000 requests in memory
    )


class Site:
    """One deployment's server on a fixed port of 127.0.0.1: start it with a fake, stop it, or
    restart it with another fake (another fault plan). Keeps every fake it served."""

    def __init__(self, name: str, provider: str) -> None:
        self.name = name
        self.provider = provider
        self.port = 0  # chosen by the first start, kept for every restart
        self.fakes: list[FakeProvider] = []
        self._server: AbstractAsyncContextManager[str] | None = None
        self._lock = asyncio.Lock()  # phase changes of one site happen in order

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def serve(self, fake: FakeProvider | None) -> None:
        """Stop the current server (if any), then serve `fake` (None: stay down)."""
        async with self._lock:
            if self._server is not None:
                server, self._server = self._server, None
                await server.__aexit__(None, None, None)
            if fake is None:
                return
            server = fake.serve(port=self.port)
            url = await server.__aenter__()
            self.port = int(url.rsplit(":", 1)[1])
            self._server = server
            self.fakes.append(fake)

    async def stop(self) -> None:
        await self.serve(None)

    def outcomes(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for fake in self.fakes:
            total.update(fake.outcomes)
        return total

    def entry(self) -> dict[str, Any]:
        credentials: dict[str, Any] = (
            {"vertex_project": "soak-project", "token": KEY}
            if self.provider == "vertex_ai"
            else {"api_key": KEY}
        )
        return {
            "model_name": "ocr",
            "model": MODELS[self.provider],
            "id": self.name,
            "api_base": self.base_url,
            "timeout": DEPLOYMENT_TIMEOUT_S,
            **credentials,
        }


@dataclass(frozen=True)
class Phase:
    """At `at` (fraction of the requests started), `site` starts serving `fake()` (None: down)."""

    at: float
    site: str
    kind: str  # what happens, for the report: "down", "503 storm", "hang storm", "back"
    fake: Callable[[], FakeProvider | None]


def chaos_schedule() -> tuple[dict[str, Site], dict[str, Callable[[], FakeProvider]], list[Phase]]:
    """The fleet, each site's normal fake, and the outages (see the module docstring)."""
    sites = {
        "mistral": Site("mistral", "mistral"),
        "azure": Site("azure", "azure_ai"),
        "vertex": Site("vertex", "vertex_ai"),
    }
    normal: dict[str, Callable[[], FakeProvider]] = {
        "mistral": lambda: chaos_fake("mistral", 11, RANDOM_FAULTS),
        "azure": lambda: chaos_fake("azure_ai", 12, RANDOM_FAULTS),
        "vertex": lambda: chaos_fake("vertex_ai", 13, None),
    }
    phases = [
        Phase(0.15, "mistral", "down", lambda: None),
        Phase(0.30, "mistral", "back", normal["mistral"]),
        Phase(0.40, "azure", "503 storm", lambda: chaos_fake("azure_ai", 22, {"503": 1.0})),
        Phase(0.55, "azure", "back", normal["azure"]),
        Phase(0.65, "vertex", "hang storm", lambda: chaos_fake("vertex_ai", 23, {"timeout": 1.0})),
        Phase(0.80, "vertex", "back", normal["vertex"]),
    ]
    return sites, normal, phases


@dataclass
class EventLog:
    """A Router hook: counts events by kind, failures by error, and when each retry happened."""

    kinds: Counter[str] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)
    retry_times: list[float] = field(default_factory=list)
    events: list[RouterEvent] = field(default_factory=list)
    keep_events: bool = False

    def __call__(self, event: RouterEvent) -> None:
        self.kinds[event.kind] += 1
        if event.kind == "failure":
            self.failures[event.error or "?"] += 1
        elif event.kind == "retry":
            self.retry_times.append(time.time())  # the router's clock is time.time
        if self.keep_events:
            self.events.append(event)


@dataclass
class Ledger:
    """Every request in and out, and what broke an invariant (an empty `violations` passes)."""

    total: int
    started: dict[int, float] = field(default_factory=dict)  # id -> time.time() at start
    outcomes: dict[int, str] = field(default_factory=dict)  # id -> "ok" or the error class
    results: Counter[str] = field(default_factory=Counter)
    violations: list[str] = field(default_factory=list)
    max_latency_s: float = 0.0
    max_overrun_s: float = 0.0  # the most a request ended past its deadline (negative: never)

    def begin(self, request_id: int) -> None:
        if request_id in self.started:
            self.violations.append(f"request {request_id} started twice")
        self.started[request_id] = time.time()

    def end(self, request_id: int, outcome: str, elapsed: float, deadline_s: float) -> None:
        if request_id in self.outcomes:
            self.violations.append(f"request {request_id} answered twice")
            return
        self.outcomes[request_id] = outcome
        self.results[outcome] += 1
        self.max_latency_s = max(self.max_latency_s, elapsed)
        self.max_overrun_s = max(self.max_overrun_s, elapsed - deadline_s)
        if elapsed > deadline_s + DEADLINE_MARGIN_S:
            self.violations.append(
                f"request {request_id} ended {elapsed - deadline_s:.2f} s past its deadline"
            )

    def note(self, violation: str) -> None:
        self.violations.append(violation)

    @property
    def answered(self) -> int:
        return len(self.outcomes)

    @property
    def lost(self) -> int:
        return self.total - self.answered

    @property
    def successes(self) -> int:
        return self.results["ok"]

    @property
    def success_rate(self) -> float:
        return self.successes / self.total if self.total else 1.0


def retry_budget_excess(
    retry_times: list[float], request_times: list[float], settings: dict[str, Any]
) -> tuple[int, float]:
    """(retries beyond the budget, the largest share of its allowance a window used).

    The budget (router/retry.py) allows, at each retry, `min_per_second * window + ratio *
    requests in the window` retries in the window. The router counts in 1-second buckets, so its
    windows reach up to one second further back; here each retry's window counts the retries of
    the last `window` seconds and the requests of the last `window + 1.1` seconds: a bound the
    router must never exceed."""
    window = settings["retry_budget_window"]
    floor = settings["retry_budget_min_per_second"] * window
    ratio = settings["retry_budget_ratio"]
    retries = sorted(retry_times)
    requests = sorted(request_times)
    excess, peak = 0, 0.0
    for index, moment in enumerate(retries):
        recent_retries = index + 1 - bisect.bisect_right(retries, moment - window)
        recent_requests = bisect.bisect_right(requests, moment) - bisect.bisect_right(
            requests, moment - window - 1.1
        )
        allowed = floor + ratio * recent_requests
        peak = max(peak, recent_retries / allowed)
        if recent_retries > allowed:
            excess += 1
    return excess, peak


def state_table_sizes(router: Router) -> dict[str, int]:
    """Sizes of the router's in-memory tables (MemoryState and the wait queue): each must stay
    bounded by the number of deployments and windows, never grow with the number of requests."""
    state: Any = router._state
    sizes = {"waiters": len(router._waiters), "pools": len(router._clients)}
    for name in ("_in_flight", "_latency", "_health", "_windows", "_costs", "_spend"):
        table = getattr(state, name, None)
        if table is not None:
            sizes[name.lstrip("_")] = len(table)
    windows = getattr(state, "_windows", None)
    if windows is not None:
        sizes["longest_window_buckets"] = max((len(b) for b in windows.values()), default=0)
    return sizes


class MemoryProbe:
    """Live Python objects (after a full collection) and the process's resident memory at points
    of a run. Cheap enough to take under load, unlike tracemalloc, which slowed the one event
    loop (router and fakes) so much that healthy calls hit their timeouts."""

    def __init__(self) -> None:
        self.objects: dict[str, int] = {}
        self.rss_bytes: dict[str, int] = {}

    def sample(self, label: str) -> None:
        gc.collect()
        self.objects[label] = len(gc.get_objects())
        self.rss_bytes[label] = resident_bytes()

    def growth(self, first: str, last: str) -> tuple[int, int]:
        """(objects, RSS bytes) gained from `first` to `last`."""
        return (
            self.objects[last] - self.objects[first],
            self.rss_bytes[last] - self.rss_bytes[first],
        )


def resident_bytes() -> int:
    """This process's resident set size (Linux /proc; elsewhere the peak, from getrusage)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def write_report(directory: Path, name: str, figures: dict[str, Any]) -> Path:
    """Write the run's figures to `<directory>/<name>.json` and print the summary line."""
    path = directory / f"{name}.json"
    path.write_text(json.dumps(figures, indent=2, sort_keys=True), encoding="utf-8")
    faults = figures.get("faults_injected", {})
    print(
        f"\n[soak {name}] requests={figures['requests']} ok={figures['successes']} "
        f"success_rate={figures['success_rate']:.5f} lost={figures['lost']} "
        f"faults={sum(faults.values())} retries={figures.get('retries')} "
        f"max_latency={figures['max_latency_s']:.2f}s report={path}"
    )
    return path


async def run_schedule(
    total: int,
    concurrency: int,
    sites: dict[str, Site],
    phases: list[Phase],
    one: Callable[[int], Awaitable[None]],
    quiet_at: Mapping[float, Callable[[], Awaitable[None]]] | None = None,
) -> float:
    """Send requests 0 .. total-1 through `one` from `concurrency` workers, starting each phase
    when as many requests have started. At each fraction of `quiet_at`, the workers drain (no
    request in flight) and its callable runs (memory is sampled there: requests in flight would
    add their objects at random). Returns the seconds the requests took."""
    quiet = quiet_at or {}
    stops = sorted({min(int(total * fraction), total) for fraction in quiet} | {total})
    on_stop = {int(total * fraction): action for fraction, action in quiet.items()}
    phase_tasks: list[asyncio.Task[None]] = []
    next_id = next_phase = 0
    seconds = 0.0

    async def worker(stop: int) -> None:
        nonlocal next_id, next_phase
        while next_id < stop:
            request_id, next_id = next_id, next_id + 1
            while next_phase < len(phases) and request_id >= phases[next_phase].at * total:
                phase = phases[next_phase]
                next_phase += 1
                phase_tasks.append(asyncio.create_task(sites[phase.site].serve(phase.fake())))
            await one(request_id)

    for stop in stops:
        started = time.monotonic()
        await asyncio.gather(*(worker(stop) for _ in range(concurrency)))
        seconds += time.monotonic() - started
        if stop in on_stop:
            await on_stop[stop]()
    await asyncio.gather(*phase_tasks)  # the last phase change is done before anything else
    return seconds


def injected_faults(sites: dict[str, Site]) -> Counter[str]:
    """What the fakes did other than answer normally, by kind, over the whole run."""
    faults: Counter[str] = Counter()
    for site in sites.values():
        faults.update(site.outcomes())
    del faults["ok"]
    return faults


def run_figures(
    long_run: bool, concurrency: int, ledger: Ledger, faults: Counter[str], phases: list[Phase]
) -> dict[str, Any]:
    """The figures every soak report starts with: what was sent, what came back, what broke."""
    return {
        "mode": "long" if long_run else "short",
        "requests": ledger.total,
        "concurrency": concurrency,
        "answered": ledger.answered,
        "lost": ledger.lost,
        "successes": ledger.successes,
        "success_rate": ledger.success_rate,
        "results": dict(ledger.results),
        "faults_injected": dict(faults),
        "outages": [f"{phase.site} {phase.kind} at {phase.at:.0%}" for phase in phases],
    }


async def stop_all(sites: dict[str, Site]) -> None:
    for site in sites.values():
        with contextlib.suppress(Exception):
            await site.stop()


__all__ = [
    "DEADLINE_MARGIN_S",
    "HANG_MARGIN_S",
    "KEY",
    "RANDOM_FAULTS",
    "REQUEST_TIMEOUT_S",
    "ROUTER_SETTINGS",
    "EventLog",
    "Ledger",
    "MemoryProbe",
    "Phase",
    "Site",
    "chaos_fake",
    "chaos_schedule",
    "injected_faults",
    "retry_budget_excess",
    "run_figures",
    "run_schedule",
    "state_table_sizes",
    "stop_all",
    "write_report",
]
