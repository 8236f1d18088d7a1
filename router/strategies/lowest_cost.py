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
tie on the cheapest price so far.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from itertools import islice
from typing import ClassVar

from router.deployment import Deployment
from router.strategies._candidates import require_candidates
from router.strategies.base import LoadView


class LowestCost:
    name: ClassVar[str] = "lowest-cost"

    def __init__(self, view: LoadView, *, rng: random.Random | None = None) -> None:
        self._view = view
        self._rng = rng or random.Random()

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


def _known_price(deployment: Deployment) -> float:
    """The price per page, with an unknown (or NaN) price ranked above every known one."""
    price = deployment.price_per_page
    return math.inf if price is None or price != price else price
