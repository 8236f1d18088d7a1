"""The interface every routing strategy implements.

A strategy only chooses: it never sends, never cools down, never counts. What it needs to know
about load and speed it reads from a `LoadView`, which the Router's state provides.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar, Protocol

from router.deployment import Deployment


class LoadView(Protocol):
    """Read-only load and speed figures, kept by the Router's state."""

    def in_flight(self, deployment_id: str) -> int:
        """Requests sent to the deployment and not yet answered."""
        ...

    def seconds_per_page(self, deployment_id: str) -> float | None:
        """Peak-EWMA latency per page (failures count as slow samples); None if unmeasured."""
        ...


class Strategy(Protocol):
    name: ClassVar[str]

    def choose(self, candidates: Sequence[Deployment]) -> Deployment:
        """Pick one of `candidates` (never empty: the Router filters before calling)."""
        ...

    def sample(
        self, pool: Sequence[Deployment], usable: Callable[[Deployment], bool]
    ) -> Deployment | None:
        """Pick a deployment of a large `pool` for which `usable` is true, testing only a few
        (see `_sampling.py`); None when those few were not enough to decide."""
        ...
