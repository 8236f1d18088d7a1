"""`run_demo`: a steady stream of sample documents through a Router over misbehaving fakes, shown
live, ending with a summary that says what the router did.

The run is bounded: it sends for `duration_s` (or until stopped), then gives requests in flight
`grace_s` to finish and cancels the rest, so it always ends within duration + grace + a moment.
Every request sent is counted once, as succeeded or failed (cancelled ones as failed "stopped").
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.text import Text

from router.demo.display import Snapshot, live_table, status_line, summary_table, totals_text
from router.demo.long_document import ShardedRun, describe, shard_long_document
from router.demo.scenario import (
    GROUP,
    Clock,
    Outage,
    SampleDocument,
    load_sample_documents,
    make_deployments,
    outage_of,
    serving,
)
from router.demo.tally import Cooldown, DeploymentTally, Tally
from router.errors import OCRRouterError
from router.router import Router

# simple-shuffle (weighted random) keeps offering every healthy deployment its share, so the
# viewer sees a failing one receive traffic, get cooled, and take traffic again when it returns;
# lowest-latency would quietly starve the slow or failing ones and hide the failover.
ROUTING_STRATEGY = "simple-shuffle"
MAX_IN_FLIGHT = 200  # a stalled run must not pile up requests without bound
LIVE_REFRESH_S = 0.25  # four refreshes a second: smooth enough, cheap enough
STATUS_EVERY_S = 2.0  # plain status lines: frequent enough to follow, few enough for a log


@dataclass(frozen=True)
class DemoOptions:
    """How long and how hard the demo runs."""

    duration_s: float = 20.0  # long enough to see mistral-2 go down and come back
    rate: float = 15.0  # requests per second: a few per deployment per second, easy to follow
    seed: int = 1  # the fakes' faults and the document order: the same run twice
    live: bool | None = None  # None: a live table when the console is a terminal
    grace_s: float = 3.0  # requests in flight at the end get this long to finish
    request_timeout_s: float = 5.0  # each request's deadline, retries included

    def cooldown_time(self) -> float:
        """Short cooldowns so the viewer sees deployments go out and come back within the run."""
        return min(1.0, max(0.2, self.duration_s / 20))


class StopSignal:
    """Ctrl-C for the demo: the first request stops sending (in-flight requests finish), the
    second also cancels the requests in flight."""

    def __init__(self) -> None:
        self.stop = asyncio.Event()
        self.force = asyncio.Event()

    def request(self) -> None:
        (self.force if self.stop.is_set() else self.stop).set()


@dataclass(frozen=True)
class DeploymentSummary:
    """What the run did to one deployment."""

    trouble: str
    attempts: int
    succeeded: int
    failures: dict[str, int]
    cooldowns: int
    p50_ms: float | None
    pages: int
    cost_usd: float


@dataclass(frozen=True)
class DemoSummary:
    """What the run did, per deployment and in total, and the story of it in `explanation`."""

    elapsed_s: float
    interrupted: bool
    sent: int
    succeeded: int
    failed: int
    failovers: int  # requests that succeeded after more than one attempt
    retries: int  # attempts after the first, over all requests
    pages: int
    cost_usd: float
    deployments: dict[str, DeploymentSummary]
    cooldowns: tuple[Cooldown, ...]
    request_failures: dict[str, int] = field(default_factory=dict)
    outage: tuple[str, Outage] | None = None
    explanation: tuple[str, ...] = ()
    sharded: ShardedRun | None = None  # the long PDF sent at the end (router/demo/long_document.py)

    @property
    def success_rate(self) -> float:
        done = self.succeeded + self.failed
        return self.succeeded / done if done else 1.0


def router_settings(options: DemoOptions) -> dict[str, Any]:
    """The demo Router's settings: short cooldowns, so deployments go out and come back in view."""
    cooldown = options.cooldown_time()
    return {
        "routing_strategy": ROUTING_STRATEGY,
        "allowed_fails": 3,
        "cooldown_time": cooldown,
        "max_cooldown_time": 3 * cooldown,  # a failed probe doubles it: cap it so a recovery shows
        "auth_cooldown_time": 3 * cooldown,  # no fake refuses the key; the cap above requires it
        "timeout": options.request_timeout_s,
        "seed": options.seed,
    }


