"""What each call cost, totals per deployment, group and provider, and spending budgets.

A call is priced by the deployment that *served* it (its plain pages x its price per page, its
annotated pages, `pages_processed_annotation` on Azure, x its price per annotated page), never by
the model name the provider echoes back: the same model costs different amounts on Mistral, Azure
and Vertex, and LiteLLM's pricing by the echoed name bills one for the other.

Sums are exact: prices are turned into `Decimal` from their shortest decimal form ("0.001"), so
1,000 calls of 0.001 USD total exactly 1 USD, not 0.9999999999999062; floats are given out only
at the end.

A budget (`scope` "deployment" or "provider", `name`, `max_usd`, `period`) takes every deployment
it covers out of selection once its spend in the current period reaches `max_usd`; the next
period (UTC calendar minute, hour, day or month, or never for "total") brings them back.
Concurrent requests may overshoot a budget by the calls already in flight when it is reached.
"""

from __future__ import annotations

import calendar
import functools
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from router.deployment import Deployment
from router.state.base import CostTotals, RouterState
from router.types import OCRUsageInfo

# Ledger keys of what is counted apart from the paid totals (their per-group keys start so too).
CACHED = "cached"
BATCH = "batch"


class BudgetLike(Protocol):
    """`router.config.BudgetSpec`, as far as the ledger needs it."""

    @property
    def scope(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def max_usd(self) -> float: ...
    @property
    def period(self) -> str: ...


@dataclass(frozen=True)
class CostSummary:
    """Successful requests, pages and USD for one deployment, group or provider."""

    requests: int
    pages: int
    usd: float
    usd_exact: Decimal
    priced: bool  # False when some successes had no known price (their cost is not in `usd`)


@dataclass(frozen=True)
class CostReport:
    """Totals of what was paid, and apart from them: `cached` (answers served from the result
    cache: their pages, and in `usd` what they would have cost: what the cache saved) and `batch`
    (pages OCR'd through Mistral's Batch API at its price; included in the paid totals too)."""

    deployments: dict[str, CostSummary]
    groups: dict[str, CostSummary]
    providers: dict[str, CostSummary]
    total: CostSummary
    cached: CostSummary = field(default_factory=lambda: _summary(CostTotals()))
    batch: CostSummary = field(default_factory=lambda: _summary(CostTotals()))
    cached_groups: dict[str, CostSummary] = field(default_factory=dict)

    @property
    def saved_usd(self) -> float:
        """What answers served from the cache would have cost."""
        return self.cached.usd


def exact_price(deployment: Deployment, pages: int, *, annotated: bool) -> Decimal | None:
    """`deployment.price(...)` in exact decimal arithmetic; None when the price is unknown."""
    per_page = deployment.price_per_annotated_page if annotated else deployment.price_per_page
    return None if per_page is None else _exact(per_page) * pages


def exact_cost(
    deployment: Deployment, usage: OCRUsageInfo, *, annotated_request: bool
) -> Decimal | None:
    """What one answer cost on `deployment`: its plain pages at the plain price and its
    annotated pages at the annotated one (`OCRUsageInfo.billed_pages`); None when a price for
    pages it served is unknown."""
    plain, annotated = usage.billed_pages(annotated_request)
    if deployment.price_per_page is None and not annotated:
        return None  # an unpriced deployment stays unpriced, even for 0 pages
    total = Decimal(0)
    for pages, is_annotated in ((plain, False), (annotated, True)):
        if pages:
            cost = exact_price(deployment, pages, annotated=is_annotated)
            if cost is None:
                return None
            total += cost
    return total


@functools.lru_cache(maxsize=1024)
def _exact(price: float) -> Decimal:
    """A price as the decimal it reads as (0.001, not 0.001000000000000000020816...); cached:
    a handful of prices are converted on every call."""
    return Decimal(repr(float(price)))


def period_bounds(period: str, now: float) -> tuple[str, float | None]:
    """The label of the period containing `now` (UTC) and when the next one starts."""
    if period == "total":
        return "total", None
    moment = time.gmtime(now)
    if period == "minute":
        return time.strftime("%Y-%m-%dT%H:%M", moment), math.floor(now / 60) * 60 + 60.0
    if period == "hour":
        return time.strftime("%Y-%m-%dT%H", moment), math.floor(now / 3600) * 3600 + 3600.0
    if period == "day":
        return time.strftime("%Y-%m-%d", moment), math.floor(now / 86400) * 86400 + 86400.0
    if period == "month":
        year, month = (
            (moment.tm_year + 1, 1) if moment.tm_mon == 12 else (moment.tm_year, moment.tm_mon + 1)
        )
        return time.strftime("%Y-%m", moment), float(calendar.timegm((year, month, 1, 0, 0, 0)))
    raise ValueError(f"unknown budget period {period!r}")


class CostLedger:
    """Books the cost of each success and answers whether a deployment is over a budget."""

    def __init__(self, state: RouterState, budgets: Sequence[BudgetLike] = ()) -> None:
        self._state = state
        self._budgets = tuple(budgets)

    def _budgets_of(self, deployment: Deployment) -> list[BudgetLike]:
        return [
            budget
            for budget in self._budgets
            if (budget.scope == "deployment" and budget.name == deployment.id)
            or (budget.scope == "provider" and budget.name == deployment.provider_name)
        ]

    def record(self, deployment: Deployment, pages: int, usd: Decimal | None, now: float) -> None:
        keys = (
            f"deployment:{deployment.id}",
            f"group:{deployment.group}",
            f"provider:{deployment.provider_name}",
            "total",
        )
        self._state.add_cost(keys, pages, usd)
        if usd:
            for budget in self._budgets_of(deployment):
                label, _ = period_bounds(budget.period, now)
                self._state.add_spend(f"{budget.scope}:{budget.name}:{label}", usd)

    def record_batch(
        self, deployment: Deployment, pages: int, usd: Decimal | None, now: float
    ) -> None:
        """A result of Mistral's Batch API: paid (at the batch price) like any call, and counted
        apart too so reports show what went through batches."""
        self.record(deployment, pages, usd, now)
        self._state.add_cost((BATCH, f"{BATCH}:group:{deployment.group}"), pages, usd)

    def record_cached(self, group: str, pages: int, saved: Decimal | None) -> None:
        """An answer served from the result cache: no spend, only what it `saved`."""
        self._state.add_cost((CACHED, f"{CACHED}:group:{group}"), pages, saved)

    def over_budget(self, deployment: Deployment, now: float) -> tuple[str, float | None] | None:
        """(why, when the period ends) for the first spent budget covering it, else None."""
        if not self._budgets:
            return None  # asked for every deployment tested, on every decision
        for budget in self._budgets_of(deployment):
            label, ends = period_bounds(budget.period, now)
            spent = self._state.spend(f"{budget.scope}:{budget.name}:{label}")
            if spent >= Decimal(repr(float(budget.max_usd))):
                why = (
                    f"{budget.scope} {budget.name} spent {spent} of {budget.max_usd} USD "
                    f"this {budget.period}"
                )
                return why, ends
        return None

    def report(self) -> CostReport:
        sections: dict[str, dict[str, CostSummary]] = {
            "deployment": {},
            "group": {},
            "provider": {},
        }
        total = CostTotals()
        apart = {CACHED: CostTotals(), BATCH: CostTotals()}
        cached_groups: dict[str, CostSummary] = {}
        for key, totals in self._state.cost_totals().items():
            if key == "total":
                total = totals
                continue
            if key in apart:
                apart[key] = totals
                continue
            if key.startswith(f"{CACHED}:group:"):
                cached_groups[key.partition(":group:")[2]] = _summary(totals)
                continue
            section, _, name = key.partition(":")
            if section in sections:
                sections[section][name] = _summary(totals)
        return CostReport(
            deployments=sections["deployment"],
            groups=sections["group"],
            providers=sections["provider"],
            total=_summary(total),
            cached=_summary(apart[CACHED]),
            batch=_summary(apart[BATCH]),
            cached_groups=cached_groups,
        )


def _summary(totals: CostTotals) -> CostSummary:
    return CostSummary(
        requests=totals.requests,
        pages=totals.pages,
        usd=float(totals.usd),
        usd_exact=totals.usd,
        priced=totals.priced,
    )


__all__ = [
    "BudgetLike",
    "CostLedger",
    "CostReport",
    "CostSummary",
    "exact_cost",
    "exact_price",
    "period_bounds",
]
