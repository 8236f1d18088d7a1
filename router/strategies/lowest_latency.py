"""`lowest-latency`: power of two choices over seconds per page times (in flight + 1).

Sending every request to the deployment with the best latency figure herds: all traffic lands
on it, it slows down, the figure lags behind, and the herd moves on (LiteLLM's latency routing
does this). Instead, each decision samples two distinct candidates at random and takes the one
with the lower expected cost

    cost = seconds_per_page * (in_flight + 1)

the time a new page would wait if the deployment worked through its open requests one after the
other. A fast deployment wins most comparisons, but as its in-flight count grows its cost rises
until a slower one wins: load spills over in proportion to speed, and those spilled requests are
how a slow deployment keeps being measured (probed). With only two candidates both are always
compared, so this spill-over is the slow one's only way in besides its figure relaxing after a
slow spell (see `peak_ewma.py`).

Sampling is uniform, not by `weight`: weight is a traffic share for the shuffle and round-robin
strategies, while here the measured speed decides; sampling uniformly keeps each decision O(1).

An unmeasured deployment (`seconds_per_page` is None: new, or its history was reset) is scored at
a NEUTRAL figure, the median of the measured candidates' figures (over all candidates when there
are at most `NEUTRAL_SAMPLE_SIZE`, over that many drawn at random otherwise). Zero would make it
win every comparison it enters until its first answer comes back, which for OCR takes seconds:
a herd. The median makes it an average deployment: it wins about half its comparisons, so it is
probed at once and then judged by its own figures. When no candidate looked at is measured,
`default_seconds_per_page` (1 s/page) is used: like tower's default RTT for unmeasured
endpoints, it assumes slow rather than fast, and when every candidate is unmeasured the value
cancels out anyway (they tie, and in-flight counts decide).

Ties go to either candidate with equal chance.

In a large pool (`sample`), the two are drawn at random and redrawn when out (the same
distribution as filtering first); the neutral figure is taken from the pool, measured or not.

Complexity: O(1) per decision: two random draws, two `in_flight` and two `seconds_per_page`
reads; an unmeasured candidate adds at most `NEUTRAL_SAMPLE_SIZE` more reads.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from typing import ClassVar

from router.deployment import Deployment
from router.errors import ConfigError
from router.strategies._candidates import require_candidates
from router.strategies._sampling import draw_usable
from router.strategies.base import LoadView

# Assumed slow, like tower's 1 s default RTT: used only when no measured figure is at hand.
DEFAULT_SECONDS_PER_PAGE = 1.0

# How many candidates at most are read to find the neutral figure for an unmeasured one; small
# pools (the usual case) are read whole, large ones sampled, so a decision stays O(1).
NEUTRAL_SAMPLE_SIZE = 16


class LowestLatency:
    name: ClassVar[str] = "lowest-latency"

    def __init__(
        self,
        view: LoadView,
        *,
        rng: random.Random | None = None,
        default_seconds_per_page: float = DEFAULT_SECONDS_PER_PAGE,
    ) -> None:
        if not default_seconds_per_page > 0 or math.isinf(default_seconds_per_page):
            raise ConfigError(
                "default_seconds_per_page must be a positive number, "
                f"got {default_seconds_per_page!r}"
            )
        self._view = view
        self._rng = rng or random.Random()
        self._default_seconds_per_page = default_seconds_per_page

    def choose(self, candidates: Sequence[Deployment]) -> Deployment:
        count = require_candidates(candidates)
        if count == 1:
            return candidates[0]
        randrange = self._rng.randrange
        first_index = randrange(count)
        # Draw from the other count - 1 positions, so the two are always distinct.
        second_index = randrange(count - 1)
        if second_index >= first_index:
            second_index += 1
        return self._cheaper(candidates[first_index], candidates[second_index], candidates)

    def sample(
        self, pool: Sequence[Deployment], usable: Callable[[Deployment], bool]
    ) -> Deployment | None:
        drawn = draw_usable(pool, usable, self._rng, wanted=2)
        if len(drawn) < 2:
            return None
        return self._cheaper(drawn[0], drawn[1], pool)

    def _cheaper(
        self, first: Deployment, second: Deployment, candidates: Sequence[Deployment]
    ) -> Deployment:
        """The one of two deployments with the lower expected cost (`candidates` give the
        neutral figure for an unmeasured one)."""
        seconds_per_page = self._view.seconds_per_page
        first_figure = seconds_per_page(first.id)
        second_figure = seconds_per_page(second.id)
        if first_figure is None or second_figure is None:
            neutral = self._neutral_seconds_per_page(candidates)
            first_figure = neutral if first_figure is None else first_figure
            second_figure = neutral if second_figure is None else second_figure
        in_flight = self._view.in_flight
        first_cost = first_figure * (in_flight(first.id) + 1)
        second_cost = second_figure * (in_flight(second.id) + 1)
        if first_cost == second_cost:
            return first if self._rng.random() < 0.5 else second
        return first if first_cost < second_cost else second

    def _neutral_seconds_per_page(self, candidates: Sequence[Deployment]) -> float:
        """The median measured figure among the candidates (or a random sample of them)."""
        seconds_per_page = self._view.seconds_per_page
        count = len(candidates)
        if count <= NEUTRAL_SAMPLE_SIZE:
            looked_at: Sequence[Deployment] = candidates
        else:
            looked_at = [candidates[self._rng.randrange(count)] for _ in range(NEUTRAL_SAMPLE_SIZE)]
        figures = sorted(
            figure
            for figure in (seconds_per_page(deployment.id) for deployment in looked_at)
            if figure is not None
        )
        if not figures:
            return self._default_seconds_per_page
        middle = len(figures) // 2
        if len(figures) % 2:
            return figures[middle]
        return (figures[middle - 1] + figures[middle]) / 2
