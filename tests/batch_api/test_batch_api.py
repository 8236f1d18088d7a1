"""`router.batch_api`: batch jobs over a group's Mistral deployments, against fake Mistral servers
that speak the Files and Batch APIs over real HTTP."""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from mistralai.client import Mistral

from providers.fake import FakeProvider
from providers.samples import make_pdf
from router.batch_api import (
    BatchJobError,
    BatchProgress,
    MistralBatchClient,
    OCRBatch,
    resume_batch_ocr,
    run_batch_ocr,
)
from router.errors import (
    APIConnectionError,
    InvalidRequestError,
    NotFoundError,
    ServerError,
)
from router.router import Router

KEY = "batch-api-key-9Wd3Kp"
BATCH_PAGE = Decimal("0.002")  # mistral-ocr-latest through the Batch API (half of 0.004)


@contextlib.contextmanager
def served(*fakes: FakeProvider) -> Iterator[list[str]]:
    with contextlib.ExitStack() as stack:
        yield [stack.enter_context(fake.serve_in_thread()) for fake in fakes]


def mistral(url: str, name: str, key: str = KEY) -> dict[str, Any]:
    return {
        "model_name": "ocr",
        "model": "mistral/mistral-ocr-latest",
        "id": name,
        "api_base": url,
        "api_key": key,
    }


def documents(count: int) -> dict[str, bytes]:
    return {f"doc-{n}": make_pdf(n % 3 + 1, title=f"doc-{n}") for n in range(count)}


async def test_jobs_spread_over_mistral_keys_only_and_results_are_priced_at_the_batch_rate() -> (
    None
):
    a, b = FakeProvider("mistral", api_key=KEY), FakeProvider("mistral", api_key=KEY)
    azure = FakeProvider("azure_ai", api_key=KEY)
    seen: list[BatchProgress] = []
    with served(a, b, azure) as (url_a, url_b, url_azure):
        entries = [
            mistral(url_a, "a"),
            mistral(url_b, "b"),
            {
                "model_name": "ocr",
                "model": "azure_ai/mistral-document-ai-2512",
                "api_base": url_azure,
                "api_key": KEY,
            },
        ]
        async with Router(entries) as router:
            outcomes = await run_batch_ocr(
                router, "ocr", documents(6), poll_interval=0, on_progress=seen.append
            )
            costs = router.costs()
    assert sorted(outcomes) == [f"doc-{n}" for n in range(6)]
    assert all(o.response is not None and o.error is None for o in outcomes.values())
    assert a.batch is not None and b.batch is not None
    assert [len(job.lines) for job in a.batch.jobs.values()] == [3]
    assert [len(job.lines) for job in b.batch.jobs.values()] == [3]
    assert azure.request_count == 0  # Azure has no Batch API
    pages = sum(o.response.usage_info.pages_processed for o in outcomes.values() if o.response)
    assert pages == 12
    info = outcomes["doc-5"].response.call_info  # type: ignore[union-attr]
    assert info is not None and info.batch_job_id in b.batch.jobs and info.deployment_id == "b"
    assert info.cost_usd == pytest.approx(float(BATCH_PAGE * 3))
    assert costs.batch.pages == 12 and costs.batch.usd_exact == BATCH_PAGE * 12
    assert costs.total.usd_exact == BATCH_PAGE * 12  # paid, at half price
    assert {p.status for p in seen} >= {"RUNNING", "SUCCESS"}


async def test_failed_lines_are_named_with_their_status_and_reason() -> None:
    fake = FakeProvider("mistral", api_key=KEY)
    assert fake.batch is not None
    fake.batch.line_faults = {"doc-1": 500}
    with served(fake) as (url,):
        async with Router([mistral(url, "a")]) as router:
            outcomes = await run_batch_ocr(router, "ocr", documents(3), poll_interval=0)
            assert router.costs().batch.requests == 2
    assert outcomes["doc-0"].response is not None and outcomes["doc-2"].response is not None
    failed = outcomes["doc-1"]
    assert failed.response is None and failed.status_code == 500
    assert failed.error is not None and failed.error.startswith("500:")


