"""Routing strategies: how the Router picks one deployment among the candidates of a group.

Each strategy only chooses; the Router decides who is a candidate (healthy, lowest priority tier,
within limits, not already failed by this request). Create one by name with `create_strategy`:

    strategy = create_strategy("lowest-latency", view, rng=random.Random(7))
    deployment = strategy.choose(candidates)

Our names are `STRATEGY_NAMES`; LiteLLM's names for the same strategies (`STRATEGY_ALIASES`) are
accepted too, so a LiteLLM `routing_strategy` setting works unchanged. Names are matched ignoring
case, surrounding spaces, and `_` versus `-` (`canonical_strategy_name`, which the settings'
validator uses too: one rule wherever a name is read).

A strategy of one's own: a class with `choose(candidates)` and `sample(pool, usable)` (which may
return None: the Router then reads the whole tier and calls `choose`), built as
`factory(view, rng=rng)`, registered under a name, then named in `routing_strategy`:

    class FirstListed:
        name = "first-listed"

        def __init__(self, view, *, rng=None): ...
        def choose(self, candidates): return candidates[0]
        def sample(self, pool, usable): return None

    register_strategy(FirstListed.name, FirstListed)   # factory(view, rng=...) -> Strategy
    Router(model_list, routing_strategy="first-listed")
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from types import MappingProxyType

from router.errors import ConfigError
from router.strategies.base import LoadView, Strategy
from router.strategies.least_busy import LeastBusy
from router.strategies.lowest_cost import LowestCost
from router.strategies.lowest_latency import LowestLatency
from router.strategies.peak_ewma import PeakEwma, failure_penalty
from router.strategies.round_robin import RoundRobin
from router.strategies.simple_shuffle import SimpleShuffle

__all__ = [
    "STRATEGY_ALIASES",
    "STRATEGY_NAMES",
    "LeastBusy",
    "LoadView",
    "LowestCost",
    "LowestLatency",
    "PeakEwma",
    "RoundRobin",
    "SimpleShuffle",
    "Strategy",
    "canonical_strategy_name",
    "create_strategy",
    "failure_penalty",
    "register_strategy",
    "strategy_names",
]

_STRATEGY_CLASSES: dict[str, Callable[..., Strategy]] = {
    SimpleShuffle.name: SimpleShuffle,
    RoundRobin.name: RoundRobin,
    LeastBusy.name: LeastBusy,
    LowestLatency.name: LowestLatency,
    LowestCost.name: LowestCost,
}

STRATEGY_NAMES: tuple[str, ...] = tuple(_STRATEGY_CLASSES)

# LiteLLM's `routing_strategy` values that mean one of ours ("simple-shuffle" and "least-busy"
# are spelled the same in both).
STRATEGY_ALIASES: Mapping[str, str] = MappingProxyType(
    {
        "shuffle": SimpleShuffle.name,
        "latency-based-routing": LowestLatency.name,
        "cost-based-routing": LowestCost.name,
    }
)

# LiteLLM strategies we deliberately do not offer, with what to use instead.
_UNSUPPORTED: Mapping[str, str] = MappingProxyType(
    {
        name: (
            f"routing strategy {name!r} (LiteLLM's tokens/requests-per-minute balancing) is not "
            "supported: per-deployment `rpm` and `pages_per_minute` limits already keep each "
            "deployment within its quota; use 'simple-shuffle' (weights set each share) or "
            "'least-busy' on top of them"
        )
        for name in ("usage-based-routing", "usage-based-routing-v2")
    }
)


def _key(name: str) -> str:
    return name.strip().lower().replace("_", "-") if isinstance(name, str) else ""


def strategy_names() -> tuple[str, ...]:
    """Every strategy name a Router takes: the built-in ones, then those registered."""
    return tuple(_STRATEGY_CLASSES)


def register_strategy(name: str, factory: Callable[..., Strategy]) -> None:
    """Make `routing_strategy=name` build `factory(view, rng=rng)` (a `Strategy` subclass).

    Raises `ConfigError` when `name` is already taken (a built-in or an alias cannot be
    replaced: a config would silently route differently)."""
    key = _key(name)
    if not key:
        raise ConfigError("a strategy name must not be empty")
    if key in _STRATEGY_CLASSES or key in STRATEGY_ALIASES or key in _UNSUPPORTED:
        raise ConfigError(f"routing strategy {key!r} is already defined")
    _STRATEGY_CLASSES[key] = factory


def canonical_strategy_name(name: str) -> str:
    """`"Least_Busy"` -> `"least-busy"`, `"shuffle"` -> `"simple-shuffle"`: the name `name`
    means. Raises `ConfigError` for an unsupported or unknown name, listing the valid ones."""
    key = STRATEGY_ALIASES.get(_key(name), _key(name))
    if key in _STRATEGY_CLASSES:
        return key
    if key in _UNSUPPORTED:
        raise ConfigError(_UNSUPPORTED[key])
    valid = ", ".join(repr(valid_name) for valid_name in (*strategy_names(), *STRATEGY_ALIASES))
    raise ConfigError(f"unknown routing strategy {name!r}; valid names: {valid}")


def create_strategy(name: str, view: LoadView, *, rng: random.Random | None = None) -> Strategy:
    """The strategy called `name` (one of ours, a registered one or a LiteLLM alias), reading
    load from `view`. Pass a seeded `rng` for reproducible choices (tests); by default each
    strategy has its own. Raises `ConfigError` for an unsupported or unknown name.
    """
    return _STRATEGY_CLASSES[canonical_strategy_name(name)](view, rng=rng)
