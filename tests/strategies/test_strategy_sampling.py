"""`sample`: each strategy's decision in a large pool, testing only a few deployments."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from strategy_stubs import StubLoadView, make_deployment

from router.deployment import Deployment
from router.strategies import STRATEGY_NAMES, create_strategy
from router.strategies._sampling import MAX_DRAWS

POOL_SIZE = 1_000


def _pool(**options: float) -> tuple[Deployment, ...]:
    return tuple(make_deployment(f"d{index}", **options) for index in range(POOL_SIZE))


class _CountingTest:
    """A `usable` test that counts how many deployments it was asked about."""

    def __init__(self, out: set[str] | None = None) -> None:
        self.out = out or set()
        self.calls = 0

    def __call__(self, deployment: Deployment) -> bool:
        self.calls += 1
        return deployment.id not in self.out


@pytest.mark.parametrize("name", STRATEGY_NAMES)
def test_a_decision_tests_only_a_few_deployments(name: str) -> None:
    pool = _pool(price_per_page=0.001)
    strategy = create_strategy(name, StubLoadView(), rng=random.Random(1))
    for _ in range(200):
        usable = _CountingTest()
        assert strategy.sample(pool, usable) in pool
        assert usable.calls <= MAX_DRAWS


@pytest.mark.parametrize("name", STRATEGY_NAMES)
def test_never_returns_a_deployment_that_is_out(name: str) -> None:
    pool = _pool(price_per_page=0.001)
    out = {f"d{index}" for index in range(0, POOL_SIZE, 2)}  # every other one cooling, say
    strategy = create_strategy(name, StubLoadView(), rng=random.Random(2))
    chosen = [strategy.sample(pool, _CountingTest(out)) for _ in range(500)]
    found = [deployment for deployment in chosen if deployment is not None]
    assert len(found) >= 450  # half the pool out: a miss after 8 draws is 1 in 256 or so
    assert not {deployment.id for deployment in found} & out


@pytest.mark.parametrize("name", STRATEGY_NAMES)
def test_gives_up_when_almost_everything_is_out(name: str) -> None:
    # None tells the Router to take the exact pass, which finds the one left.
    pool = _pool(price_per_page=0.001)
    out = {deployment.id for deployment in pool} - {"d500"}
    strategy = create_strategy(name, StubLoadView(), rng=random.Random(3))
    results = {strategy.sample(pool, _CountingTest(out)) for _ in range(50)}
    assert results <= {None, pool[500]}
    assert None in results


def test_shuffle_follows_the_weights() -> None:
    heavy = tuple(make_deployment(f"h{index}", weight=3.0) for index in range(100))
    light = tuple(make_deployment(f"l{index}", weight=1.0) for index in range(100))
    strategy = create_strategy("simple-shuffle", StubLoadView(), rng=random.Random(4))
    picks = Counter(
        strategy.sample(heavy + light, _CountingTest()).id[0]  # type: ignore[union-attr]
        for _ in range(8_000)
    )
    assert 2.7 < picks["h"] / picks["l"] < 3.3


def test_shuffle_never_picks_a_zero_weight_deployment_while_others_can_go() -> None:
    pool = tuple(
        make_deployment(f"d{index}", weight=0.0 if index % 2 else 1.0) for index in range(200)
    )
    strategy = create_strategy("simple-shuffle", StubLoadView(), rng=random.Random(5))
    for _ in range(1_000):
        chosen = strategy.sample(pool, _CountingTest())
        assert chosen is not None and chosen.weight == 1.0


def test_round_robin_gives_each_its_exact_share_interleaved() -> None:
    pool = tuple(make_deployment(f"d{index}", weight=1.0 + index % 3) for index in range(300))
    strategy = create_strategy("round-robin", StubLoadView(), rng=random.Random(6))
    total_weight = sum(deployment.weight for deployment in pool)  # 600
    picks = Counter(
        strategy.sample(pool, _CountingTest()).id  # type: ignore[union-attr]
        for _ in range(int(total_weight) * 4)
    )
    # Over four full rounds each deployment has had exactly four times its weight.
    assert all(picks[deployment.id] == 4 * deployment.weight for deployment in pool)


def test_round_robin_skips_a_deployment_that_is_out_and_owes_it_no_burst() -> None:
    pool = tuple(make_deployment(f"d{index}") for index in range(100))
    strategy = create_strategy("round-robin", StubLoadView(), rng=random.Random(7))
    out = _CountingTest({"d0"})
    first = [strategy.sample(pool, out) for _ in range(300)]
    assert pool[0] not in first
    back = Counter(strategy.sample(pool, _CountingTest()) for _ in range(100))
    assert back[pool[0]] == 1  # one turn per round, not the three it missed


def test_least_busy_prefers_idle_deployments_among_those_drawn() -> None:
    pool = _pool()
    busy = {f"d{index}": 5 for index in range(POOL_SIZE) if index % 4}  # three in four busy
    strategy = create_strategy("least-busy", StubLoadView(in_flight=busy), rng=random.Random(8))
    picks = [strategy.sample(pool, _CountingTest()) for _ in range(1_000)]
    idle_picks = sum(1 for chosen in picks if chosen is not None and chosen.id not in busy)
    # Choosing blindly finds an idle one a quarter of the time; the best of 4 draws, 68%.
    assert idle_picks >= 600


def test_lowest_cost_takes_the_cheapest_usable_price_level() -> None:
    cheap = tuple(make_deployment(f"c{index}", price_per_page=0.001) for index in range(5))
    mid = tuple(make_deployment(f"m{index}", price_per_page=0.002) for index in range(200))
    dear = tuple(make_deployment(f"e{index}", price_per_page=0.01) for index in range(800))
    pool = dear + mid + cheap  # config order must not matter
    strategy = create_strategy("lowest-cost", StubLoadView(), rng=random.Random(9))
    assert {strategy.sample(pool, _CountingTest()) for _ in range(100)} <= set(cheap)
    # The cheap ones out: the next level, spread over its members rather than its first few.
    no_cheap = _CountingTest({deployment.id for deployment in cheap})
    chosen = {strategy.sample(pool, no_cheap) for _ in range(300)}
    assert chosen <= set(mid)
    assert len(chosen) > 100
