from __future__ import annotations

import math

import pytest

from router.errors import ConfigError
from router.strategies import PeakEwma, failure_penalty


def measured(ewma: PeakEwma, now: float) -> float:
    estimate = ewma.estimate(now)
    assert estimate is not None
    return estimate


def test_no_estimate_before_the_first_sample() -> None:
    assert PeakEwma().estimate(100.0) is None


def test_first_sample_is_the_estimate() -> None:
    ewma = PeakEwma()
    ewma.observe(0.05, now=1.0)
    assert measured(ewma, 1.0) == 0.05


def test_slower_sample_is_taken_at_once() -> None:
    ewma = PeakEwma(decay_seconds=10.0)
    ewma.observe(0.02, now=0.0)
    ewma.observe(0.5, now=0.1)
    assert measured(ewma, 0.1) == 0.5


def test_faster_sample_pulls_the_estimate_down_by_the_elapsed_time() -> None:
    ewma = PeakEwma(decay_seconds=10.0)
    ewma.observe(0.2, now=0.0)
    ewma.observe(0.02, now=10.0)
    kept = math.exp(-1.0)
    assert measured(ewma, 10.0) == pytest.approx(0.2 * kept + 0.02 * (1 - kept))


def test_repeated_faster_samples_converge_on_the_new_speed() -> None:
    ewma = PeakEwma(decay_seconds=10.0)
    ewma.observe(0.2, now=0.0)
    estimates = []
    for second in range(1, 61):
        ewma.observe(0.02, now=float(second))
        estimates.append(measured(ewma, float(second)))
    assert estimates == sorted(estimates, reverse=True)
    assert estimates[-1] == pytest.approx(0.02, abs=0.001)


def test_a_faster_sample_soon_after_a_peak_barely_moves_it() -> None:
    ewma = PeakEwma(decay_seconds=10.0)
    ewma.observe(1.0, now=0.0)
    ewma.observe(0.01, now=0.1)
    assert measured(ewma, 0.1) > 0.98


def test_a_peak_relaxes_toward_the_usual_speed_without_new_samples() -> None:
    ewma = PeakEwma(decay_seconds=10.0)
    for second in range(30):
        ewma.observe(0.02, now=float(second))
    ewma.observe(2.0, now=30.0)  # one very slow call, or a failure penalty
    assert measured(ewma, 30.0) == 2.0
    assert measured(ewma, 40.0) < 2.0
    # Back near the moving average, which the one slow call raised only a little (to ~0.21).
    assert measured(ewma, 120.0) < 0.25


def test_estimate_reads_without_changing_the_state() -> None:
    ewma = PeakEwma(decay_seconds=10.0)
    ewma.observe(0.02, now=0.0)
    ewma.observe(1.0, now=1.0)
    first_read = measured(ewma, 20.0)
    measured(ewma, 5.0)
    assert measured(ewma, 20.0) == first_read


def test_a_clock_stepping_backwards_does_not_inflate_the_estimate() -> None:
    ewma = PeakEwma(decay_seconds=10.0)
    ewma.observe(0.02, now=10.0)
    ewma.observe(1.0, now=11.0)
    assert measured(ewma, 5.0) == 1.0


def test_failure_penalty_doubles_the_estimate_with_a_floor_of_one_second() -> None:
    assert failure_penalty(None) == 1.0
    assert failure_penalty(0.02) == 1.0
    assert failure_penalty(0.8) == 1.6


def test_repeated_failures_push_the_estimate_further_each_time() -> None:
    ewma = PeakEwma()
    ewma.observe(0.05, now=0.0)
    after_each_failure = []
    for second in (1.0, 2.0, 3.0):
        ewma.observe(failure_penalty(measured(ewma, second)), now=second)
        after_each_failure.append(measured(ewma, second))
    assert after_each_failure[0] == 1.0
    assert after_each_failure == sorted(after_each_failure)
    assert after_each_failure[-1] > 3.0


@pytest.mark.parametrize("decay", [0.0, -1.0, float("nan"), float("inf")])
def test_decay_must_be_a_positive_number(decay: float) -> None:
    with pytest.raises(ConfigError, match="decay_seconds"):
        PeakEwma(decay_seconds=decay)


@pytest.mark.parametrize("sample", [-0.1, float("nan"), float("inf")])
def test_a_sample_must_be_finite_and_not_negative(sample: float) -> None:
    with pytest.raises(ValueError, match="sample"):
        PeakEwma().observe(sample, now=0.0)
