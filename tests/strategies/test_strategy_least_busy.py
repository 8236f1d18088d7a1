from __future__ import annotations

import random
from collections import Counter

from strategy_stubs import StubLoadView, make_deployment

from router.strategies import LeastBusy


def test_idle_deployment_wins_over_busy_ones() -> None:
    candidates = [make_deployment(name) for name in ("busy", "idle", "busier")]
    view = StubLoadView(in_flight={"busy": 3, "idle": 0, "busier": 7})
    strategy = LeastBusy(view, rng=random.Random(1))
    assert {strategy.choose(candidates).id for _ in range(50)} == {"idle"}


def test_fewest_in_flight_wins_when_none_is_idle() -> None:
    candidates = [make_deployment(name) for name in ("a", "b", "c")]
    view = StubLoadView(in_flight={"a": 4, "b": 2, "c": 5})
    assert LeastBusy(view, rng=random.Random(2)).choose(candidates).id == "b"


def test_ties_are_spread_over_the_tied_deployments() -> None:
    candidates = [make_deployment(name) for name in ("first", "second", "busy")]
    view = StubLoadView(in_flight={"first": 1, "second": 1, "busy": 9})
    strategy = LeastBusy(view, rng=random.Random(3))
    counts = Counter(strategy.choose(candidates).id for _ in range(200))
    assert set(counts) == {"first", "second"}
    assert min(counts.values()) > 60  # ~100 each: not always the first in the list


def test_choice_follows_in_flight_as_it_changes() -> None:
    candidates = [make_deployment(name) for name in ("a", "b")]
    view = StubLoadView()
    strategy = LeastBusy(view, rng=random.Random(4))
    for _ in range(20):
        chosen = strategy.choose(candidates)
        view.in_flight_by_id[chosen.id] = view.in_flight(chosen.id) + 1
    assert view.in_flight_by_id == {"a": 10, "b": 10}
