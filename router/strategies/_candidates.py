"""The one precondition every strategy shares: something to choose from.

The Router filters candidates before it asks a strategy, so an empty sequence is a bug in the
caller; it gets a clear error here instead of an `IndexError` from deep inside a strategy.
"""

from __future__ import annotations

from collections.abc import Sequence

from router.deployment import Deployment


def require_candidates(candidates: Sequence[Deployment]) -> int:
    """The number of candidates; raises `ValueError` when there are none."""
    count = len(candidates)
    if count == 0:
        raise ValueError("a strategy needs at least one candidate deployment to choose from")
    return count