async def run_demo(
    options: DemoOptions, console: Console, stop: StopSignal | None = None
) -> DemoSummary:
    """Run the demo, showing it on `console`; returns (and prints) its summary."""
    stop = stop or StopSignal()
    samples = load_sample_documents()
    clock = Clock()
    deployments = make_deployments(options.duration_s, options.seed, clock)
    troubles = {deployment.deployment_id: deployment.trouble for deployment in deployments}
    tally = Tally([deployment.deployment_id for deployment in deployments], clock.elapsed)
    live = console.is_terminal if options.live is None else options.live
    heading = (
        f"ocr-router demo: {options.rate:g} requests/s over {len(deployments)} fake deployments"
        f" ({ROUTING_STRATEGY})"
    )
    console.print(
        Text(
            f"{heading}, on 127.0.0.1 (no key, no network), for {options.duration_s:g} s;"
            " Ctrl-C stops early."
        )
    )
    async with (
        serving(deployments) as model_list,
        Router(model_list, hooks=[tally], **router_settings(options)) as router,
    ):
        snapshot = snapshots(tally, router, troubles, clock, options.duration_s, heading)
        clock.start()
        with showing(console, snapshot, live):
            await _stream(router, samples, tally, options, stop)
        elapsed = clock.elapsed() or 0.0
        sharded = None
        if not stop.stop.is_set():
            sharded = await shard_long_document(
                model_list, router_settings(options), 2 * options.request_timeout_s
            )
    summary = summarise(tally, troubles, elapsed, stop.stop.is_set(), outage_of(deployments))
    summary = replace(summary, sharded=sharded)
    print_summary(console, summary, tally, troubles)
    return summary


def snapshots(
    tally: Tally,
    router: Router,
    troubles: Mapping[str, str],
    clock: Clock,
    duration_s: float | None,
    heading: str,
) -> Callable[[], Snapshot]:
    """What the display calls to take a `Snapshot` of the running demo."""

    def snapshot() -> Snapshot:
        elapsed = clock.elapsed() or 0.0
        return Snapshot(tally, router.health(), troubles, elapsed, duration_s, time.time(), heading)

    return snapshot


@contextlib.contextmanager
def showing(console: Console, snapshot: Callable[[], Snapshot], live: bool) -> Iterator[None]:
    """Refresh the live table (or print status lines) while the body runs."""
    loop = asyncio.get_running_loop()
    if live:
        # Transient: the summary printed next replaces the table, instead of repeating it.
        with Live(
            live_table(snapshot()), console=console, auto_refresh=False, transient=True
        ) as screen:
            task = loop.create_task(_refresh_live(screen, snapshot))
            try:
                yield
            finally:
                task.cancel()
    else:
        task = loop.create_task(_print_status(console, snapshot))
        try:
            yield
        finally:
            task.cancel()
            _plain(console, status_line(snapshot()))


async def _refresh_live(screen: Live, snapshot: Callable[[], Snapshot]) -> None:
    while True:
        await asyncio.sleep(LIVE_REFRESH_S)
        screen.update(live_table(snapshot()), refresh=True)


async def _print_status(console: Console, snapshot: Callable[[], Snapshot]) -> None:
    while True:
        await asyncio.sleep(STATUS_EVERY_S)
        _plain(console, status_line(snapshot()))


def _plain(console: Console, line: str) -> None:
    """A status line: one line whatever its length, for a log or a pipe to grep."""
    console.print(line, markup=False, highlight=False, soft_wrap=True)


def _prose(console: Console, text: str) -> None:
    """A sentence, folded between words at the console's width (a terminal left to fold it
    would cut words in two)."""
    console.print(Text(text), highlight=False)


