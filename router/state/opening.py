"""The state a Router keeps its counters in, from what it was given.

`Router(state=...)` takes a `RouterState` (share one object to share what is learnt in one
process), a Redis URL, or nothing; the `redis_url` setting asks for Redis too. A Redis state is
named so that every router serving the same deployments shares it without being told to (a
digest of the deployment ids, unless the `name` setting says otherwise), and is the router's to
close; a given state is the caller's. Record lifetimes outlast the longest cooldown, and a memory
state's bounds fit several keys per deployment.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from router.deployment import Deployment
from router.errors import ConfigError
from router.state.base import RouterState
from router.state.memory import DEFAULT_MAX_KEYS, DEFAULT_RECORD_TTL, MemoryState

if TYPE_CHECKING:
    from router.state.redis import RedisState  # the optional extra `redis`


def open_state(
    state: RouterState | str | None,
    *,
    redis_url: str | None,
    name: str,
    deployments: Sequence[Deployment],
    clock: Callable[[], float],
    max_cooldown_time: float,
) -> tuple[RouterState, Callable[[], None] | None]:
    """(the state, how to close it when the router made it, else None)."""
    record_ttl = max(DEFAULT_RECORD_TTL, 4 * max_cooldown_time)
    if isinstance(state, str) or (state is None and redis_url is not None):
        url = state if isinstance(state, str) else redis_url
        assert url is not None
        shared = _redis_state(url, name, deployments, clock, record_ttl)
        return shared, shared.close
    # Several keys per deployment (health, latency, usage window): bounds must fit all.
    max_keys = max(DEFAULT_MAX_KEYS, 4 * len(deployments))
    return state or MemoryState(clock=clock, record_ttl=record_ttl, max_keys=max_keys), None


def shared_name(name: str | None, deployments: Sequence[Deployment]) -> str:
    """The router's name in shared stores: `name`, else a digest of the deployment ids (same
    config, same name: processes serving one config share without being told to)."""
    if name is not None:
        return name
    ids = "\n".join(sorted(deployment.id for deployment in deployments))
    return hashlib.sha256(ids.encode()).hexdigest()[:12] if ids else "default"


def _redis_state(
    url: str,
    name: str,
    deployments: Sequence[Deployment],
    clock: Callable[[], float],
    record_ttl: float,
) -> RedisState:
    """A `RedisState` for `url`, named `name` (`shared_name`)."""
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError("a shared state is a Redis URL: redis://host:6379/0 (or rediss://)")
    try:
        from router.state.redis import RedisState
    except ImportError as error:
        raise ConfigError(
            f"shared state needs the redis package: pip install 'ocr-router[redis]' ({error})"
        ) from None
    return RedisState(
        url, name=name, clock=clock, record_ttl=record_ttl, deployments=[d.id for d in deployments]
    )
