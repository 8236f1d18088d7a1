"""The router's rooms alone: circuit breaker, retry budget, usage windows, cost periods; and
failover over real sockets for connection-level faults."""

from __future__ import annotations

from decimal import Decimal

import pytest
from router_helpers import KEY, entry

from providers.fake import FakeProvider
from router.cost import period_bounds
from router.errors import (
    AuthenticationError,
    BadRequestError,
    ConfigError,
    RateLimitError,
    RequestTimeoutError,
    ServerError,
)
from router.health import CircuitBreaker, HealthPolicy
from router.retry import RetryBudget, instant_backoff, is_testing, worth_retrying
from router.router import Router
from router.state import MemoryState

POLICY = HealthPolicy(
    allowed_fails=3, cooldown_time=10, auth_cooldown_time=100, max_cooldown_time=100
)


def _breaker() -> CircuitBreaker:
    return CircuitBreaker(MemoryState(clock=lambda: 0.0), POLICY)


def test_a_later_longer_retry_after_extends_a_cooldown_and_a_shorter_one_never_shortens_it() -> (
    None
):
    breaker = _breaker()
    assert breaker.record_failure("d", RateLimitError("429", retry_after=2), 0.0, probe=False) == 2
    assert breaker.record_failure("d", RateLimitError("429", retry_after=5), 1.0, probe=False) == 6
    assert (
        breaker.record_failure("d", RateLimitError("429", retry_after=1), 1.5, probe=False) is None
    )
    assert breaker.availability("d", 5.9).status == "cooling"
    assert breaker.availability("d", 6.0).status == "half-open"


def test_transient_failures_cool_only_after_allowed_fails_in_a_row() -> None:
    breaker = _breaker()
    for now in (0.0, 1.0):
        assert breaker.record_failure("d", ServerError("500"), now, probe=False) is None
        assert breaker.availability("d", now).usable
    breaker.record_success("d", 1.5, probe=False)  # the streak is broken
    for now in (2.0, 3.0):
        breaker.record_failure("d", ServerError("500"), now, probe=False)
    assert breaker.record_failure("d", ServerError("500"), 4.0, probe=False) == 14.0
    assert breaker.availability("d", 13.9).reason == "3 consecutive failures (ServerError 500)"


def test_half_open_admits_only_its_probes_and_a_success_closes_the_circuit() -> None:
    breaker = _breaker()
    breaker.record_failure("d", AuthenticationError("401"), 0.0, probe=False)
    assert breaker.availability("d", 99.0).status == "cooling"
    assert breaker.availability("d", 100.0).usable
    assert breaker.begin("d", 100.0) is True
    assert not breaker.availability("d", 100.0).usable  # its one probe is out
    breaker.record_success("d", 100.5, probe=True)
    assert breaker.availability("d", 100.5).status == "healthy"
    assert breaker.begin("d", 101.0) is False


def test_a_deployment_whose_settings_fail_at_send_is_cooled_for_the_long_period() -> None:
    breaker = _breaker()
    until = breaker.record_failure("d", ConfigError("no credentials"), 0.0, probe=False)
    assert until == POLICY.auth_cooldown_time


def test_a_success_sent_before_the_cooldown_does_not_end_it() -> None:
    breaker = _breaker()
    breaker.record_failure("d", RateLimitError("429", retry_after=30), 0.0, probe=False)
    breaker.record_success("d", 1.0, probe=False)
    assert breaker.availability("d", 1.0).status == "cooling"


def test_any_error_with_a_retry_after_keeps_the_deployment_out_until_then() -> None:
    breaker = _breaker()
    assert breaker.record_failure("d", ServerError("503", retry_after=4), 0.0, probe=False) == 4
    assert breaker.availability("d", 3.9).status == "cooling"


def test_a_bad_request_does_not_count_against_the_deployment() -> None:
    breaker = _breaker()
    for now in range(5):
        assert breaker.record_failure("d", BadRequestError("400"), now, probe=False) is None
    assert breaker.availability("d", 5.0).status == "healthy"


def test_a_probe_that_ends_without_a_verdict_frees_its_slot() -> None:
    breaker = _breaker()
    breaker.record_failure("d", AuthenticationError("401"), 0.0, probe=False)
    assert breaker.begin("d", 100.0)
    breaker.record_failure("d", BadRequestError("400"), 100.1, probe=True)
    assert breaker.availability("d", 100.2).usable


