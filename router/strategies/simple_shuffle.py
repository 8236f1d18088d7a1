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

In a large pool (`sample`) a weighted draw is tested for usability and redrawn when out: the
same distribution over the usable deployments as filtering first, at O(log N) per draw.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from collections.abc import Callable, Sequence
from itertools import accumulate
from typing import ClassVar

from router.deployment import Deployment
from router.strategies._candidates import require_candidates
from router.strategies._sampling import MAX_DRAWS
from router.strategies.base import LoadView


class SimpleShuffle:
    name: ClassVar[str] = "simple-shuffle"

    def __init__(self, view: LoadView, *, rng: random.Random | None = None) -> None:
        self._view = view  # unused: shuffle ignores load, kept for a uniform constructor
        self._rng = rng or random.Random()
        # The last candidate tuple and its cumulative weights (None: all weights equal).
        self._cached_candidates: tuple[Deployment, ...] | None = None
        self._cached_cumulative: list[float] | None = None
        # Each sampled pool (the Router's fixed tuples) with its cumulative weights.
        self._pools: dict[int, tuple[Sequence[Deployment], list[float] | None]] = {}

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

    def sample(
        self, pool: Sequence[Deployment], usable: Callable[[Deployment], bool]
    ) -> Deployment | None:
        cached = self._pools.get(id(pool))
        if cached is None or cached[0] is not pool:
            cached = self._pools[id(pool)] = (pool, _cumulative_weights(pool))
        cumulative = cached[1]
        count = len(pool)
        for _ in range(MAX_DRAWS):
            if cumulative is None:
                deployment = pool[self._rng.randrange(count)]
            else:
                index = bisect_right(cumulative, self._rng.random() * cumulative[-1])
                deployment = pool[min(index, count - 1)]
            if usable(deployment):
                return deployment
        return None


def _cumulative_weights(candidates: Sequence[Deployment]) -> list[float] | None:
    """Running totals of the positive weights, or None when a uniform choice is equivalent."""
    first = candidates[0].weight
    if all(deployment.weight == first for deployment in candidates):
        return None
    cumulative = list(
        accumulate(deployment.weight if deployment.weight > 0 else 0.0 for deployment in candidates)
    )
    return cumulative if cumulative[-1] > 0 else None
