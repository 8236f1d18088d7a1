from __future__ import annotations

import heapq
import random
from collections import Counter

import pytest
from strategy_stubs import StubLoadView, make_deployment

from router.errors import ConfigError
from router.strategies import LowestLatency
from router.strategies.lowest_latency import NEUTRAL_SAMPLE_SIZE


def test_fast_deployment_gets_most_traffic_and_slow_one_the_spill_over() -> None:
    """1,000 one-page requests arriving every millisecond, each held for its deployment's
    seconds per page: the fast one's in-flight count rises until the slow one wins sometimes."""
    fast, slow = make_deployment("fast"), make_deployment("slow")
    view = StubLoadView(seconds_per_page={"fast": 0.02, "slow": 0.2})
    strategy = LowestLatency(view, rng=random.Random(1))
    finishing: list[tuple[float, str]] = []
    counts: Counter[str] = Counter()
    for request in range(1000):
        now = request * 0.001
        while finishing and finishing[0][0] <= now:
            _, done = heapq.heappop(finishing)
            view.in_flight_by_id[done] -= 1
        chosen = strategy.choose([fast, slow])
        counts[chosen.id] += 1
        view.in_flight_by_id[chosen.id] = view.in_flight(chosen.id) + 1
        heapq.heappush(finishing, (now + view.seconds_per_page_by_id[chosen.id], chosen.id))

    assert counts["fast"] >= 900
    assert counts["slow"] > 0


def test_idle_fast_deployment_beats_idle_slow_one() -> None:
    candidates = [make_deployment("fast"), make_deployment("slow")]
    view = StubLoadView(seconds_per_page={"fast": 0.02, "slow": 0.2})
    strategy = LowestLatency(view, rng=random.Random(2))
    assert {strategy.choose(candidates).id for _ in range(100)} == {"fast"}


def test_slow_deployment_is_chosen_when_fast_one_has_many_in_flight() -> None:
    candidates = [make_deployment("fast"), make_deployment("slow")]
    # 0.02 * (20 + 1) = 0.42 s of queue on the fast one against 0.2 on the idle slow one.
    view = StubLoadView(in_flight={"fast": 20}, seconds_per_page={"fast": 0.02, "slow": 0.2})
    strategy = LowestLatency(view, rng=random.Random(3))
    assert {strategy.choose(candidates).id for _ in range(100)} == {"slow"}


def test_in_flight_load_shifts_choice_between_equally_fast_deployments() -> None:
    candidates = [make_deployment("loaded"), make_deployment("free")]
    view = StubLoadView(in_flight={"loaded": 3}, seconds_per_page={"loaded": 0.1, "free": 0.1})
    strategy = LowestLatency(view, rng=random.Random(4))
    assert {strategy.choose(candidates).id for _ in range(100)} == {"free"}


def test_unmeasured_deployment_is_probed_but_not_herded_onto() -> None:
    """Each choice stays in flight: scored at zero, the new deployment would take every request
    (0 x anything = 0); scored at the measured median, it takes its fair part and no more."""
    candidates = [make_deployment("measured"), make_deployment("new")]
    view = StubLoadView(seconds_per_page={"measured": 0.1})
    strategy = LowestLatency(view, rng=random.Random(5))
    counts: Counter[str] = Counter()
    for _ in range(100):
        chosen = strategy.choose(candidates)
        counts[chosen.id] += 1
        view.in_flight_by_id[chosen.id] = view.in_flight(chosen.id) + 1
    assert 40 <= counts["new"] <= 60


def test_unmeasured_deployment_among_measured_ones_wins_some_decisions_not_all() -> None:
    candidates = [make_deployment(name) for name in ("a", "b", "c", "new")]
    view = StubLoadView(seconds_per_page={"a": 0.1, "b": 0.1, "c": 0.1})
    strategy = LowestLatency(view, rng=random.Random(6))
    counts = Counter(strategy.choose(candidates).id for _ in range(1000))
    # In half of the pairs, winning half of those: about 250.
    assert 150 <= counts["new"] <= 350


def test_unmeasured_deployment_scores_as_the_median_not_as_fast() -> None:
    candidates = [make_deployment(name) for name in ("fast", "middle", "slow", "new")]
    view = StubLoadView(seconds_per_page={"fast": 0.02, "middle": 0.1, "slow": 0.2})
    strategy = LowestLatency(view, rng=random.Random(7))
    counts = Counter(strategy.choose(candidates).id for _ in range(2000))
    assert counts["fast"] > counts["new"] > counts["slow"]


def test_unmeasured_deployment_in_a_large_pool_is_scored_from_a_sample() -> None:
    pool_size = NEUTRAL_SAMPLE_SIZE * 3
    candidates = [make_deployment(f"d{index}") for index in range(pool_size)]
    view = StubLoadView(seconds_per_page={f"d{index}": 0.1 for index in range(1, pool_size)})
    strategy = LowestLatency(view, rng=random.Random(8))
    counts = Counter(strategy.choose(candidates).id for _ in range(3000))
    # Fair share is 1/48 of 3,000, about 62; herding would be about 2/48 x 3,000 = 125 or more.
    assert 20 <= counts["d0"] <= 110


def test_all_unmeasured_deployments_share_the_traffic() -> None:
    candidates = [make_deployment(name) for name in ("a", "b", "c")]
    strategy = LowestLatency(StubLoadView(), rng=random.Random(9))
    counts = Counter(strategy.choose(candidates).id for _ in range(300))
    assert set(counts) == {"a", "b", "c"}
    assert min(counts.values()) > 60


def test_single_candidate_is_chosen_without_any_figure() -> None:
    only = make_deployment("only")
    assert LowestLatency(StubLoadView()).choose([only]) is only


@pytest.mark.parametrize("default", [0.0, -1.0, float("nan"), float("inf")])
def test_default_seconds_per_page_must_be_positive(default: float) -> None:
    with pytest.raises(ConfigError, match="default_seconds_per_page"):
        LowestLatency(StubLoadView(), default_seconds_per_page=default)
