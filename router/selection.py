"""Which deployment takes an attempt: candidates, priority tiers, sampling a large tier.

For each attempt the Router asks `Selection.select` for one deployment. A *candidate* is a
deployment that carries one of the request's tags (when it has any), can take the request at all
(router/fit.py: its limits, or it already refused this one), is healthy (router/health.py), not
over a budget (router/cost.py) and within its limits (router/limits.py). The candidates are the
lowest priority tier of the first group of the plan that has one; a deployment that already
failed this request is a candidate again only when no other is left. The strategy chooses among
them.

A group's first tier of more than `SAMPLE_ABOVE` deployments is not filtered whole: the strategy
tests a few members it draws (router/strategies/_sampling.py), and the exact pass runs only when
those few miss. This room only reads the health, limits and ledger; booking a deployment (and
waiting when none is usable) is the Router's `_acquire`, beside the attempt that calls it. What is
out is told as an `Out` per deployment: its reason, and when (or whether) it may come back, which
is what the waiting (router/waiting.py) and the caller's error are made of.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from router.cost import CostLedger
from router.deployment import Deployment
from router.errors import InvalidRequestError
from router.fit import cannot_take, describe_unfit
from router.health import Availability, CircuitBreaker
from router.job import Job
from router.limits import Limits
from router.strategies._sampling import SAMPLE_ABOVE, draw_usable
from router.strategies.base import Strategy

_LOOKS = random.Random()  # draws for the retry wait's look at a large tier (not the strategy's)


@dataclass(frozen=True)
class Out:
    """Why a deployment is not a candidate now."""

    reason: str
    until: float | None = None  # when it may return; None: unknown or never
    frees_on_release: bool = False  # a request ending (slot, probe) may bring it back
    fit: bool = False  # it cannot take this request at all (router/fit.py)


class Selection:
    """Candidates and the choice among them, over the groups of one Router."""

    def __init__(
        self,
        groups: Mapping[str, list[Deployment]],
        strategy: Strategy,
        health: CircuitBreaker,
        ledger: CostLedger,
        limits: Limits,
    ) -> None:
        self._groups = groups
        self._strategy = strategy
        self._health = health
        self._ledger = ledger
        self._limits = limits
        # Each group's first priority tier, fixed: a large one is sampled rather than filtered.
        self._first_tiers = {
            group: tuple(lowest_tier(members)) for group, members in groups.items()
        }

    def select(self, job: Job, now: float) -> tuple[Deployment | None, dict[str, Out]]:
        """The deployment for this attempt, or None and why each deployment is out."""
        deployment = self._sampled(job, now)
        if deployment is not None:
            return deployment, {}
        untried, retried, out = self.candidates(job, now)
        candidates = untried or retried
        return (self._strategy.choose(candidates) if candidates else None), out

    def _sampled(self, job: Job, now: float) -> Deployment | None:
        """An untried usable deployment of the first group's first tier when that tier is large,
        chosen by testing only a few of its members; None when small or not found that way.

        What `candidates` would return then is exactly that tier's untried usable members (it
        is the lowest tier of the first group), so sampling changes only the cost."""
        pool = self._large_first_tier(job)
        if pool is None:
            return None
        return self._strategy.sample(pool, self._untried_and_usable(job, now))

    def candidates(
        self, job: Job, now: float
    ) -> tuple[list[Deployment], list[Deployment], dict[str, Out]]:
        """(untried candidates, candidates that already failed this request, the rest and why);
        each candidate list is the lowest usable priority tier of the first group that has one.
        Stops at the first group with an untried candidate: the usual case reads one group."""
        out: dict[str, Out] = {}
        retried: list[Deployment] = []
        for group in job.plan:
            usable: list[Deployment] = []
            for deployment in self._groups[group]:
                reason = self.unavailable(deployment, job, now)
                if reason is None:
                    usable.append(deployment)
                else:
                    out[deployment.id] = reason
            fresh = [d for d in usable if d.id not in job.failed]
            if fresh:
                return lowest_tier(fresh), retried, out
            if usable and not retried:
                retried = lowest_tier(usable)
        return [], retried, out

    def unavailable(self, deployment: Deployment, job: Job, now: float) -> Out | None:
        """Why `deployment` may not take this request now, or None if it may."""
        if job.tags and job.tags.isdisjoint(deployment.tags):
            return Out(f"carries none of the tags {', '.join(sorted(job.tags))}", fit=True)
        if job.facts is not None or job.refused:
            why = self.cannot_take(deployment, job)
            if why is not None:
                return Out(why, fit=True)
        availability: Availability = self._health.availability(deployment.id, now)
        if not availability.usable:
            if availability.status == "cooling":
                return Out(f"cooling ({availability.reason})", until=availability.until)
            return Out(f"half-open, probe in flight ({availability.reason})", frees_on_release=True)
        spent = self._ledger.over_budget(deployment, now)
        if spent is not None:
            return Out(f"over budget ({spent[0]})", until=spent[1])
        check = self._limits.check(deployment, job.reserved_pages, now)
        if not check.has_room:
            return Out(
                f"at its limit: {check.reason}",
                until=check.free_at,
                frees_on_release=check.free_at is None,
            )
        return None

    def cannot_take(self, deployment: Deployment, job: Job) -> str | None:
        """Why `deployment` cannot take this request at all (its limits, or its refusal)."""
        refusal = job.refused.get(deployment.id)
        if refusal is not None:
            return f"refused it: {refusal.message}"
        if job.facts is None:
            return None
        if deployment.id not in job.unfit:  # decided once per request and deployment
            job.unfit[deployment.id] = cannot_take(deployment.info, job.facts)
        return job.unfit[deployment.id]

    def refuse_if_nobody_can_take(self, job: Job) -> None:
        """`InvalidRequestError` before sending anything when no deployment of the plan can take
        the request, saying for each why not."""
        reasons: dict[str, str] = {}
        for group in job.plan:
            for deployment in self._groups[group]:
                why = self.cannot_take(deployment, job)
                if why is None:
                    return
                reasons[deployment.id] = why
        assert job.facts is not None
        raise InvalidRequestError(
            f"no deployment of {', '.join(job.plan)} can take this request: "
            + describe_unfit(reasons, job.facts),
            errors=[
                {"loc": ["deployment", deployment_id], "msg": why, "type": "cannot_take"}
                for deployment_id, why in reasons.items()
            ],
        )

    def untried_in_large_tier(self, job: Job, now: float) -> bool:
        """Whether a few random members of a large first tier include an untried usable one
        (asking the strategy would move its state, a round robin's turn, for a mere look)."""
        pool = self._large_first_tier(job)
        usable = self._untried_and_usable(job, now)
        return pool is not None and bool(draw_usable(pool, usable, _LOOKS, wanted=1))

    def _large_first_tier(self, job: Job) -> tuple[Deployment, ...] | None:
        pool = self._first_tiers[job.plan[0]]
        return pool if len(pool) > SAMPLE_ABOVE else None

    def _untried_and_usable(self, job: Job, now: float) -> Callable[[Deployment], bool]:
        def usable(deployment: Deployment) -> bool:
            return (
                deployment.id not in job.failed and self.unavailable(deployment, job, now) is None
            )

        return usable


def lowest_tier(deployments: Sequence[Deployment]) -> list[Deployment]:
    """The members of `deployments` in its lowest priority tier (a lower `priority` goes first)."""
    tier = min(deployment.priority for deployment in deployments)
    return [deployment for deployment in deployments if deployment.priority == tier]
