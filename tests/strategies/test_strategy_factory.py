from __future__ import annotations

import random
from typing import Any

import pytest
from strategy_stubs import StubLoadView, make_deployment

from router.errors import ConfigError
from router.strategies import (
    STRATEGY_ALIASES,
    STRATEGY_NAMES,
    LeastBusy,
    LowestCost,
    LowestLatency,
    RoundRobin,
    SimpleShuffle,
    create_strategy,
)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("simple-shuffle", SimpleShuffle),
        ("round-robin", RoundRobin),
        ("least-busy", LeastBusy),
        ("lowest-latency", LowestLatency),
        ("lowest-cost", LowestCost),
        ("shuffle", SimpleShuffle),
        ("latency-based-routing", LowestLatency),
        ("cost-based-routing", LowestCost),
        (" Round_Robin ", RoundRobin),
    ],
)
def test_every_name_and_litellm_alias_creates_its_strategy(name: str, expected: Any) -> None:
    strategy = create_strategy(name, StubLoadView())
    assert isinstance(strategy, expected)
    assert strategy.name == expected.name


def test_strategy_names_are_the_five_strategies() -> None:
    assert STRATEGY_NAMES == (
        "simple-shuffle",
        "round-robin",
        "least-busy",
        "lowest-latency",
        "lowest-cost",
    )
    assert set(STRATEGY_ALIASES.values()) <= set(STRATEGY_NAMES)


def test_unknown_name_error_lists_the_valid_names() -> None:
    with pytest.raises(ConfigError) as raised:
        create_strategy("fastest-please", StubLoadView())
    message = str(raised.value)
    assert "fastest-please" in message
    for valid in (*STRATEGY_NAMES, *STRATEGY_ALIASES):
        assert valid in message


@pytest.mark.parametrize("name", ["usage-based-routing", "usage-based-routing-v2"])
def test_litellm_usage_based_routing_is_refused_with_an_alternative(name: str) -> None:
    with pytest.raises(ConfigError, match="not supported") as raised:
        create_strategy(name, StubLoadView())
    assert "simple-shuffle" in str(raised.value)
    assert "pages_per_minute" in str(raised.value)


@pytest.mark.parametrize("name", STRATEGY_NAMES)
def test_seeded_rng_makes_choices_repeatable(name: str) -> None:
    candidates = [make_deployment(str(index), weight=index + 1) for index in range(5)]
    view = StubLoadView(seconds_per_page={"0": 0.1, "1": 0.1, "2": 0.1})

    def run() -> list[str]:
        strategy = create_strategy(name, view, rng=random.Random(42))
        return [strategy.choose(candidates).id for _ in range(50)]

    assert run() == run()
