"""A `file_id` that answers 404 is the request's error, over real sockets (WIRE.md: "a 404 on a
`file_id` is the request's, not the deployment's"): in a group of several Mistral deployments
it cools none of them and goes to no other one (each would answer the same); the caller gets
`FileIdNotFoundError`. A file uploaded to the fake's Files API is served, one that 404s for a
moment after its upload is asked about again on the same deployment, and a 404 that names the
deployment (a retired model, a wrong route) still cools it for the long period."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from mistralai.client import Mistral
from router_helpers import KEY, FakeClock

from providers.fake import FakeProvider
from providers.fake.batch_service import FakeBatchService
from providers.mistral import FILE_ID_RETRY_DELAYS
from providers.samples import make_pdf
from router.errors import FileIdNotFoundError, NotFoundError
from router.router import Router

NEVER_UPLOADED = "0f8fad5b-d9cb-469f-a165-70867728950e"
LONG = 300.0  # auth_cooldown_time: what a deployment's 404 cools it for
CALLS_PER_404 = 1 + len(FILE_ID_RETRY_DELAYS)  # the first call and the "just uploaded" retries


def file_document(file_id: str) -> dict[str, str]:
    return {"type": "file", "file_id": file_id}


@contextlib.asynccontextmanager
async def mistral_group(
    models: dict[str, str],
    *,
    paths: dict[str, str] | None = None,
    scripts: dict[str, list[str]] | None = None,
    **router_options: Any,
) -> AsyncIterator[tuple[dict[str, FakeProvider], Router, str]]:
    """One Mistral fake per deployment, over real HTTP on 127.0.0.1, all of one account: they
    share one Files API, as deployments under one Mistral organisation do. `paths` puts a path
    before a deployment's `/v1/ocr`, `scripts` gives a fake its faults. Yields the fakes, a
    Router over them (round robin, fake clock) and the first fake's base URL."""
    files = FakeBatchService(FakeProvider("mistral").dialect)
    fakes = {
        name: FakeProvider("mistral", api_key=KEY, script=(scripts or {}).get(name, ()))
        for name in models
    }
    async with contextlib.AsyncExitStack() as stack:
        entries = []
        for name, fake in fakes.items():
            fake.batch = files
            base_url = await stack.enter_async_context(fake.serve())
            entries.append(
                {
                    "model_name": "ocr",
                    "model": models[name],
                    "id": name,
                    "api_base": base_url + (paths or {}).get(name, ""),
                    "api_key": KEY,
                }
            )
        router = Router(
            entries,
            routing_strategy="round-robin",
            auth_cooldown_time=LONG,
            clock=FakeClock(),
            **router_options,
        )
        async with router:
            yield fakes, router, entries[0]["api_base"]


def calls(fakes: dict[str, FakeProvider]) -> dict[str, int]:
    return {name: fake.request_count for name, fake in fakes.items()}


async def test_a_file_id_that_404s_cools_no_deployment_and_the_caller_gets_the_typed_error() -> (
    None
):
    models = dict.fromkeys(("m1", "m2", "m3"), "mistral/mistral-ocr-latest")
    async with mistral_group(models, num_retries=3) as (fakes, router, _):
        for attempt in range(3):
            with pytest.raises(FileIdNotFoundError) as raised:
                await router.aocr("ocr", file_document(NEVER_UPLOADED))
            error = raised.value
            assert error.status_code == 404 and error.file_id == NEVER_UPLOADED
            assert f"File {NEVER_UPLOADED} not found" in error.message
            assert "retry after a moment" in error.message
            assert not error.retryable
            # One deployment was asked (the first call and its retries), no other one.
            assert sorted(calls(fakes).values()) == [0] * (2 - attempt) + [CALLS_PER_404] * (
                attempt + 1
            )
        assert all(fake.outcomes == {"file_not_found": CALLS_PER_404} for fake in fakes.values())
        assert {name: health.status for name, health in router.health().items()} == dict.fromkeys(
            models, "healthy"
        )
        # Every deployment still serves: nothing was cooled by the file's 404s.
        for _ in range(3):
            response = await router.aocr("ocr", make_pdf(1))
            assert response.pages
        assert all(fake.outcomes["ok"] == 1 for fake in fakes.values())


