"""Per-deployment limits: keep each deployment within what its provider allows.

Providers enforce quotas (requests and pages per minute) and degrade under too many concurrent
calls; hitting a quota costs a 429 and a cooldown, so it is cheaper to stay under it. A deployment
at one of its limits is simply not a candidate for the moment: the router sends elsewhere, or
waits for capacity (up to the request's deadline) rather than rejecting the request.

- `max_concurrency`: requests in flight. Frees when one of them ends.
- `rpm`: requests started in the last 60 s (a sliding window of 1-second buckets).
- `pages_per_minute`: pages in the last 60 s. A request reserves the pages it asks for (1 when it
  asks for the whole document, whose size is unknown until the answer) and the difference with
  the pages actually processed is counted when it ends. A single request larger than the whole
  quota is admitted when the window is empty, or it could never be served.

On a state shared by several processes (router/state/redis/), the rpm and page windows are
booked with `reserve` (one atomic check-and-add on the shared store) so that the processes
together hold the quota, not each of them.
"""

from __future__ import annotations

from dataclasses import dataclass

from router.deployment import Deployment
from router.state.base import ExactWindows, RouterState

WINDOW_SECONDS = 60.0  # rpm and pages_per_minute are per minute, as providers state their quotas


@dataclass(frozen=True)
class LimitCheck:
    """Whether a deployment has room for one more request; if not, why and when it may."""

    has_room: bool
    reason: str | None = None
    free_at: float | None = None  # when a window frees room; None: when a request ends


_ROOM = LimitCheck(has_room=True)


def _usage_key(deployment_id: str) -> str:
    return f"usage:{deployment_id}"


def _has_quota(deployment: Deployment) -> bool:
    return deployment.rpm is not None or deployment.pages_per_minute is not None


def estimated_pages(page_indexes: list[int] | None) -> int:
    """The pages a request reserves before its answer tells the real count."""
    return len(page_indexes) if page_indexes else 1


class Limits:
    """Checks and books the capacity of deployments, on the router's state."""

    def __init__(self, state: RouterState) -> None:
        self._state = state
        # A shared state books quota windows atomically across processes (`reserve`).
        self._exact = state if isinstance(state, ExactWindows) else None

    def check(self, deployment: Deployment, pages: int, now: float) -> LimitCheck:
        if deployment.max_concurrency is not None:
            in_flight = self._state.in_flight(deployment.id)
            if in_flight >= deployment.max_concurrency:
                return LimitCheck(False, f"{in_flight} in flight (max_concurrency)")
        if deployment.rpm is None and deployment.pages_per_minute is None:
            return _ROOM
        totals = self._state.window_totals(_usage_key(deployment.id), now, WINDOW_SECONDS)
        free_at = None if totals.oldest is None else totals.oldest + WINDOW_SECONDS
        if deployment.rpm is not None and totals.requests >= deployment.rpm:
            return LimitCheck(False, f"{totals.requests} requests this minute (rpm)", free_at)
        quota = deployment.pages_per_minute
        if quota is not None and totals.pages > 0 and totals.pages + pages > quota:
            return LimitCheck(
                False, f"{totals.pages} pages this minute (pages_per_minute)", free_at
            )
        return _ROOM

    def acquire(self, deployment: Deployment, pages: int, now: float) -> None:
        """Book one request of `pages` pages (call right after choosing, with no await between)."""
        self._state.add_in_flight(deployment.id, 1)
        if self._exact is None and _has_quota(deployment):
            self._state.add_to_window(_usage_key(deployment.id), now, 1, pages)

    def needs_reservation(self, deployment: Deployment) -> bool:
        """Whether `reserve` must confirm the booking (a shared state and a quota)."""
        return self._exact is not None and _has_quota(deployment)

    async def reserve(self, deployment: Deployment, pages: int, now: float) -> bool:
        """Book the request in the deployment's quota window atomically across every process
        sharing the state (after `acquire`); False when the quota is full (then `release`)."""
        if self._exact is None or not _has_quota(deployment):
            return True
        return await self._exact.reserve_window(
            _usage_key(deployment.id),
            now,
            1,
            pages,
            max_requests=deployment.rpm,
            max_pages=deployment.pages_per_minute,
            window_seconds=WINDOW_SECONDS,
        )

    def release(self, deployment: Deployment, reserved: int, processed: int, now: float) -> None:
        """The request ended; `processed` pages were served (0 on failure)."""
        self._state.add_in_flight(deployment.id, -1)
        if deployment.pages_per_minute is not None and processed > reserved:
            self._state.add_to_window(_usage_key(deployment.id), now, 0, processed - reserved)


__all__ = ["WINDOW_SECONDS", "LimitCheck", "Limits", "estimated_pages"]
