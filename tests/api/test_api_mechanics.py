"""How ocr()/aocr() sort arguments, price the call, bound its time and manage the client.

These use an in-process `httpx.MockTransport` standing for the provider: they check what the
api module does with a call, not a provider's dialect (the fake servers do that in the other
files of this directory).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from providers.base import Provider
from router import api
from router.api import aocr, ocr
from router.errors import ConfigError, InvalidRequestError, RequestTimeoutError
from router.pricing import price_for

PDF_DATA_URI = "data:application/pdf;base64,JVBERi0xLjQKJcfsj6IKMSAwIG9iago8PD4+CmVuZG9iago="
REMOTE_PDF = "https://example.org/paper.pdf"
KEY = "sk-mechanics-test-key-4f7a"
ANNOTATION_FORMAT = {
    "type": "json_schema",
    "json_schema": {"name": "doc", "schema": {"type": "object", "properties": {}}},
}


class Recorder:
    """A provider stand-in: records each request and answers with `pages` processed pages."""

    def __init__(self, pages: int = 3, echoed_model: str = "mistral-ocr-2512-completion") -> None:
        self.requests: list[httpx.Request] = []
        self.pages = pages
        self.echoed_model = echoed_model

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(
            200,
            json={
                "pages": [{"index": i, "markdown": f"page {i}"} for i in range(self.pages)],
                "model": self.echoed_model,
                "usage_info": {"pages_processed": self.pages},
            },
        )

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self))

    @property
    def body(self) -> dict[str, Any]:
        return json.loads(self.requests[-1].content)  # type: ignore[no-any-return]


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


async def test_ocr_fields_go_in_the_body_and_provider_settings_configure_the_provider(
    recorder: Recorder,
) -> None:
    async with recorder.client() as client:
        await aocr(
            "vertex_ai/mistral-ocr-2505",
            PDF_DATA_URI,
            client=client,
            vertex_project="proj-1",
            vertex_location="europe-west4",
            token="ya29.static-token",
            headers={"x-trace": "abc"},
            pages=[0, 1],
            include_image_base64=True,
        )
    sent = recorder.requests[-1]
    assert "/projects/proj-1/locations/europe-west4/" in str(sent.url)
    assert sent.headers["authorization"] == "Bearer ya29.static-token"
    assert sent.headers["x-trace"] == "abc"
    assert recorder.body == {
        "model": "mistral-ocr-2505",
        "document": {"type": "document_url", "document_url": PDF_DATA_URI},
        "pages": [0, 1],
        "include_image_base64": True,
    }


async def test_settings_are_accepted_under_their_field_names_too(recorder: Recorder) -> None:
    async with recorder.client() as client:
        await aocr(
            "vertex_ai/mistral-ocr-2505",
            PDF_DATA_URI,
            client=client,
            project="proj-2",
            location="us-central1",
            token="ya29.other",
        )
    assert "/projects/proj-2/locations/us-central1/" in str(recorder.requests[-1].url)


async def test_unknown_parameter_is_refused_by_name_before_anything_is_sent(
    recorder: Recorder,
) -> None:
    async with recorder.client() as client:
        with pytest.raises(InvalidRequestError, match="include_images") as caught:
            await aocr(
                "mistral/mistral-ocr-latest",
                REMOTE_PDF,
                api_key=KEY,
                client=client,
                include_images=True,
            )
    assert "extra_body" in str(caught.value)
    assert recorder.requests == []


async def test_extra_body_fields_are_sent_as_given(recorder: Recorder) -> None:
    async with recorder.client() as client:
        await aocr(
            "mistral/mistral-ocr-latest",
            REMOTE_PDF,
            api_key=KEY,
            client=client,
            extra_body={"preview_feature": {"on": True}},
        )
    assert recorder.body["preview_feature"] == {"on": True}


async def test_invalid_setting_value_is_a_config_error_that_does_not_echo_the_value(
    recorder: Recorder,
) -> None:
    with pytest.raises(ConfigError, match="headers") as caught:
        await aocr(
            "mistral/mistral-ocr-latest",
            REMOTE_PDF,
            api_key=KEY,
            client=recorder.client(),
            headers="Bearer sk-secret-in-the-wrong-place",
        )
    assert "sk-secret-in-the-wrong-place" not in str(caught.value)
    assert "sk-secret-in-the-wrong-place" not in repr(caught.value)


async def test_missing_key_is_a_config_error_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MISTRAL_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="MISTRAL_API_KEY"):
        await aocr("mistral/mistral-ocr-latest", REMOTE_PDF)


async def test_model_without_provider_prefix_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="provider prefix"):
        await aocr("mistral-ocr-latest", REMOTE_PDF, api_key=KEY)


@pytest.mark.parametrize("model", [None, 42, ("mistral", "mistral-ocr-latest")])
async def test_model_that_is_not_a_string_is_refused(model: Any) -> None:
    with pytest.raises(InvalidRequestError, match="provider/model"):
        await aocr(model, REMOTE_PDF, api_key=KEY)


async def test_missing_document_is_refused_by_name() -> None:
    with pytest.raises(InvalidRequestError, match="document"):
        await aocr("mistral/mistral-ocr-latest", None, api_key=KEY)


async def test_cost_is_pages_times_the_asked_models_price_not_the_echoed_one(
    recorder: Recorder,
) -> None:
    async with recorder.client() as client:
        response = await aocr("mistral/mistral-ocr-latest", REMOTE_PDF, api_key=KEY, client=client)
    listed = price_for("mistral", "mistral-ocr-latest")
    assert listed is not None
    assert response.model == "mistral-ocr-2512-completion"
    assert response.call_info is not None
    assert response.call_info.pages == 3
    assert response.call_info.cost_usd == pytest.approx(3 * listed.per_page)


async def test_annotated_request_is_priced_at_the_annotated_price(recorder: Recorder) -> None:
    async with recorder.client() as client:
        response = await aocr(
            "mistral/mistral-ocr-2512",
            REMOTE_PDF,
            api_key=KEY,
            client=client,
            document_annotation_format=ANNOTATION_FORMAT,
        )
    listed = price_for("mistral", "mistral-ocr-2512")
    assert listed is not None and listed.per_annotated_page != listed.per_page
    assert response.call_info is not None
    assert response.call_info.cost_usd == pytest.approx(3 * listed.per_annotated_page)


async def test_explicit_annotated_price_overrides_only_the_annotated_figure(
    recorder: Recorder,
) -> None:
    async with recorder.client() as client:
        plain = await aocr(
            "mistral/mistral-ocr-2512",
            REMOTE_PDF,
            api_key=KEY,
            client=client,
            price_per_annotated_page=0.5,
        )
        annotated = await aocr(
            "mistral/mistral-ocr-2512",
            REMOTE_PDF,
            api_key=KEY,
            client=client,
            price_per_annotated_page=0.5,
            bbox_annotation_format=ANNOTATION_FORMAT,
        )
    listed = price_for("mistral", "mistral-ocr-2512")
    assert listed is not None
    assert plain.call_info is not None and annotated.call_info is not None
    assert plain.call_info.cost_usd == pytest.approx(3 * listed.per_page)
    assert annotated.call_info.cost_usd == pytest.approx(3 * 0.5)


async def test_explicit_price_for_an_unlisted_model_prices_annotated_pages_too(
    recorder: Recorder,
) -> None:
    async with recorder.client() as client:
        response = await aocr(
            "mistral/my-fine-tuned-ocr",
            REMOTE_PDF,
            api_key=KEY,
            client=client,
            price_per_page=0.01,
            bbox_annotation_format=ANNOTATION_FORMAT,
        )
    assert response.call_info is not None
    assert response.call_info.cost_usd == pytest.approx(3 * 0.01)


@pytest.mark.parametrize("bad", [-0.001, "0.01", True])
async def test_invalid_price_is_refused(bad: Any) -> None:
    with pytest.raises(InvalidRequestError, match="price_per_page"):
        await aocr("mistral/mistral-ocr-latest", REMOTE_PDF, api_key=KEY, price_per_page=bad)


async def test_unknown_price_gives_no_cost_and_warns_once_per_model(
    recorder: Recorder, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(api, "_unpriced_warned", set())
    caplog.set_level(logging.DEBUG, logger="ocr_router")
    async with recorder.client() as client:
        for _ in range(3):
            response = await aocr(
                "mistral/mistral-ocr-2099", REMOTE_PDF, api_key=KEY, client=client
            )
            assert response.call_info is not None
            assert response.call_info.cost_usd is None
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "mistral/mistral-ocr-2099" in warnings[0].getMessage()


async def test_call_info_names_the_model_asked_for_and_one_attempt(recorder: Recorder) -> None:
    async with recorder.client() as client:
        response = await aocr("mistral/mistral-ocr-2512", REMOTE_PDF, api_key=KEY, client=client)
    info = response.call_info
    assert info is not None
    assert (info.deployment_id, info.provider, info.model) == (
        "mistral/mistral-ocr-2512",
        "mistral",
        "mistral/mistral-ocr-2512",
    )
    assert info.latency_s > 0
    assert len(info.attempts) == 1
    assert info.attempts[0].error is None
    assert info.attempts[0].provider == "mistral"


async def test_a_lent_client_is_left_open(recorder: Recorder) -> None:
    client = recorder.client()
    await aocr("mistral/mistral-ocr-latest", REMOTE_PDF, api_key=KEY, client=client)
    assert not client.is_closed
    await client.aclose()


async def test_without_a_client_a_fresh_one_is_opened_and_closed(
    recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[httpx.AsyncClient] = []
    real_client_class = httpx.AsyncClient

    def make_client(**_: Any) -> httpx.AsyncClient:
        made.append(real_client_class(transport=httpx.MockTransport(recorder)))
        return made[-1]

    monkeypatch.setattr(api.httpx, "AsyncClient", make_client)
    await aocr("mistral/mistral-ocr-latest", REMOTE_PDF, api_key=KEY)
    await aocr("mistral/mistral-ocr-latest", REMOTE_PDF, api_key=KEY)
    assert len(made) == 2
    assert all(client.is_closed for client in made)
    assert len(recorder.requests) == 2


def _hanging_client() -> httpx.AsyncClient:
    async def hang(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(30)
        return httpx.Response(500)

    return httpx.AsyncClient(transport=httpx.MockTransport(hang))


async def test_timeout_bounds_the_whole_call() -> None:
    async with _hanging_client() as client:
        with pytest.raises(RequestTimeoutError, match=r"0\.05 s"):
            await aocr(
                "mistral/mistral-ocr-latest", REMOTE_PDF, api_key=KEY, client=client, timeout=0.05
            )


@pytest.mark.parametrize("bad", [0, -1, "10", True, float("inf"), float("nan")])
async def test_invalid_timeout_is_refused(bad: Any) -> None:
    with pytest.raises(InvalidRequestError, match="timeout"):
        await aocr("mistral/mistral-ocr-latest", REMOTE_PDF, api_key=KEY, timeout=bad)


@pytest.mark.parametrize("bad", [0, -1, "10", True, float("inf"), float("nan")])
async def test_a_router_refuses_the_same_timeouts(bad: Any) -> None:
    # One rule for both (ocr() took inf, Router.aocr refused it; a string was a TypeError).
    from router import Router

    async with Router(
        [{"model_name": "ocr", "model": "mistral/mistral-ocr-latest", "api_key": KEY}]
    ) as router:
        with pytest.raises(InvalidRequestError, match="positive, finite number of seconds"):
            await router.aocr("ocr", REMOTE_PDF, timeout=bad)


async def test_default_timeout_is_passed_to_the_provider(
    recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[float | None] = []
    original: Callable[..., Any] = Provider.send

    async def spy(self: Any, request: Any, client: Any, *, timeout: float | None = None) -> Any:
        seen.append(timeout)
        return await original(self, request, client, timeout=timeout)

    monkeypatch.setattr(Provider, "send", spy)
    async with recorder.client() as client:
        await aocr("mistral/mistral-ocr-latest", REMOTE_PDF, api_key=KEY, client=client)
        await aocr("mistral/mistral-ocr-latest", REMOTE_PDF, api_key=KEY, client=client, timeout=7)
    assert seen == [api.DEFAULT_TIMEOUT_S, 7.0]


def test_sync_ocr_without_a_running_loop(recorder: Recorder) -> None:
    response = ocr(
        "mistral/mistral-ocr-latest", REMOTE_PDF, api_key=KEY, client=recorder.client(), pages=[1]
    )
    assert [page.index for page in response.pages] == [0, 1, 2]
    assert recorder.body["pages"] == [1]


async def test_sync_ocr_inside_a_running_loop_runs_instead_of_failing(recorder: Recorder) -> None:
    asyncio.get_running_loop()  # the situation of Jupyter or of async application code
    response = ocr("mistral/mistral-ocr-latest", REMOTE_PDF, api_key=KEY, client=recorder.client())
    assert response.call_info is not None
    assert response.call_info.pages == 3


async def test_sync_ocr_inside_a_running_loop_raises_the_typed_error() -> None:
    with pytest.raises(InvalidRequestError, match="bogus"):
        ocr("mistral/mistral-ocr-latest", REMOTE_PDF, api_key=KEY, bogus=1)


async def test_debug_line_tells_provider_model_status_latency_and_pages_only(
    recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="ocr_router")
    async with recorder.client() as client:
        await aocr("mistral/mistral-ocr-latest", PDF_DATA_URI, api_key=KEY, client=client)
    lines = [r.getMessage() for r in caplog.records if r.name == "ocr_router.api"]
    assert lines == [lines[0]]
    assert "mistral/mistral-ocr-latest" in lines[0]
    assert "ok" in lines[0]
    assert "3 pages" in lines[0]
    assert KEY not in lines[0]
    assert "JVBERi0" not in lines[0]  # no document content