async def test_a_file_uploaded_to_the_files_api_is_served_by_every_deployment() -> None:
    models = dict.fromkeys(("m1", "m2"), "mistral/mistral-ocr-latest")
    async with mistral_group(models) as (fakes, router, base_url):
        async with Mistral(api_key=KEY, server_url=base_url) as client:
            uploaded = await client.files.upload_async(
                file={"file_name": "letter.pdf", "content": make_pdf(2)}, purpose="ocr"
            )
        served_by = set()
        for _ in range(4):
            response = await router.aocr("ocr", file_document(uploaded.id))
            assert response.usage_info.pages_processed == 2  # the uploaded PDF's pages
            assert response.call_info is not None
            served_by.add(response.call_info.deployment_id)
        assert served_by == set(models)
        ocr_outcomes = [r.outcome for fake in fakes.values() for r in fake.requests if r.json]
        assert ocr_outcomes == ["ok"] * 4


async def test_a_file_404ing_for_a_moment_after_its_upload_is_served_by_the_same_deployment() -> (
    None
):
    models = dict.fromkeys(("m1", "m2"), "mistral/mistral-ocr-latest")
    async with mistral_group(models) as (fakes, router, _):
        files = fakes["m1"].batch
        assert files is not None
        files.new_file_404s = len(FILE_ID_RETRY_DELAYS)  # visible on the last of the retries
        just_uploaded = files.add_file(make_pdf(1))
        response = await router.aocr("ocr", file_document(just_uploaded))
        assert response.call_info is not None
        served_by = response.call_info.deployment_id
        assert [attempt.deployment_id for attempt in response.call_info.attempts] == [served_by]
        assert fakes[served_by].outcomes == {
            "file_not_found": len(FILE_ID_RETRY_DELAYS),
            "ok": 1,
        }
        assert sum(calls(fakes).values()) == CALLS_PER_404  # the other deployment was not asked
        assert router.health()[served_by].status == "healthy"

        # Longer than the retries wait: the caller is told, and may retry after a moment.
        files.new_file_404s = CALLS_PER_404
        slow_to_appear = files.add_file(make_pdf(1))
        with pytest.raises(FileIdNotFoundError):
            await router.aocr("ocr", file_document(slow_to_appear))
        assert (await router.aocr("ocr", file_document(slow_to_appear))).pages
        assert {name: health.status for name, health in router.health().items()} == dict.fromkeys(
            models, "healthy"
        )


@pytest.mark.parametrize(
    ("broken_model", "path", "outcome"),
    [
        pytest.param("mistral/mistral-ocr-2505", "", "retired", id="retired-model"),
        # The same host under a path it has no route for: FastAPI's `{"detail": "Not Found"}`.
        pytest.param("mistral/mistral-ocr-latest", "/wrong", "not_found", id="wrong-route"),
    ],
)
async def test_a_404_naming_the_deployment_on_a_file_id_still_cools_it(
    broken_model: str, path: str, outcome: str
) -> None:
    models = {"broken": broken_model, "current": "mistral/mistral-ocr-2512"}
    async with mistral_group(models, paths={"broken": path}) as (fakes, router, _):
        files = fakes["current"].batch
        assert files is not None
        file_id = files.add_file(make_pdf(1))
        for _ in range(4):
            response = await router.aocr("ocr", file_document(file_id))
            assert response.call_info is not None
            assert response.call_info.deployment_id == "current"
        assert fakes["broken"].outcomes == {outcome: 1}  # asked once (no file retries)
        health = router.health()["broken"]
        assert health.status == "cooling" and health.reason == "NotFoundError 404"
        assert health.cooldown_until == FakeClock().now + LONG  # the clock never moved
        assert router.health()["current"].status == "healthy"


async def test_the_file_retries_stay_inside_the_calls_timeout() -> None:
    # 0.3 s leaves no room for the 0.5 s wait and another call: the caller gets the file's 404
    # at once, never a timeout (which would count against the deployment).
    models = {"m1": "mistral/mistral-ocr-latest"}
    async with mistral_group(models, timeout=0.3) as (fakes, router, _):
        with pytest.raises(FileIdNotFoundError):
            await router.aocr("ocr", file_document(NEVER_UPLOADED))
        assert fakes["m1"].outcomes == {"file_not_found": 1}


async def test_a_404_without_a_file_id_is_still_the_deployments() -> None:
    # The same answer to a request whose document is not a file: the deployment's endpoint.
    models = {"m1": "mistral/mistral-ocr-latest"}
    async with mistral_group(models, scripts={"m1": ["404"]}, num_retries=0) as (fakes, router, _):
        with pytest.raises(NotFoundError) as raised:
            await router.aocr("ocr", make_pdf(1))
        assert not isinstance(raised.value, FileIdNotFoundError)
        assert fakes["m1"].outcomes == {"404": 1}
        assert router.health()["m1"].status == "cooling"