async def test_a_bad_request_is_refused_before_anything_is_uploaded() -> None:
    fake = FakeProvider("mistral", api_key=KEY)
    with served(fake) as (url,):
        async with Router([mistral(url, "a")]) as router:
            with pytest.raises(InvalidRequestError, match="image_limit"):
                await run_batch_ocr(router, "ocr", documents(2), poll_interval=0, image_limit=-1)
    assert fake.request_count == 0


async def test_a_job_made_by_hand_with_the_sdk_is_resumed_from_its_id() -> None:
    fake = FakeProvider("mistral", api_key=KEY)
    with served(fake) as (url,):
        client = Mistral(api_key=KEY, server_url=url)
        lines = []
        for custom_id, pdf in documents(2).items():
            uri = "data:application/pdf;base64," + base64.b64encode(pdf).decode()
            body = {"document": {"type": "document_url", "document_url": uri}}
            lines.append(json.dumps({"custom_id": custom_id, "body": body}))
        uploaded = client.files.upload(
            file={"file_name": "mine.jsonl", "content": "\n".join(lines).encode()},
            purpose="batch",
        )
        job = client.batch.jobs.create(
            input_files=[uploaded.id], endpoint="/v1/ocr", model="mistral-ocr-latest"
        )
        async with Router([mistral(url, "a")]) as router:
            outcomes = await resume_batch_ocr(router, "ocr", [job.id], poll_interval=0)
            assert router.costs().batch.pages == 3
    assert sorted(outcomes) == ["doc-0", "doc-1"]
    assert all(o.response is not None for o in outcomes.values())


async def test_resume_finds_the_deployment_that_holds_the_job_and_names_what_is_missing() -> None:
    a, b = FakeProvider("mistral", api_key=KEY), FakeProvider("mistral", api_key=KEY)
    with served(a, b) as (url_a, url_b):
        entries = [mistral(url_a, "a"), mistral(url_b, "b")]
        async with Router(entries) as router, OCRBatch(router, "ocr", poll_interval=0) as batch:
            refs = await batch.submit(documents(2))
        ids = [ref.job_id for ref in refs]
        async with Router(entries) as later, OCRBatch(later, "ocr", poll_interval=0) as batch:
            found = [await batch.find(job_id) for job_id in ids]
            await batch.wait(found)
            outcomes = [o async for o in batch.results(found, expected=["doc-0", "doc-9"])]
            with pytest.raises(NotFoundError, match="knows batch job"):
                await batch.find("00000000-0000-0000-0000-000000000000")
    assert [ref.deployment_id for ref in found] == ["a", "b"]
    assert [(o.custom_id, o.response is not None) for o in outcomes] == [
        ("doc-0", True),
        ("doc-1", True),
        ("doc-9", False),
    ]


@pytest.mark.parametrize(
    ("outcome", "succeeded"), [("FAILED", 0), ("TIMEOUT_EXCEEDED", 2)], ids=["failed", "timeout"]
)
async def test_documents_a_job_never_ran_are_failures_saying_how_it_ended(
    outcome: str, succeeded: int
) -> None:
    fake = FakeProvider("mistral", api_key=KEY)
    assert fake.batch is not None
    fake.batch.job_outcome = outcome
    with served(fake) as (url,):
        async with Router([mistral(url, "a")]) as router:
            outcomes = await run_batch_ocr(router, "ocr", documents(4), poll_interval=0)
    assert sum(o.response is not None for o in outcomes.values()) == succeeded
    errors = [o.error for o in outcomes.values() if o.response is None]
    assert len(errors) == 4 - succeeded
    assert all(e is not None and f"the job ended {outcome}" in e for e in errors)


async def test_failed_polls_are_retried_and_too_many_in_a_row_end_the_wait() -> None:
    # Calls: upload, create, then looks at the job.
    flaky = FakeProvider("mistral", api_key=KEY, script=["ok", "ok", "503", "429:0", "ok"])
    down = FakeProvider("mistral", api_key=KEY, script=["ok", "ok", *["503"] * 5])
    with served(flaky, down) as (url_flaky, url_down):
        async with Router([mistral(url_flaky, "a")]) as router:
            outcomes = await run_batch_ocr(router, "ocr", documents(1), poll_interval=0)
        async with Router([mistral(url_down, "a")]) as router:
            with pytest.raises(ServerError):
                await run_batch_ocr(router, "ocr", documents(1), poll_interval=0)
    assert outcomes["doc-0"].response is not None
    assert down.outcomes["503"] == 5


