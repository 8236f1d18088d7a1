"""Choosing in a large pool without reading all of it.

With thousands of deployments in a group, filtering every one of them (health, limits, budget)
before each decision costs milliseconds. The Router instead hands a large pool to the strategy's
`sample` with a `usable` test; the strategy tests only the few deployments it draws. When those
few are not enough (most of the pool is out), `sample` returns None and the Router falls back to
the exact pass over the whole pool, so sampling changes the cost of a decision, never whether a
usable deployment is found.

Pools at most `SAMPLE_ABOVE` long always take the exact pass: there it is cheap, and the exact
algorithms (strict least-busy, smooth round robin) are the documented behaviour.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

from router.deployment import Deployment

# Above this many deployments in a priority tier, decisions sample instead of reading them all.
SAMPLE_ABOVE = 64

# Draws before giving up on a pool: with half the pool out, 8 draws all miss 1 time in 256.
MAX_DRAWS = 8

# Usable deployments compared per sampled least-busy or lowest-cost decision ("d choices").
SAMPLED_CHOICES = 4

Usable = Callable[[Deployment], bool]


def draw_usable(
    pool: Sequence[Deployment],
    usable: Usable,
    rng: random.Random,
    *,
    wanted: int,
    start: int = 0,
    stop: int | None = None,
) -> list[Deployment]:
    """Up to `wanted` distinct usable deployments drawn uniformly from `pool[start:stop]`,
    testing at most `MAX_DRAWS` positions (so the list may be shorter than `wanted`)."""
    stop = len(pool) if stop is None else stop
    seen: set[int] = set()
    found: list[Deployment] = []
    randrange = rng.randrange
    for _ in range(MAX_DRAWS):
        index = randrange(start, stop)
        if index in seen:
            continue
        seen.add(index)
        deployment = pool[index]
        if usable(deployment):
            found.append(deployment)
            if len(found) == wanted:
                break
    return found