async def _stream(
    router: Router,
    samples: list[SampleDocument],
    tally: Tally,
    options: DemoOptions,
    stop: StopSignal,
) -> None:
    """Send `options.rate` documents a second until the duration ends or `stop` is asked, then
    let requests in flight finish (up to `grace_s`, or until a second stop) and cancel the rest."""
    loop = asyncio.get_running_loop()
    rng = random.Random(options.seed)
    in_flight: set[asyncio.Task[None]] = set()
    interval = 1.0 / options.rate
    started = loop.time()
    end = started + options.duration_s
    next_send = started
    while not stop.stop.is_set():
        now = loop.time()
        if now >= end:
            break
        if now < next_send:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.stop.wait(), min(next_send, end) - now)
            continue
        next_send += interval
        if len(in_flight) >= MAX_IN_FLIGHT:
            continue
        tally.request_sent()
        task = loop.create_task(_send_one(router, rng.choice(samples), tally, options))
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)
    drain_until = loop.time() + options.grace_s
    forced = loop.create_task(stop.force.wait())
    try:
        while in_flight and not forced.done() and loop.time() < drain_until:
            await asyncio.wait(
                [*in_flight, forced],
                timeout=drain_until - loop.time(),
                return_when=asyncio.FIRST_COMPLETED,
            )
    finally:
        forced.cancel()
        for task in list(in_flight):
            task.cancel()
        await asyncio.gather(*in_flight, forced, return_exceptions=True)


async def _send_one(
    router: Router, sample: SampleDocument, tally: Tally, options: DemoOptions
) -> None:
    try:
        response = await router.aocr(
            model=GROUP, document=sample.content, timeout=options.request_timeout_s
        )
    except asyncio.CancelledError:
        tally.request_failed("stopped")
        raise
    except OCRRouterError as error:
        tally.request_failed(type(error).__name__)
    except Exception as error:  # a demo must never end in a traceback: count it and go on
        tally.request_failed(f"unexpected {type(error).__name__}")
    else:
        tally.request_succeeded(response)


def summarise(
    tally: Tally,
    troubles: Mapping[str, str],
    elapsed_s: float,
    interrupted: bool,
    outage: tuple[str, Outage] | None,
) -> DemoSummary:
    deployments = {
        deployment_id: _deployment_summary(deployment, troubles.get(deployment_id, ""))
        for deployment_id, deployment in tally.deployments.items()
    }
    summary = DemoSummary(
        elapsed_s=elapsed_s,
        interrupted=interrupted,
        sent=tally.sent,
        succeeded=tally.succeeded,
        failed=tally.failed,
        failovers=tally.failovers,
        retries=tally.retries,
        pages=tally.pages,
        cost_usd=tally.cost_usd,
        deployments=deployments,
        cooldowns=tuple(tally.cooldowns),
        request_failures=dict(tally.request_failures),
        outage=outage,
    )
    return DemoSummary(**{**summary.__dict__, "explanation": tuple(explain(summary, tally))})


def _deployment_summary(tally: DeploymentTally, trouble: str) -> DeploymentSummary:
    return DeploymentSummary(
        trouble=trouble,
        attempts=tally.sent,
        succeeded=tally.succeeded,
        failures=dict(tally.failures),
        cooldowns=tally.cooldowns,
        p50_ms=tally.p50_ms,
        pages=tally.pages,
        cost_usd=tally.cost_usd,
    )


def _plural(count: int, word: str, plural: str | None = None) -> str:
    return f"{count} {word if count == 1 else plural or word + 's'}"


