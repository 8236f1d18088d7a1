from __future__ import annotations

from collections import Counter

from strategy_stubs import StubLoadView, make_deployment

from router.deployment import Deployment
from router.strategies import RoundRobin


def choose_many(strategy: RoundRobin, candidates: list[Deployment], times: int) -> list[str]:
    return [strategy.choose(candidates).id for _ in range(times)]


def longest_run(sequence: list[str], deployment_id: str) -> int:
    longest = current = 0
    for chosen in sequence:
        current = current + 1 if chosen == deployment_id else 0
        longest = max(longest, current)
    return longest


def test_equal_weights_spread_300_calls_exactly_100_each() -> None:
    candidates = [make_deployment(name) for name in ("a", "b", "c")]
    counts = Counter(choose_many(RoundRobin(StubLoadView()), candidates, 300))
    assert counts == {"a": 100, "b": 100, "c": 100}


def test_equal_weights_rotate_without_repeating() -> None:
    candidates = [make_deployment(name) for name in ("a", "b", "c")]
    sequence = choose_many(RoundRobin(StubLoadView()), candidates, 30)
    assert all(longest_run(sequence, name) == 1 for name in "abc")


def test_weights_1_2_3_give_exactly_50_100_150() -> None:
    candidates = [make_deployment(name, weight=w) for name, w in (("a", 1), ("b", 2), ("c", 3))]
    counts = Counter(choose_many(RoundRobin(StubLoadView()), candidates, 300))
    assert counts == {"a": 50, "b": 100, "c": 150}


def test_weighted_sequence_is_smooth_in_every_window_of_six() -> None:
    shares = {"a": 1, "b": 2, "c": 3}
    candidates = [make_deployment(name, weight=w) for name, w in shares.items()]
    sequence = choose_many(RoundRobin(StubLoadView()), candidates, 300)
    for start in range(len(sequence) - 6 + 1):
        window = Counter(sequence[start : start + 6])
        # A sliding window may straddle two cycles, so one more than the share is the limit.
        assert all(window[name] <= share + 1 for name, share in shares.items()), (start, window)
    assert longest_run(sequence, "c") <= 2
    assert longest_run(sequence, "a") == 1


def test_deployment_returning_after_dropping_out_gets_no_burst() -> None:
    a, b, c = (make_deployment(name) for name in ("a", "b", "c"))
    strategy = RoundRobin(StubLoadView())
    choose_many(strategy, [a, b, c], 31)
    while_c_was_out = choose_many(strategy, [a, b], 30)
    after_return = choose_many(strategy, [a, b, c], 30)

    assert "c" not in while_c_was_out
    assert Counter(after_return)["c"] == 10
    assert longest_run(after_return, "c") == 1


def test_weighted_deployment_returning_gets_only_its_share() -> None:
    shares = {"a": 1, "b": 2, "c": 3}
    a, b, c = (make_deployment(name, weight=w) for name, w in shares.items())
    strategy = RoundRobin(StubLoadView())
    choose_many(strategy, [a, b, c], 4)
    choose_many(strategy, [a, b], 7)
    after_return = choose_many(strategy, [a, b, c], 60)

    assert abs(Counter(after_return)["c"] - 30) <= 1
    assert Counter(after_return[:6])["c"] <= shares["c"] + 1


def test_zero_weight_is_skipped_while_another_has_weight() -> None:
    candidates = [make_deployment("off", weight=0), make_deployment("on", weight=1)]
    assert set(choose_many(RoundRobin(StubLoadView()), candidates, 10)) == {"on"}


def test_all_zero_weights_still_rotate() -> None:
    candidates = [make_deployment(name, weight=0) for name in ("a", "b")]
    counts = Counter(choose_many(RoundRobin(StubLoadView()), candidates, 10))
    assert counts == {"a": 5, "b": 5}