def test_which_errors_are_worth_another_attempt() -> None:
    assert worth_retrying(ServerError("500"))
    assert worth_retrying(RateLimitError("429"))
    assert worth_retrying(AuthenticationError("401"))  # on another deployment
    assert worth_retrying(ConfigError("vertex_ai: credentials unreadable"))  # this one's settings
    assert not worth_retrying(BadRequestError("400"))
    assert not worth_retrying(ValueError("a bug"))


def test_retry_budget_allows_the_floor_plus_a_fraction_of_recent_requests() -> None:
    budget = RetryBudget(MemoryState(), ratio=0.5, min_per_second=0.2, window=10)
    for _ in range(10):
        budget.deposit(100.0)
    granted = sum(budget.withdraw(100.0) for _ in range(20))
    assert granted == 2 + 5  # 0.2/s over 10 s, plus half of 10 requests
    assert budget.withdraw(111.5)  # the window has moved past every count


def test_usage_window_forgets_counts_older_than_the_window_never_earlier() -> None:
    state = MemoryState()
    state.add_to_window("k", 100.2, 1, 3)
    state.add_to_window("k", 130.7, 2, 5)
    assert state.window_totals("k", 150.0, 60).requests == 3
    totals = state.window_totals("k", 160.5, 60)
    assert (totals.requests, totals.pages) == (3, 8)  # 60.3 s after the first: still counted
    assert state.window_totals("k", 161.0, 60).requests == 2


def test_budget_periods_roll_over_on_utc_calendar_boundaries() -> None:
    moment = 1_764_000_000.0  # 2025-11-24T16:00:00Z
    assert period_bounds("hour", moment + 59) == ("2025-11-24T16", moment + 3600)
    assert period_bounds("day", moment)[0] == "2025-11-24"
    label, ends = period_bounds("month", moment)
    assert label == "2025-11" and ends == 1_764_547_200.0  # 2025-12-01T00:00:00Z
    assert period_bounds("total", moment) == ("total", None)


def test_cost_totals_add_up_exactly() -> None:
    state = MemoryState()
    for _ in range(1000):
        state.add_cost(("deployment:a",), 1, Decimal("0.001"))
    state.add_cost(("deployment:a",), 2, None)
    totals = state.cost_totals()["deployment:a"]
    assert (totals.requests, totals.pages, totals.usd) == (1001, 1002, Decimal("1.000"))
    assert totals.priced is False


def test_instant_backoff_is_a_switch_that_restores_itself() -> None:
    assert is_testing()  # the suite's autouse fixture
    with instant_backoff():
        assert is_testing()
    assert is_testing()


@pytest.mark.parametrize("fault", ["timeout", "reset", "garbage"])
async def test_connection_faults_fail_over_over_real_sockets(
    fault: str, png_bytes: bytes, fake_server
) -> None:
    broken = FakeProvider("mistral", api_key=KEY, script=[fault], hang_seconds=5)
    healthy = FakeProvider("azure_ai", api_key=KEY)
    entries = [
        entry("broken", broken, api_base=await fake_server(broken), timeout=0.3, priority=0),
        entry("healthy", healthy, api_base=await fake_server(healthy), priority=1),
    ]
    async with Router(entries) as router:
        response = await router.aocr("ocr", png_bytes, timeout=5)
    assert response.call_info is not None
    assert response.call_info.deployment_id == "healthy"
    errors = [attempt.error for attempt in response.call_info.attempts]
    assert errors[0] is not None and errors[1] is None
    assert broken.request_count == 1


async def test_one_deadline_bounds_a_request_on_a_hanging_deployment(
    png_bytes: bytes, fake_server
) -> None:
    hanging = FakeProvider("mistral", api_key=KEY, script=["timeout"] * 10, hang_seconds=5)
    entries = [entry("hanging", hanging, api_base=await fake_server(hanging))]
    async with Router(entries, num_retries=5) as router:
        with pytest.raises(RequestTimeoutError):
            await router.aocr("ocr", png_bytes, timeout=0.3)
    assert hanging.request_count == 1  # no retry: the deadline was spent
