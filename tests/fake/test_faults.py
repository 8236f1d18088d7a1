"""Faults on demand: a script consumed in order, then seeded random rates; latency; counting."""

from __future__ import annotations

import httpx
import pytest
from fake_helpers import ROUTES, Send, body

from providers.fake import FakeProvider, FaultPlan, parse_fault


def outcome_sequence(fake: FakeProvider, count: int) -> list[str]:
    """Decide `count` requests in-process and return what the fake did to each. The body is `{}`,
    so a request the fault lets through is refused as "invalid": cheap, and still counted."""
    for _ in range(count):
        fake.decide("POST", "/v1/ocr", {}, {}, b"{}")
    return [request.outcome for request in fake.requests]


async def test_script_is_consumed_in_order_then_requests_succeed(send: Send) -> None:
    fake = FakeProvider("mistral", script=["ok", "500", "429:2", "503", "400"])
    statuses = [(await send(fake, body())).status_code for _ in range(7)]
    assert statuses == [200, 500, 429, 503, 400, 200, 200]
    assert [request.outcome for request in fake.requests] == [
        "ok",
        "500",
        "429",
        "503",
        "400",
        "ok",
        "ok",
    ]


@pytest.mark.parametrize("provider", ["mistral", "azure_ai", "vertex_ai"])
@pytest.mark.parametrize("status", ["401", "404", "408", "500", "502", "503", "504"])
async def test_scripted_status_is_answered_in_the_dialects_envelope(
    send: Send, provider: str, status: str
) -> None:
    response = await send(FakeProvider(provider, script=[status]), body())
    assert response.status_code == int(status)
    payload = response.json()
    if provider == "azure_ai":
        assert payload["error"]["code"] == status
    elif provider == "vertex_ai":
        assert payload["error"]["code"] == int(status)
    elif status != "401":
        assert payload["object"] == "error"


@pytest.mark.parametrize(
    ("entry", "header", "value"),
    [
        ("429", "retry-after", "1"),
        ("429:2.5", "retry-after", "2.5"),
        ("429ms:250", "retry-after-ms", "250"),
    ],
)
async def test_rate_limit_faults_carry_their_retry_after(
    send: Send, entry: str, header: str, value: str
) -> None:
    response = await send(FakeProvider("azure_ai", script=[entry]), body())
    assert response.status_code == 429
    assert response.headers[header] == value


@pytest.mark.parametrize(
    ("entry", "content"), [("garbage", None), ("null", b"null"), ("empty", b"")]
)
async def test_bad_200_bodies(send: Send, entry: str, content: bytes | None) -> None:
    response = await send(FakeProvider("azure_ai", script=[entry]), body())
    assert response.status_code == 200
    if content is None:
        with pytest.raises(ValueError):
            response.json()
    else:
        assert response.content == content


async def test_slow_answers_normally_after_its_delay(send: Send) -> None:
    fake = FakeProvider("mistral", script=["slow:0.05"], latency=0.01)
    response = await send(fake, body())
    assert response.status_code == 200
    assert fake.requests[0].latency_s == pytest.approx(0.06)
    assert fake.outcomes == {"slow": 1}


@pytest.mark.parametrize(
    "bad",
    [
        *("5xx", "600", "429:soon", "slow", "slow:-1", "500:3", "timeout:1", "", "429ms:x"),
        *("slow:inf", "slow:nan", "429:inf"),  # would hang the fake, or send Retry-After: inf
    ],
)
def test_a_bad_script_entry_is_refused_naming_it(bad: str) -> None:
    with pytest.raises(ValueError, match="unknown fault entry"):
        FakeProvider("mistral", script=["ok", bad])


def test_a_bad_rate_is_refused() -> None:
    with pytest.raises(ValueError, match="'500'"):
        FakeProvider("mistral", faults={"500": 1.5})
    with pytest.raises(ValueError, match="add up"):
        FakeProvider("mistral", faults={"500": 0.6, "503": 0.6})
    with pytest.raises(ValueError, match="unknown fault entry 'oops'"):
        FakeProvider("mistral", faults={"oops": 0.1})


def test_same_seed_gives_the_same_outcome_sequence() -> None:
    rates = {"500": 0.2, "429:1": 0.1, "timeout": 0.1}
    first = outcome_sequence(FakeProvider("mistral", faults=rates, seed=11), 200)
    second = outcome_sequence(FakeProvider("mistral", faults=rates, seed=11), 200)
    other = outcome_sequence(FakeProvider("mistral", faults=rates, seed=12), 200)
    assert first == second
    assert first != other