async def test_a_deployment_that_refuses_hands_its_share_to_the_next() -> None:
    good = FakeProvider("mistral", api_key=KEY)
    with served(good) as (url,):
        entries = [mistral(url, "wrong-key", key="wrong-key-123"), mistral(url, "right")]
        async with Router(entries) as router:
            outcomes = await run_batch_ocr(router, "ocr", documents(4), poll_interval=0)
        async with Router([mistral(url, "only-wrong", key="wrong-key-123")]) as router:
            with pytest.raises(BatchJobError) as refused:
                await run_batch_ocr(router, "ocr", documents(1), poll_interval=0)
    assert all(o.response is not None for o in outcomes.values())
    assert good.batch is not None and len(good.batch.jobs) == 2  # both shares, on "right"
    assert all(o.response.call_info.deployment_id == "right" for o in outcomes.values())  # type: ignore[union-attr]
    assert "AuthenticationError (401)" in str(refused.value)
    assert "wrong-key-123" not in str(refused.value)


async def test_a_host_that_cannot_be_reached_is_a_typed_error_naming_the_deployment(
    tmp_path: Path,
) -> None:
    # Port 9 on loopback: nothing listens, every call and the streamed download are refused.
    entry = mistral("http://127.0.0.1:9", "unreachable")
    async with Router([entry]) as router, httpx.AsyncClient() as client:
        batches = MistralBatchClient(router.deployments("ocr")[0], client)
        with pytest.raises(APIConnectionError) as polled:
            await batches.job("job-1")
        with pytest.raises(APIConnectionError) as downloaded:
            await batches.download("file-1", tmp_path / "out.jsonl")
    for error in (polled.value, downloaded.value):
        assert error.deployment_id == "unreachable"
        assert KEY not in str(error)
    assert not (tmp_path / "out.jsonl").exists()


def test_a_group_without_mistral_deployments_cannot_batch() -> None:
    entry = {
        "model_name": "ocr",
        "model": "azure_ai/mistral-document-ai-2512",
        "api_base": "https://x.services.ai.azure.com",
        "api_key": KEY,
    }
    router = Router([entry])
    with pytest.raises(InvalidRequestError, match="no Mistral deployment"):
        OCRBatch(router, "ocr")
    router.close()


async def test_metrics_show_batch_pages_and_their_price_apart() -> None:
    from prometheus_client.parser import text_string_to_metric_families

    from router.proxy.metrics import ProxyMetrics

    fake = FakeProvider("mistral", api_key=KEY)
    with served(fake) as (url,):
        async with Router([mistral(url, "a")]) as router:
            metrics = ProxyMetrics(router.health, router.costs)
            await run_batch_ocr(router, "ocr", documents(2), poll_interval=0)
            text = metrics.render().decode()
    samples = {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
    assert samples["ocr_router_batch_pages_total"] == 3
    assert samples["ocr_router_batch_cost_usd_total"] == pytest.approx(0.006)


async def test_with_a_result_cache_a_second_batch_sends_nothing_and_calls_hit_its_answers() -> None:
    fake = FakeProvider("mistral", api_key=KEY)
    with served(fake) as (url,):
        async with Router([mistral(url, "a")], cache="memory") as router:
            first = await run_batch_ocr(router, "ocr", documents(3), poll_interval=0)
            second = await run_batch_ocr(router, "ocr", documents(3), poll_interval=0)
            call = await router.aocr("ocr", documents(3)["doc-2"])
            costs = router.costs()
    assert fake.batch is not None and len(fake.batch.jobs) == 1  # the second batch sent nothing
    assert all(o.response is not None for o in second.values())
    info = second["doc-1"].response.call_info  # type: ignore[union-attr]
    assert info is not None and info.cached and info.cost_usd == 0.0
    assert info.saved_usd == pytest.approx(float(BATCH_PAGE * 2))  # what the batch paid
    assert second["doc-1"].response.to_wire() == first["doc-1"].response.to_wire()  # type: ignore[union-attr]
    assert call.call_info is not None and call.call_info.cached
    assert not [r for r in fake.requests if r.path == "/v1/ocr"]  # the call was a hit too
    assert costs.batch.pages == 6 and costs.cached.pages == 6 + 3
