"""A retired model answers the host's own 404, judged by the fake's clock (`today`)."""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

import pytest
from fake_helpers import ROUTES, Send, body

from providers.fake import FakeProvider
from router import capabilities
from router.capabilities import ModelInfo

DAY = datetime.timedelta(days=1)
MISTRAL_2505 = datetime.date(2026, 5, 31)  # router.capabilities: retires_on
MISTRAL_4_0 = datetime.date(2026, 9, 30)
AZURE_DOC_AI_2505 = datetime.date(2026, 7, 15)


@pytest.mark.parametrize(
    ("model", "retires_on"), [("mistral-ocr-2505", MISTRAL_2505), ("mistral-ocr-4-0", MISTRAL_4_0)]
)
async def test_mistral_serves_a_model_until_its_retirement_day_then_answers_404(
    send: Send, model: str, retires_on: datetime.date
) -> None:
    fake = FakeProvider("mistral", today=retires_on - DAY)
    assert (await send(fake, body(model=model))).status_code == 200
    fake.today = retires_on
    gone = await send(fake, body(model=model))
    assert gone.status_code == 404
    assert gone.json() == {
        "object": "error",
        "message": f"Invalid model: {model}",
        "type": "invalid_model",
        "param": None,
        "code": "1500",
        "raw_status_code": 404,
    }
    assert fake.outcomes == {"ok": 1, "retired": 1}
    # Its successor is served on the same day.
    assert (await send(fake, body(model="mistral-ocr-2512"))).status_code == 200


async def test_azure_answers_a_retired_deployment_in_its_own_404_envelope(send: Send) -> None:
    clock = [AZURE_DOC_AI_2505 - DAY]
    fake = FakeProvider("azure_ai", today=lambda: clock[0])  # a callable clock
    retired = body(model="mistral-document-ai-2505")
    assert (await send(fake, retired)).status_code == 200
    clock[0] = AZURE_DOC_AI_2505
    gone = await send(fake, retired)
    assert gone.status_code == 404
    assert gone.json() == {"error": {"code": "404", "message": "Resource not found"}}
    # Azure still serves its own mistral-ocr-2505 and mistral-ocr-4-0 (no retirement published).
    for model in ("mistral-ocr-2505", "mistral-ocr-4-0", "mistral-document-ai-2512"):
        assert (await send(fake, body(model=model))).status_code == 200


async def test_the_fake_clock_defaults_to_the_real_date(send: Send) -> None:
    fake = FakeProvider("mistral")
    today = datetime.datetime.now(datetime.UTC).date()
    assert fake.current_date() == today
    # Run in 2026-12 or later: both retirements have passed by the real date.
    assert today >= MISTRAL_4_0
    assert (await send(fake, body(model="mistral-ocr-2505"))).status_code == 404
    assert (await send(fake, body(model="mistral-ocr-latest"))).status_code == 200


async def test_vertex_serves_mistral_ocr_2505_for_no_retirement_is_published(send: Send) -> None:
    fake = FakeProvider("vertex_ai", today=datetime.date(2030, 1, 1))
    assert (await send(fake, body(model="mistral-ocr-2505"))).status_code == 200


def _retire_on_vertex(monkeypatch: pytest.MonkeyPatch, model: str, day: datetime.date) -> None:
    """A Vertex retirement (none is published): the table with one more retired row."""
    rows: dict[tuple[str, str], ModelInfo] = dict(capabilities.MODELS)
    row = capabilities.lookup("vertex_ai", model)
    rows[("vertex_ai", model)] = dataclasses.replace(row, retires_on=day, listed=True)
    monkeypatch.setattr(capabilities, "MODELS", rows)


async def test_vertex_answers_googles_404_for_a_retired_publisher_model_in_the_path(
    send: Send, monkeypatch: pytest.MonkeyPatch
) -> None:
    _retire_on_vertex(monkeypatch, "mistral-ocr-2505", datetime.date(2027, 1, 1))
    fake = FakeProvider("vertex_ai", today=datetime.date(2027, 1, 1))
    gone = await send(fake, body(model="mistral-ocr-2505"))  # ROUTES names it in the path
    assert gone.status_code == 404
    error: dict[str, Any] = gone.json()["error"]
    assert (error["code"], error["status"]) == (404, "NOT_FOUND")
    assert "Publisher Model" in error["message"]


async def test_vertex_passes_the_containers_404_for_a_retired_model_named_only_in_the_body(
    send: Send, monkeypatch: pytest.MonkeyPatch
) -> None:
    _retire_on_vertex(monkeypatch, "mistral-ocr-old", datetime.date(2027, 1, 1))
    fake = FakeProvider("vertex_ai", today=datetime.date(2027, 1, 1))
    assert "mistral-ocr-old" not in ROUTES["vertex_ai"]
    gone = await send(fake, body(model="mistral-ocr-old"))
    assert gone.status_code == 404
    assert gone.json() == {"detail": "Not Found"}


async def test_a_malformed_body_naming_a_retired_model_gets_the_422_first(send: Send) -> None:
    # FastAPI validates the body's shape before the handler looks the model up.
    fake = FakeProvider("mistral", today=MISTRAL_2505)
    response = await send(fake, {"model": "mistral-ocr-2505"})
    assert response.status_code == 422
    assert fake.outcomes == {"invalid": 1}