def test_random_rates_roughly_match_over_many_decisions() -> None:
    rates = {"500": 0.10, "429": 0.05, "reset": 0.02}
    fake = FakeProvider("mistral", faults=rates, seed=3)
    outcome_sequence(fake, 2000)
    # Binomial(2000, p) stays within these bounds far more often than 1 in a million draws.
    assert 140 <= fake.outcomes["500"] <= 260
    assert 55 <= fake.outcomes["429"] <= 145
    assert 12 <= fake.outcomes["reset"] <= 70
    assert (
        fake.outcomes["invalid"]
        == 2000 - fake.outcomes["500"] - fake.outcomes["429"] - fake.outcomes["reset"]
    )


def test_rates_apply_only_after_the_script() -> None:
    fake = FakeProvider("mistral", script=["503", "503"], faults={"500": 1.0})
    assert outcome_sequence(fake, 4) == ["503", "503", "500", "500"]


def test_reset_restarts_the_script_and_the_random_draws() -> None:
    fake = FakeProvider("mistral", script=["503"], faults={"500": 0.5}, seed=5)
    before = outcome_sequence(fake, 20)
    fake.reset()
    assert fake.request_count == 0
    assert not fake.outcomes
    assert outcome_sequence(fake, 20) == before


def test_seeded_latency_range_is_reproducible_and_within_bounds() -> None:
    def latencies(seed: int) -> list[float]:
        fake = FakeProvider("mistral", latency=(0.01, 0.03), seed=seed, script=["500"] * 50)
        outcome_sequence(fake, 50)
        return [request.latency_s for request in fake.requests]

    first = latencies(1)
    assert first == latencies(1)
    assert all(0.01 <= delay <= 0.03 for delay in first)
    assert len(set(first)) > 40


def test_latency_may_be_fixed_or_a_callable() -> None:
    fixed = FakeProvider("mistral", latency=0.02, script=["ok"])
    outcome_sequence(fixed, 1)
    delays = iter([0.5, 0.25])
    custom = FakeProvider("mistral", latency=lambda: next(delays), script=["503", "503"])
    outcome_sequence(custom, 2)
    assert [r.latency_s for r in fixed.requests] == [0.02]
    assert [r.latency_s for r in custom.requests] == [0.5, 0.25]


@pytest.mark.parametrize("bad", [-1.0, (0.3, 0.1), (0.1,), float("inf")])
def test_bad_latency_is_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="latency"):
        FakeProvider("mistral", latency=bad)  # type: ignore[arg-type]


async def test_requests_are_counted_and_recorded(send: Send) -> None:
    fake = FakeProvider("azure_ai", api_key="secret-key-value")
    await send(fake, body(pages=[0]), headers={"api-key": "secret-key-value"})
    await send(fake, body(), headers={"api-key": "nope"})
    await send(fake, body(), path="/elsewhere")
    assert fake.request_count == 3
    assert fake.outcomes == {"ok": 1, "unauthorized": 1, "not_found": 1}
    first = fake.requests[0]
    assert (first.method, first.path) == ("POST", "/providers/mistral/azure/ocr")
    assert first.query == {"api-version": "2024-05-01-preview"}
    assert first.headers["api-key"] == "secret-key-value"
    assert first.json["pages"] == [0]
    assert "secret-key-value" not in repr(first)
    assert "secret-key-value" not in repr(fake)


def test_recording_can_be_turned_off_while_counting_goes_on() -> None:
    fake = FakeProvider("mistral", record_requests=False)
    outcome_sequence(fake, 3)
    assert (fake.request_count, fake.requests) == (3, [])


def test_script_may_be_a_comma_separated_string() -> None:
    fake = FakeProvider("mistral", script="503, 429:2,ok")
    assert outcome_sequence(fake, 3) == ["503", "429", "invalid"]


def test_fault_plan_without_rates_never_draws() -> None:
    plan = FaultPlan(["500"])
    assert [plan.next_fault().label for _ in range(3)] == ["500", "ok", "ok"]
    assert parse_fault("429").retry_after_s == 1.0


def test_sync_client_works_in_process() -> None:
    fake = FakeProvider("mistral", script=["503"])
    with httpx.Client(transport=fake.mock_transport(), base_url="http://fake") as client:
        assert client.post(ROUTES["mistral"], json=body()).status_code == 503
        assert client.post(ROUTES["mistral"], json=body()).status_code == 200
