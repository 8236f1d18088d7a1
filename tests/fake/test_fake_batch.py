"""The fake Mistral's Files and Batch APIs, driven by the real `mistralai` SDK over HTTP."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import pytest
from mistralai.client import Mistral
from mistralai.client.errors import SDKError

from providers.fake import FakeProvider
from providers.samples import make_pdf

KEY = "fake-batch-key-5Rt2Yx"


def _lines(count: int) -> bytes:
    lines = []
    for number in range(count):
        uri = "data:application/pdf;base64," + base64.b64encode(make_pdf(number + 1)).decode()
        body = {"document": {"type": "document_url", "document_url": uri}}
        lines.append(json.dumps({"custom_id": f"doc-{number}", "body": body}))
    lines.append(json.dumps({"custom_id": "bad", "body": {"document": {}, "foo": 1}}))
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture
def served() -> Iterator[tuple[FakeProvider, Mistral]]:
    fake = FakeProvider("mistral", api_key=KEY)
    with fake.serve_in_thread() as url:
        yield fake, Mistral(api_key=KEY, server_url=url)


def test_a_job_goes_queued_running_success_with_output_and_error_files(
    served: tuple[FakeProvider, Mistral],
) -> None:
    fake, client = served
    assert fake.batch is not None
    fake.batch.lines_per_poll = 2
    uploaded = client.files.upload(
        file={"file_name": "requests.jsonl", "content": _lines(3)}, purpose="batch"
    )
    assert uploaded.purpose == "batch" and uploaded.num_lines == 4
    job = client.batch.jobs.create(
        input_files=[uploaded.id],
        endpoint="/v1/ocr",
        model="mistral-ocr-latest",
        metadata={"run": "t"},
    )
    assert job.status == "QUEUED" and job.total_requests == 4
    statuses = []
    for _ in range(5):
        job = client.batch.jobs.get(job_id=job.id)
        statuses.append((job.status, job.completed_requests))
        if job.status == "SUCCESS":
            break
    assert statuses == [("RUNNING", 0), ("RUNNING", 2), ("SUCCESS", 4)]
    assert job.succeeded_requests == 3 and job.failed_requests == 1
    assert isinstance(job.output_file, str) and isinstance(job.error_file, str)
    output = client.files.download(file_id=job.output_file).read().decode().splitlines()
    results = {line["custom_id"]: line for line in map(json.loads, output)}
    assert sorted(results) == ["doc-0", "doc-1", "doc-2"]
    pages = results["doc-2"]["response"]["body"]["usage_info"]["pages_processed"]
    assert results["doc-2"]["response"]["status_code"] == 200 and pages == 3
    errors = [
        json.loads(line)
        for line in client.files.download(file_id=job.error_file).read().decode().splitlines()
    ]
    assert [(e["custom_id"], e["response"]["status_code"]) for e in errors] == [("bad", 422)]


def test_faults_fail_lines_fail_jobs_cancel_jobs_and_refuse_unknown_ids(
    served: tuple[FakeProvider, Mistral],
) -> None:
    fake, client = served
    assert fake.batch is not None
    file_id = client.files.upload(
        file={"file_name": "r.jsonl", "content": _lines(2)}, purpose="batch"
    ).id
    fake.batch.line_faults = {"doc-1": 500}
    job = client.batch.jobs.create(input_files=[file_id], endpoint="/v1/ocr", model="m")
    client.batch.jobs.get(job_id=job.id)
    done = client.batch.jobs.get(job_id=job.id)
    assert (done.status, done.succeeded_requests, done.failed_requests) == ("SUCCESS", 1, 2)

    fake.batch.job_outcome = "FAILED"
    failed = client.batch.jobs.create(input_files=[file_id], endpoint="/v1/ocr", model="m")
    client.batch.jobs.get(job_id=failed.id)
    failed = client.batch.jobs.get(job_id=failed.id)
    assert failed.status == "FAILED" and failed.errors and failed.output_file is None

    fake.batch.job_outcome = None
    cancelled = client.batch.jobs.create(input_files=[file_id], endpoint="/v1/ocr", model="m")
    assert client.batch.jobs.cancel(job_id=cancelled.id).status == "CANCELLATION_REQUESTED"
    assert client.batch.jobs.get(job_id=cancelled.id).status == "CANCELLED"

    with pytest.raises(SDKError) as missing:
        client.batch.jobs.get(job_id="00000000-0000-0000-0000-000000000000")
    assert missing.value.status_code == 404
    with pytest.raises(SDKError) as unknown_file:
        client.batch.jobs.create(input_files=["nope"], endpoint="/v1/ocr", model="m")
    assert unknown_file.value.status_code == 404


def test_the_fault_plan_applies_to_batch_calls_and_a_wrong_key_is_refused() -> None:
    fake = FakeProvider("mistral", api_key=KEY, script=["503"])
    with fake.serve_in_thread() as url:
        client = Mistral(api_key=KEY, server_url=url)
        with pytest.raises(SDKError) as unavailable:
            client.batch.jobs.list()
        assert client.batch.jobs.list().total == 0
        with pytest.raises(SDKError) as refused:
            Mistral(api_key="wrong", server_url=url).batch.jobs.list()
    assert unavailable.value.status_code == 503 and refused.value.status_code == 401
    assert fake.outcomes["503"] == 1 and fake.outcomes["unauthorized"] == 1


def test_a_job_for_a_retired_model_fails_each_line_with_the_hosts_404(
    served: tuple[FakeProvider, Mistral],
) -> None:
    fake, client = served
    assert fake.batch is not None
    fake.batch.lines_per_poll = 10
    uploaded = client.files.upload(
        file={"file_name": "old.jsonl", "content": _lines(2)}, purpose="batch"
    )
    job = client.batch.jobs.create(
        input_files=[uploaded.id], endpoint="/v1/ocr", model="mistral-ocr-2505"
    )
    for _ in range(5):
        job = client.batch.jobs.get(job_id=job.id)
        if job.status not in ("QUEUED", "RUNNING"):
            break
    assert job.succeeded_requests == 0 and job.failed_requests == 3
    assert isinstance(job.error_file, str)
    errors = {
        line["custom_id"]: line["response"]
        for line in map(
            json.loads, client.files.download(file_id=job.error_file).read().decode().splitlines()
        )
    }
    # The two well-formed lines name a retired model; the malformed one is refused first (422).
    assert {name: answer["status_code"] for name, answer in errors.items()} == {
        "doc-0": 404,
        "doc-1": 404,
        "bad": 422,
    }
    assert errors["doc-0"]["body"]["message"] == "Invalid model: mistral-ocr-2505"


def test_ocr_of_a_file_id_answers_404_until_the_files_api_holds_it(
    served: tuple[FakeProvider, Mistral],
) -> None:
    fake, client = served
    assert fake.batch is not None
    never_uploaded = {"type": "file", "file_id": "0f8fad5b-d9cb-469f-a165-70867728950e"}
    with pytest.raises(SDKError) as unknown:
        client.ocr.process(model="mistral-ocr-latest", document=never_uploaded)  # type: ignore[arg-type]
    assert unknown.value.status_code == 404
    fake.batch.new_file_404s = 1  # a file just uploaded 404s for a moment (field report)
    uploaded = client.files.upload(
        file={"file_name": "letter.pdf", "content": make_pdf(3)}, purpose="ocr"
    )
    document = {"type": "file", "file_id": uploaded.id}
    with pytest.raises(SDKError) as not_yet:
        client.ocr.process(model="mistral-ocr-latest", document=document)  # type: ignore[arg-type]
    assert not_yet.value.status_code == 404
    response = client.ocr.process(model="mistral-ocr-latest", document=document)  # type: ignore[arg-type]
    assert response.pages
    ocr_outcomes = [r.outcome for r in fake.requests if r.path == "/v1/ocr"]
    assert ocr_outcomes == ["file_not_found", "file_not_found", "ok"]
