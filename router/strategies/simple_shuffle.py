"""`simple-shuffle` (the default): a random deployment, weighted by `Deployment.weight`.

Random choice needs no shared state, so several router processes spread traffic evenly without
talking to each other, and it cannot herd: no measurement can make every process pick the same
deployment. `weight` sets each deployment's share (2.0 gets twice the traffic of 1.0).

A weight of zero or below (or NaN) means "never, while another deployment has a positive weight";
when no candidate has a positive weight they are chosen uniformly rather than not at all.

Complexity: O(1) when all weights are equal; otherwise O(N) to build cumulative weights plus
O(log N) to pick. The cumulative weights are cached for the last candidate *tuple* seen (by
identity), so a caller that reuses the same tuple pays only the O(log N) bisection. Lists are
never cached: they can be changed in place between calls. (Weights are read when a tuple is
first seen, so a weight changed on a live Deployment takes effect with the next new tuple.)
"""

from __future__ import annotations

import random
from bisect import bisect_right
from collections.abc import Sequence
from itertools import accumulate
from typing import ClassVar

from router.deployment import Deployment
from router.strategies._candidates import require_candidates
from router.strategies.base import LoadView


class SimpleShuffle:
    name: ClassVar[str] = "simple-shuffle"

    def __init__(self, view: LoadView, *, rng: random.Random | None = None) -> None:
        self._view = view  # unused: shuffle ignores load, kept for a uniform constructor
        self._rng = rng or random.Random()
        # The last candidate tuple and its cumulative weights (None: all weights equal).
        self._cached_candidates: tuple[Deployment, ...] | None = None
        self._cached_cumulative: list[float] | None = None

    def choose(self, candidates: Sequence[Deployment]) -> Deployment:
        count = require_candidates(candidates)
        if count == 1:
            return candidates[0]
        if type(candidates) is tuple and candidates is self._cached_candidates:
            cumulative = self._cached_cumulative
        else:
            cumulative = _cumulative_weights(candidates)
            if type(candidates) is tuple:
                # Holding the tuple keeps it alive, so identity cannot be reused by another one.
                self._cached_candidates = candidates
                self._cached_cumulative = cumulative
        if cumulative is None:
            return candidates[self._rng.randrange(count)]
        index = bisect_right(cumulative, self._rng.random() * cumulative[-1])
        # random() < 1.0, but float rounding may land exactly on the total: clamp to the last.
        return candidates[min(index, count - 1)]


def _cumulative_weights(candidates: Sequence[Deployment]) -> list[float] | None:
    """Running totals of the positive weights, or None when a uniform choice is equivalent."""
    first = candidates[0].weight
    if all(deployment.weight == first for deployment in candidates):
        return None
    cumulative = list(
        accumulate(deployment.weight if deployment.weight > 0 else 0.0 for deployment in candidates)
    )
    return cumulative if cumulative[-1] > 0 else None
