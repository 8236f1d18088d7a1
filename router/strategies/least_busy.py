"""`least-busy`: the deployment with the fewest requests in flight; ties broken at random.

In-flight count is the one load signal that needs no history: a deployment holding slow requests
has more of them open, so new work flows to the ones that are keeping up. Ties are broken at
random, not by list order, so that idle deployments share the work instead of the first one in
the config taking it all (and so that several router processes do not all pick the same one).

Complexity: O(N) per call: one pass reading `in_flight`, with reservoir sampling over the ties
(no list of tied candidates is built). In a large pool (`sample`, see `_sampling.py`) the pass
runs over `SAMPLED_CHOICES` usable deployments drawn at random instead of over all of them: the
"power of d choices" (Envoy's least-request balancer draws 2), which keeps the most loaded
deployment within a small constant of the least loaded one at O(1) per decision.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from itertools import islice
from typing import ClassVar

from router.deployment import Deployment
from router.strategies._candidates import require_candidates
from router.strategies._sampling import SAMPLED_CHOICES, draw_usable
from router.strategies.base import LoadView


class LeastBusy:
    name: ClassVar[str] = "least-busy"

    def __init__(self, view: LoadView, *, rng: random.Random | None = None) -> None:
        self._view = view
        self._rng = rng or random.Random()

    def choose(self, candidates: Sequence[Deployment]) -> Deployment:
        count = require_candidates(candidates)
        if count == 1:
            return candidates[0]
        in_flight = self._view.in_flight
        randrange = self._rng.randrange
        best = candidates[0]
        fewest = in_flight(best.id)
        ties = 1
        for deployment in islice(candidates, 1, None):
            load = in_flight(deployment.id)
            if load < fewest:
                best, fewest, ties = deployment, load, 1
            elif load == fewest:
                ties += 1
                # Reservoir sampling: each of the k tied candidates ends up chosen with chance 1/k.
                if randrange(ties) == 0:
                    best = deployment
        return best

    def sample(
        self, pool: Sequence[Deployment], usable: Callable[[Deployment], bool]
    ) -> Deployment | None:
        drawn = draw_usable(pool, usable, self._rng, wanted=SAMPLED_CHOICES)
        return self.choose(drawn) if drawn else None
