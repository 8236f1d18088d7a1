"""How the demo shows what happens: a live table on a terminal, plain status lines otherwise, and
a summary at the end.

The live table answers the newcomer's question "where is my traffic going, and why?": per
deployment, attempts and their failures next to the state the router holds it in (healthy,
cooling until when, half-open). Plain lines (no ANSI codes) keep logs and CI output readable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from router.demo.tally import DeploymentTally, Tally
from router.router import DeploymentHealth

STATE_STYLES = {"healthy": "green", "cooling": "red", "half-open": "yellow"}


@dataclass(frozen=True)
class Snapshot:
    """What one refresh shows: the counts, each deployment's health, and the time."""

    tally: Tally
    health: Mapping[str, DeploymentHealth]
    troubles: Mapping[str, str]  # deployment id -> what it does wrong, said on screen
    elapsed_s: float
    duration_s: float | None
    wall_now: float  # the router's clock, which `cooldown_until` is on
    heading: str


def state_text(health: DeploymentHealth | None, wall_now: float) -> str:
    """ "healthy", "cooling 1.4s" (until it may be probed), or "half-open"."""
    if health is None:
        return "unknown"
    if health.status == "cooling" and health.cooldown_until is not None:
        return f"cooling {max(0.0, health.cooldown_until - wall_now):.1f}s"
    return health.status


def failures_text(tally: DeploymentTally) -> str:
    """`"503x4 429x1"`, most frequent first; "-" when none."""
    return " ".join(f"{kind}x{count}" for kind, count in tally.failures.most_common()) or "-"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def _usd(value: float) -> str:
    return f"${value:.4f}"


def _table(title: str) -> Table:
    # Compact enough for an 80-column terminal: the deployment's trouble goes under its name.
    return Table(title=title, box=box.SIMPLE_HEAD, title_justify="left", pad_edge=False)


def _deployment_cell(deployment_id: str, troubles: Mapping[str, str]) -> Text:
    cell = Text(deployment_id)
    trouble = troubles.get(deployment_id)
    if trouble:
        cell.append("\n" + trouble, style="dim")
    return cell


def totals_text(tally: Tally) -> str:
    return (
        f"requests {tally.sent} (done {tally.done}, in flight {tally.in_flight}) | "
        f"ok {tally.succeeded} failed {tally.failed} | failovers {tally.failovers} "
        f"retries {tally.retries} | success {tally.success_rate:.1%} | "
        f"pages {tally.pages} | cost {_usd(tally.cost_usd)}"
    )


def live_table(snapshot: Snapshot) -> RenderableType:
    """The table refreshed a few times a second on a terminal."""
    clock = f"{snapshot.elapsed_s:.1f}s"
    if snapshot.duration_s is not None:
        clock += f" / {snapshot.duration_s:.0f}s"
    table = _table(f"{snapshot.heading}  [{clock}]")
    table.add_column("deployment", no_wrap=True)
    for name in ("sent", "ok"):
        table.add_column(name, justify="right")
    table.add_column("failures")
    table.add_column("state", no_wrap=True)
    for name in ("p50 ms", "pages", "cost"):
        table.add_column(name, justify="right")
    for deployment_id, tally in snapshot.tally.deployments.items():
        health = snapshot.health.get(deployment_id)
        state = state_text(health, snapshot.wall_now)
        style = STATE_STYLES.get(health.status if health else "", "")
        table.add_row(
            _deployment_cell(deployment_id, snapshot.troubles),
            str(tally.sent),
            str(tally.succeeded),
            failures_text(tally),
            Text(state, style=style),
            _ms(tally.recent_p50_ms),
            str(tally.pages),
            _usd(tally.cost_usd),
        )
    return Group(table, Text(totals_text(snapshot.tally)))


def status_line(snapshot: Snapshot) -> str:
    """One plain line for a log: totals, then each deployment's state."""
    states = " | ".join(
        f"{deployment_id} {state_text(snapshot.health.get(deployment_id), snapshot.wall_now)}"
        for deployment_id in snapshot.tally.deployments
    )
    tally = snapshot.tally
    return (
        f"[{snapshot.elapsed_s:5.1f}s] requests {tally.sent} ok {tally.succeeded} "
        f"failed {tally.failed} failovers {tally.failovers} | {states}"
    )


def summary_table(tally: Tally, troubles: Mapping[str, str]) -> Table:
    """Per deployment, what the whole run did to it."""
    table = _table("Summary")
    table.add_column("deployment", no_wrap=True)
    for name in ("sent", "ok"):
        table.add_column(name, justify="right")
    table.add_column("failures")
    for name in ("cooled", "p50 ms", "pages", "cost"):
        table.add_column(name, justify="right")
    for deployment_id, deployment in tally.deployments.items():
        table.add_row(
            _deployment_cell(deployment_id, troubles),
            str(deployment.sent),
            str(deployment.succeeded),
            failures_text(deployment),
            str(deployment.cooldowns),
            _ms(deployment.p50_ms),
            str(deployment.pages),
            _usd(deployment.cost_usd),
        )
    return table


__all__ = [
    "Snapshot",
    "failures_text",
    "live_table",
    "state_text",
    "status_line",
    "summary_table",
    "totals_text",
]
