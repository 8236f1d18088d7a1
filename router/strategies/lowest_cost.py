"""`lowest-cost`: the cheapest `price_per_page` wins; ties by least busy, then random.

The same OCR model is often sold at different prices (a provider's own API, a cloud marketplace,
a committed-use contract), so a group can send everything to the cheapest deployment and keep the
others as overflow: when the cheap one cools down or reaches its limits the Router drops it from
the candidates and the next cheapest takes over. Among equally priced deployments the least busy
wins, so traffic still spreads; remaining ties go at random.

An unknown price (`price_per_page` is None) counts as the most expensive: it could be anything,
and a strategy whose promise is "cheapest" must not bet the bill on a deployment whose price it
cannot see. Such a deployment is still used when no priced one is a candidate.

Prices are compared per ordinary page; annotated pages usually scale with it.

Complexity: O(N) per call: one pass over the prices; `in_flight` is read only for candidates that
tie on the cheapest price so far. In a large pool (`sample`) the pool is ranked by price once;
a decision walks the price levels from the cheapest, testing a small level whole and drawing
`SAMPLED_CHOICES` usable ones of a large one; among those found at the cheapest level it takes
the least busy: O(1) per decision while the cheap deployments are up.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from itertools import islice
from typing import ClassVar

from router.deployment import Deployment
from router.strategies._candidates import require_candidates
from router.strategies._sampling import MAX_DRAWS, SAMPLED_CHOICES, draw_usable
from router.strategies.base import LoadView


class LowestCost:
    name: ClassVar[str] = "lowest-cost"

    def __init__(self, view: LoadView, *, rng: random.Random | None = None) -> None:
        self._view = view
        self._rng = rng or random.Random()
        # Each sampled pool (the Router's fixed tuples): ranked by price, and its price levels.
        self._pools: dict[int, tuple[Sequence[Deployment], _Ranking]] = {}

    def choose(self, candidates: Sequence[Deployment]) -> Deployment:
        count = require_candidates(candidates)
        if count == 1:
            return candidates[0]
        in_flight = self._view.in_flight
        best = candidates[0]
        best_price = _known_price(best)
        best_load: int | None = None  # read lazily: only a price tie needs it
        ties = 1
        for deployment in islice(candidates, 1, None):
            price = _known_price(deployment)
            if price > best_price:
                continue
            if price < best_price:
                best, best_price, best_load, ties = deployment, price, None, 1
                continue
            if best_load is None:
                best_load = in_flight(best.id)
            load = in_flight(deployment.id)
            if load < best_load:
                best, best_load, ties = deployment, load, 1
            elif load == best_load:
                ties += 1
                # Reservoir sampling: each of the k full ties ends up chosen with chance 1/k.
                if self._rng.randrange(ties) == 0:
                    best = deployment
        return best

    def sample(
        self, pool: Sequence[Deployment], usable: Callable[[Deployment], bool]
    ) -> Deployment | None:
        cached = self._pools.get(id(pool))
        if cached is None or cached[0] is not pool:
            cached = self._pools[id(pool)] = (pool, _rank(pool))
        ranked, levels = cached[1]
        tested = 0
        for start, stop in levels:
            if stop - start <= MAX_DRAWS:
                found = [deployment for deployment in ranked[start:stop] if usable(deployment)]
            else:
                found = draw_usable(
                    ranked, usable, self._rng, wanted=SAMPLED_CHOICES, start=start, stop=stop
                )
            if found:
                return self.choose(found)
            tested += min(stop - start, MAX_DRAWS)
            # A level only sampled may still hold a usable one: the exact pass must decide.
            if stop - start > MAX_DRAWS or tested >= _MAX_TESTS:
                return None
        return None


# Deployments sorted by price, and the (start, stop) bounds of each run of equal prices.
_Ranking = tuple[list[Deployment], list[tuple[int, int]]]

# Deployments tested per sampled decision at most, over the cheapest price levels.
_MAX_TESTS = 4 * MAX_DRAWS


def _rank(pool: Sequence[Deployment]) -> _Ranking:
    ranked = sorted(pool, key=_known_price)
    levels: list[tuple[int, int]] = []
    start = 0
    for index in range(1, len(ranked) + 1):
        if index == len(ranked) or _known_price(ranked[index]) != _known_price(ranked[start]):
            levels.append((start, index))
            start = index
    return ranked, levels


def _known_price(deployment: Deployment) -> float:
    """The price per page, with an unknown (or NaN) price ranked above every known one."""
    price = deployment.price_per_page
    return math.inf if price is None or price != price else price
