"""`round-robin`: smooth weighted round robin (nginx's algorithm).

Plain round robin ignores weights; naive weighted round robin (A, A, A, B) sends bursts. The
smooth variant interleaves: weights 5:1:1 give A A B A C A A, never a run longer than the weight
calls for. Each call, every candidate's *current weight* grows by its weight; the largest is chosen
and lowered by the total of the candidates' weights. Over any stretch with a fixed candidate set,
each deployment gets exactly its share (300 calls at 1:2:3 give 50/100/150).

The candidate set changes between calls (cooling or saturated deployments drop out), so current
weights are kept per deployment id, and each call runs over whichever candidates it is given. A
deployment that drops out keeps its current weight, which nginx's algorithm bounds by the total
weight; when it comes back it resumes where it was instead of being owed a burst of catch-up picks.

A weight of zero or below (or NaN) means "never, while another candidate has a positive weight";
when none has, every candidate counts as weight 1 so the choice still rotates.

Ties go to the earlier candidate, so the order is deterministic for a given candidate order.

Complexity: O(N) per call (one pass over the candidates, no allocation beyond the first sighting
of an id). The per-id table holds one float per deployment ever seen, bounded by the config.

A large pool (`sample`) is served by stride scheduling instead, O(log N) per decision: each
deployment's next turn is a number, the earliest turn goes next and moves on by 1 / weight, so
over any stretch each deployment gets its weight's share, interleaved. A deployment found out
(cooling, at a limit) when its turn comes loses that turn, so it is owed no burst on return.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable, Sequence
from itertools import islice
from typing import ClassVar

from router.deployment import Deployment
from router.strategies._candidates import require_candidates
from router.strategies._sampling import MAX_DRAWS
from router.strategies.base import LoadView


class RoundRobin:
    name: ClassVar[str] = "round-robin"

    def __init__(self, view: LoadView, *, rng: random.Random | None = None) -> None:
        # Neither is used: the rotation is deterministic and load-blind; kept for one constructor.
        self._view = view
        self._rng = rng or random.Random()
        self._current_weights: dict[str, float] = {}
        self._schedules: dict[int, _StrideSchedule] = {}  # per sampled pool (the Router's tuples)

    def choose(self, candidates: Sequence[Deployment]) -> Deployment:
        count = require_candidates(candidates)
        if count == 1:
            return candidates[0]
        current_weights = self._current_weights
        total = 0.0
        best: Deployment | None = None
        best_current = 0.0
        for deployment in candidates:
            weight = deployment.weight
            if not weight > 0:  # also catches NaN
                continue
            current = current_weights.get(deployment.id, 0.0) + weight
            current_weights[deployment.id] = current
            total += weight
            if best is None or current > best_current:
                best = deployment
                best_current = current
        if best is None:
            return self._choose_equally(candidates)
        current_weights[best.id] = best_current - total
        return best

    def _choose_equally(self, candidates: Sequence[Deployment]) -> Deployment:
        """The same algorithm with every weight taken as 1 (no candidate has a usable weight)."""
        current_weights = self._current_weights
        best = candidates[0]
        best_current = current_weights.get(best.id, 0.0) + 1.0
        current_weights[best.id] = best_current
        for deployment in islice(candidates, 1, None):
            current = current_weights.get(deployment.id, 0.0) + 1.0
            current_weights[deployment.id] = current
            if current > best_current:
                best = deployment
                best_current = current
        current_weights[best.id] = best_current - len(candidates)
        return best

    def sample(
        self, pool: Sequence[Deployment], usable: Callable[[Deployment], bool]
    ) -> Deployment | None:
        schedule = self._schedules.get(id(pool))
        if schedule is None or schedule.pool is not pool:
            schedule = self._schedules[id(pool)] = _StrideSchedule(pool)
        return schedule.next(usable)


class _StrideSchedule:
    """Stride scheduling over one pool: a heap of (next turn, position)."""

    def __init__(self, pool: Sequence[Deployment]) -> None:
        self.pool = pool
        # Weights are read once: a weight changed later must not divide by zero mid-heap.
        self._strides = [1.0 / d.weight if d.weight > 0 else 0.0 for d in pool]
        self._turns = [(stride, index) for index, stride in enumerate(self._strides) if stride]
        heapq.heapify(self._turns)

    def next(self, usable: Callable[[Deployment], bool]) -> Deployment | None:
        """The usable deployment whose turn is next; None after `MAX_DRAWS` unusable turns."""
        lost: list[tuple[float, int]] = []
        chosen: Deployment | None = None
        for _ in range(min(MAX_DRAWS, len(self._turns))):
            turn, index = heapq.heappop(self._turns)
            following = (turn + self._strides[index], index)
            if usable(self.pool[index]):
                chosen = self.pool[index]
                heapq.heappush(self._turns, following)
                break
            lost.append(following)
        for entry in lost:
            heapq.heappush(self._turns, entry)
        return chosen
