"""A peak-sensitive moving average of seconds per page, one per deployment (tower's Peak-EWMA).

Latency routing needs a speed figure that reacts at once when a deployment gets slow and forgets
slowly-but-surely when it recovers. A plain average lags: a deployment that starts taking 30 s a
page keeps getting traffic until the average catches up. Peak-EWMA is asymmetric:

- a sample above the current estimate replaces it at once (bad news is believed immediately);
- a sample below it is blended in with weight `1 - w`, where `w = exp(-elapsed / decay)` and
  `elapsed` is the time since the previous sample (good news is believed gradually, faster when
  it comes after a long gap);
- between samples a peak relaxes, with the same time constant, toward the plain moving average of
  the samples, so one slow call (or one failure penalty) is forgotten over time even when no
  further sample arrives. Tower relaxes toward zero instead; with OCR calls lasting seconds, an
  idle deployment estimated at zero would draw every request until its first answer came back.

`decay_seconds` defaults to 10 s (tower's default too): long enough that one fast call does not
erase a slow spell, short enough that a recovered deployment wins traffic back within a minute.

Failures produce no pages, so they are fed by the caller as a slow sample: `failure_penalty(...)`.

Complexity: O(1) per observation and per estimate; `estimate` does not change the state.
"""

from __future__ import annotations

import math

from router.errors import ConfigError

DEFAULT_DECAY_SECONDS = 10.0

# 1 s/page is slower than any healthy OCR deployment we know of (tens to hundreds of ms a page),
# so a deployment that just failed loses every comparison against a healthy one at once.
FAILURE_PENALTY_FLOOR_SECONDS_PER_PAGE = 1.0


def failure_penalty(current: float | None) -> float:
    """The slow sample to feed for a failed call: twice the current estimate, at least 1 s/page.

    Doubling makes repeated failures push a deployment further back each time; the floor makes
    the first failure of an unmeasured or very fast deployment count as clearly slow.
    """
    if current is None or not current > 0:
        return FAILURE_PENALTY_FLOOR_SECONDS_PER_PAGE
    return max(current * 2.0, FAILURE_PENALTY_FLOOR_SECONDS_PER_PAGE)


class PeakEwma:
    """Peak-EWMA of one deployment's seconds per page. Times are seconds on any one clock.

    >>> ewma = PeakEwma(decay_seconds=10.0)
    >>> ewma.estimate(0.0) is None
    True
    >>> ewma.observe(0.05, now=0.0)
    >>> ewma.observe(0.5, now=1.0)  # slower: believed at once
    >>> ewma.estimate(1.0)
    0.5
    """

    __slots__ = ("_decay_seconds", "_mean", "_peak", "_updated_at")

    def __init__(self, decay_seconds: float = DEFAULT_DECAY_SECONDS) -> None:
        if not decay_seconds > 0 or math.isinf(decay_seconds):
            raise ConfigError(f"decay_seconds must be a positive number, got {decay_seconds!r}")
        self._decay_seconds = decay_seconds
        self._mean: float | None = None  # plain EWMA of the samples: where a peak relaxes to
        self._peak = 0.0  # the estimate as of `_updated_at`; never below `_mean`
        self._updated_at = 0.0

    @property
    def decay_seconds(self) -> float:
        return self._decay_seconds

    def observe(self, sample: float, now: float) -> None:
        """Feed one sample (seconds per page, >= 0) measured at time `now`."""
        if not sample >= 0 or math.isinf(sample):
            raise ValueError(f"a seconds-per-page sample must be finite and >= 0, got {sample!r}")
        mean = self._mean
        if mean is None:
            self._mean = self._peak = sample
            self._updated_at = now
            return
        keep = self._weight_kept(now)
        current = mean + (self._peak - mean) * keep
        self._mean = sample + (mean - sample) * keep
        # Above the estimate: replace at once. Below: move toward the sample, from where it was.
        self._peak = sample if sample >= current else sample + (current - sample) * keep
        self._updated_at = now

    def estimate(self, now: float) -> float | None:
        """Seconds per page as of `now`; None until the first sample."""
        mean = self._mean
        if mean is None:
            return None
        return mean + (self._peak - mean) * self._weight_kept(now)

    def _weight_kept(self, now: float) -> float:
        """`exp(-elapsed / decay)`: how much of the old value survives since the last sample."""
        # A clock that steps backwards must not amplify the old value.
        elapsed = max(now - self._updated_at, 0.0)
        return math.exp(-elapsed / self._decay_seconds)

    def __repr__(self) -> str:
        return (
            f"PeakEwma(decay_seconds={self._decay_seconds}, mean={self._mean}, peak={self._peak})"
        )
