from __future__ import annotations

import random
from collections import Counter

import pytest
from strategy_stubs import StubLoadView, make_deployment

from router.strategies import SimpleShuffle


def test_weights_1_to_3_give_about_a_quarter_and_three_quarters() -> None:
    candidates = [make_deployment("light", weight=1), make_deployment("heavy", weight=3)]
    strategy = SimpleShuffle(StubLoadView(), rng=random.Random(1))
    counts = Counter(strategy.choose(candidates).id for _ in range(4000))
    # Expected 1000 light; sd ~27. Ignoring weights would give ~2000, far outside.
    assert 880 <= counts["light"] <= 1120


def test_cached_tuple_of_candidates_keeps_the_weights() -> None:
    candidates = (make_deployment("light", weight=1), make_deployment("heavy", weight=3))
    strategy = SimpleShuffle(StubLoadView(), rng=random.Random(2))
    counts = Counter(strategy.choose(candidates).id for _ in range(4000))
    assert 880 <= counts["light"] <= 1120


def test_a_list_changed_in_place_is_not_served_from_a_stale_cache() -> None:
    strategy = SimpleShuffle(StubLoadView(), rng=random.Random(3))
    candidates = [make_deployment("a", weight=1), make_deployment("b", weight=1000)]
    strategy.choose(candidates)
    candidates[1] = make_deployment("c", weight=1)
    counts = Counter(strategy.choose(candidates).id for _ in range(400))
    assert set(counts) == {"a", "c"}
    assert counts["a"] > 100


def test_single_candidate_is_always_chosen() -> None:
    only = make_deployment("only", weight=0.5)
    strategy = SimpleShuffle(StubLoadView(), rng=random.Random(4))
    assert all(strategy.choose([only]) is only for _ in range(50))


def test_equal_weights_reach_every_candidate() -> None:
    candidates = [make_deployment(str(index)) for index in range(5)]
    strategy = SimpleShuffle(StubLoadView(), rng=random.Random(5))
    counts = Counter(strategy.choose(candidates).id for _ in range(1000))
    assert set(counts) == {"0", "1", "2", "3", "4"}
    assert min(counts.values()) > 120  # ~200 each


def test_zero_weight_is_never_chosen_while_another_has_weight() -> None:
    candidates = [make_deployment("off", weight=0), make_deployment("on", weight=2)]
    strategy = SimpleShuffle(StubLoadView(), rng=random.Random(6))
    assert {strategy.choose(candidates).id for _ in range(200)} == {"on"}


def test_no_candidates_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="at least one candidate"):
        SimpleShuffle(StubLoadView()).choose([])