def explain(summary: DemoSummary, tally: Tally) -> list[str]:
    """Sentences that tell what happened, from the counts: the outage, the flaky and the
    rate-limited deployments, and what the caller saw."""
    sentences = []
    if summary.outage is not None:
        sentences.append(_explain_outage(summary, tally, *summary.outage))
    for deployment_id, deployment in summary.deployments.items():
        if summary.outage is not None and deployment_id == summary.outage[0]:
            continue
        failures = sum(deployment.failures.values())
        if not failures:
            continue
        kinds = ", ".join(
            f"{count} x {kind}"
            for kind, count in sorted(deployment.failures.items(), key=lambda item: -item[1])
        )
        rate_limited = deployment.failures.get("429", 0)
        sentence = (
            f"{deployment_id} failed {failures} of {deployment.attempts} attempts ({kinds}); "
            "each failed attempt was retried at once on another deployment"
        )
        if rate_limited:
            sentence += (
                f", and each 429 kept {deployment_id} out for the Retry-After it asked for"
                f" ({_plural(deployment.cooldowns, 'cooldown')} in all)"
            )
        elif deployment.cooldowns:
            sentence += (
                f"; {_plural(deployment.cooldowns, 'streak')} of failures in a row cooled it"
            )
        sentences.append(sentence + ".")
    lost = summary.failed
    how_it_ended = "stopped by Ctrl-C" if summary.interrupted else "ran"
    sentences.append(
        f"The demo {how_it_ended} {summary.elapsed_s:.1f} s: {summary.succeeded} of "
        f"{summary.sent} requests succeeded ({summary.success_rate:.1%}), "
        f"{_plural(summary.failovers, 'request')} survived a failure by failing over "
        f"({_plural(summary.retries, 'retry', 'retries')} in all); "
        + (
            "0 requests were lost."
            if not lost
            else f"{lost} failed ("
            + ", ".join(f"{count} x {kind}" for kind, count in summary.request_failures.items())
            + ")."
        )
    )
    return sentences


def _explain_outage(summary: DemoSummary, tally: Tally, deployment_id: str, outage: Outage) -> str:
    window = f"{deployment_id} had an outage from {outage.start_s:.1f} s to {outage.end_s:.1f} s"
    if summary.elapsed_s < outage.start_s:
        return (
            f"{deployment_id} was to have an outage at {outage.start_s:.1f} s; the run ended first."
        )
    deployment = summary.deployments[deployment_id]
    cooled = [
        cooldown
        for cooldown in summary.cooldowns
        if cooldown.deployment_id == deployment_id and cooldown.at_s >= outage.start_s
    ]
    failures = sum(deployment.failures.values())
    if not cooled:
        return (
            f"{window}: its {_plural(failures, 'failed attempt')} "
            f"{'was' if failures == 1 else 'were each'} retried on another deployment."
        )
    first = cooled[0]
    sentence = (
        f"{window}: the router cooled it at {first.at_s:.1f} s {_because(first.reason)} "
        f"and sent its traffic to the others, probing it {_plural(len(cooled) - 1, 'more time')}"
        " while it was still down"
    )
    back = tally.first_success_after(deployment_id, outage.end_s)
    if back is not None:
        sentence += f"; it was serving again at {back:.1f} s"
    elif summary.elapsed_s > outage.end_s:
        sentence += "; the run ended before it was probed again"
    return sentence + "."


def _because(reason: str | None) -> str:
    """`"after 3 consecutive failures (ServerError 503)"`, or the reason in parentheses."""
    if not reason:
        return "after repeated failures"
    return f"after {reason}" if reason[0].isdigit() else f"({reason})"


def print_summary(
    console: Console, summary: DemoSummary, tally: Tally, troubles: Mapping[str, str]
) -> None:
    """The summary table, the totals and the explanation."""
    console.print()
    console.print(summary_table(tally, troubles))
    _prose(console, totals_text(tally))
    console.print()
    for sentence in summary.explanation:
        _prose(console, sentence)
    if not summary.interrupted:
        console.print()
        for sentence in describe(summary.sharded):
            _prose(console, sentence)


__all__ = [
    "ROUTING_STRATEGY",
    "DemoOptions",
    "DemoSummary",
    "DeploymentSummary",
    "StopSignal",
    "explain",
    "print_summary",
    "router_settings",
    "run_demo",
    "showing",
    "snapshots",
    "summarise",
]
