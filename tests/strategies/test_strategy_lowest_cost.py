from __future__ import annotations

import random
from collections import Counter

from strategy_stubs import StubLoadView, make_deployment

from router.strategies import LowestCost


def test_cheapest_deployment_wins() -> None:
    candidates = [
        make_deployment("dear", price_per_page=0.003),
        make_deployment("cheap", price_per_page=0.001),
        make_deployment("middle", price_per_page=0.002),
    ]
    strategy = LowestCost(StubLoadView(), rng=random.Random(1))
    assert {strategy.choose(candidates).id for _ in range(50)} == {"cheap"}


def test_cheapest_wins_even_when_busier() -> None:
    candidates = [
        make_deployment("dear", price_per_page=0.003),
        make_deployment("cheap", price_per_page=0.001),
    ]
    view = StubLoadView(in_flight={"cheap": 5})
    assert LowestCost(view, rng=random.Random(2)).choose(candidates).id == "cheap"


def test_price_tie_goes_to_the_least_busy() -> None:
    candidates = [
        make_deployment("busy", price_per_page=0.001),
        make_deployment("idle", price_per_page=0.001),
        make_deployment("dear", price_per_page=0.002),
    ]
    view = StubLoadView(in_flight={"busy": 2, "idle": 0})
    strategy = LowestCost(view, rng=random.Random(3))
    assert {strategy.choose(candidates).id for _ in range(50)} == {"idle"}


def test_full_tie_is_broken_at_random() -> None:
    candidates = [make_deployment(name, price_per_page=0.001) for name in ("a", "b")]
    strategy = LowestCost(StubLoadView(), rng=random.Random(4))
    counts = Counter(strategy.choose(candidates).id for _ in range(200))
    assert min(counts["a"], counts["b"]) > 60


def test_unknown_price_loses_to_a_known_one() -> None:
    candidates = [
        make_deployment("unknown", price_per_page=None),
        make_deployment("priced", price_per_page=0.01),
    ]
    view = StubLoadView(in_flight={"priced": 10})
    strategy = LowestCost(view, rng=random.Random(5))
    assert {strategy.choose(candidates).id for _ in range(50)} == {"priced"}


def test_unknown_prices_alone_fall_back_to_least_busy() -> None:
    candidates = [make_deployment(name) for name in ("busy", "idle")]
    view = StubLoadView(in_flight={"busy": 1})
    assert LowestCost(view, rng=random.Random(6)).choose(candidates).id == "idle"
