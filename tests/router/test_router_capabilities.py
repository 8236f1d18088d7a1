"""Routing by capability: a deployment is a candidate only if it can take the request, and a
refusal that belongs to one deployment moves the request to another at no retry's cost."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest
from router_helpers import KEY, HostTransport, fleet

from providers.fake import FakeProvider
from providers.samples import make_pdf
from router import NoDeploymentAvailableError, Router
from router.errors import InvalidRequestError, UnprocessableEntityError

FILE_ID = "3b6a0e2c-6f1e-4c1b-9a55-2f7d8a1b0c9e"
STRICT_SCHEMA = {
    "type": "json_schema",
    "json_schema": {"name": "doc", "schema": {"type": "object"}, "strict": True},
}


class NothingElseListens(httpx.AsyncBaseTransport):
    """The fakes' transport; any other host refuses the connection."""

    def __init__(self, fakes: HostTransport) -> None:
        self._fakes = fakes

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not request.url.host.endswith(".fake"):
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
        return await self._fakes.handle_async_request(request)


def pdf_uri(pages: int) -> dict[str, str]:
    data = base64.b64encode(make_pdf(pages)).decode()
    return {"type": "document_url", "document_url": f"data:application/pdf;base64,{data}"}


def mixed(**azure_options: Any) -> tuple[dict[str, FakeProvider], list[dict[str, Any]], Any]:
    fakes = {
        "azure": FakeProvider("azure_ai", api_key=KEY),
        "vertex": FakeProvider("vertex_ai", api_key=KEY),
        "mistral": FakeProvider("mistral", api_key=KEY),
    }
    entries, transport = fleet(fakes, azure=azure_options)
    return fakes, entries, transport


async def test_a_45_page_pdf_goes_only_to_the_deployment_that_takes_45_pages() -> None:
    fakes, entries, transport = mixed()
    document = pdf_uri(45)
    async with Router(entries, transport=transport, num_retries=0, seed=3) as router:
        for _ in range(6):  # some draws fall on Azure or Vertex first
            response = await router.aocr("ocr", document)
            assert response.call_info is not None
            assert response.call_info.deployment_id == "mistral"
            assert response.usage_info.pages_processed == 45
    assert fakes["azure"].request_count == fakes["vertex"].request_count == 0


async def test_a_45_page_request_within_a_hosts_limit_by_pages_goes_anywhere() -> None:
    fakes, entries, transport = mixed()
    document = pdf_uri(45)
    async with Router(entries, transport=transport, seed=3) as router:
        for _ in range(9):
            await router.aocr("ocr", document, pages=list(range(10)))
    assert all(fake.outcomes == {"ok": fake.request_count} for fake in fakes.values())
    assert fakes["azure"].request_count and fakes["vertex"].request_count


async def test_a_file_id_goes_to_mistral_and_newer_fields_to_a_model_that_takes_them() -> None:
    fakes, entries, transport = mixed(model="azure_ai/mistral-document-ai-2512")
    fakes["mistral"].add_file(make_pdf(1), file_id=FILE_ID)  # uploaded to Mistral's Files API
    async with Router(entries, transport=transport, num_retries=0, seed=5) as router:
        for _ in range(4):
            by_file = await router.aocr("ocr", {"type": "file", "file_id": FILE_ID})
            assert by_file.call_info is not None and by_file.call_info.deployment_id == "mistral"
            tables = await router.aocr("ocr", pdf_uri(2), table_format="html")
            assert tables.call_info is not None and tables.call_info.deployment_id == "mistral"
    assert fakes["azure"].request_count == fakes["vertex"].request_count == 0


async def test_a_body_over_vertexs_10_mb_goes_elsewhere() -> None:
    fakes = {
        "vertex": FakeProvider("vertex_ai", api_key=KEY),
        "azure": FakeProvider("azure_ai", api_key=KEY),
    }
    entries, transport = fleet(fakes)
    data = base64.b64encode(make_pdf(2, image_bytes=4 * 1024 * 1024)).decode()  # a 10.7 MB body
    document = {"type": "document_url", "document_url": f"data:application/pdf;base64,{data}"}
    async with Router(entries, transport=transport, num_retries=0, seed=1) as router:
        for _ in range(3):
            response = await router.aocr("ocr", document)
            assert response.call_info is not None and response.call_info.deployment_id == "azure"
    assert fakes["vertex"].request_count == 0


async def test_when_no_deployment_can_take_it_nothing_is_sent_and_each_says_why() -> None:
    fakes = {
        "azure": FakeProvider("azure_ai", api_key=KEY),
        "vertex": FakeProvider("vertex_ai", api_key=KEY),
    }
    entries, transport = fleet(fakes)
    async with Router(entries, transport=transport) as router:
        with pytest.raises(InvalidRequestError) as file_id:
            await router.aocr("ocr", {"type": "file", "file_id": FILE_ID})
        assert fakes["azure"].request_count == fakes["vertex"].request_count == 0
        # Changed with sharding (issue 12): a 45-page PDF no deployment takes whole used to be
        # refused here; it is now cut into sub-PDFs each deployment can take, and served.
        long_document = await router.aocr("ocr", pdf_uri(45))
    assert [page.index for page in long_document.pages] == list(range(45))
    assert long_document.call_info is not None
    assert [shard.page_range for shard in long_document.call_info.shards] == ["0-29", "30-44"]
    message = str(file_id.value)
    assert "azure, vertex: takes no file_id documents" in message
    assert [item["loc"] for item in file_id.value.errors] == [
        ["deployment", "azure"],
        ["deployment", "vertex"],
    ]


async def test_a_hosts_field_refusal_moves_the_request_without_cooling_or_a_retry() -> None:
    # The table says Azure's OCR 4.0 takes table_format; this deployment refuses it anyway.
    fakes = {
        "azure": FakeProvider("azure_ai", api_key=KEY, strict_new_fields=True),
        "mistral": FakeProvider("mistral", api_key=KEY),
    }
    entries, transport = fleet(fakes, mistral={"priority": 1})  # Azure is always drawn first
    async with Router(entries, transport=transport, num_retries=0) as router:
        response = await router.aocr("ocr", pdf_uri(2), table_format="html")
        health = router.health()
        plain = await router.aocr("ocr", pdf_uri(2))
    assert response.call_info is not None
    assert response.call_info.deployment_id == "mistral"
    assert [a.deployment_id for a in response.call_info.attempts] == ["azure", "mistral"]
    assert health["azure"].status == "healthy" and health["azure"].consecutive_failures == 0
    assert plain.call_info is not None and plain.call_info.deployment_id == "azure"
    assert fakes["azure"].outcomes == {"invalid": 1, "ok": 1}


async def test_when_every_deployment_refuses_the_hosts_error_is_raised_once() -> None:
    fakes = {
        "a": FakeProvider("azure_ai", api_key=KEY, strict_new_fields=True),
        "b": FakeProvider("azure_ai", api_key=KEY, strict_new_fields=True),
    }
    entries, transport = fleet(fakes)
    async with Router(entries, transport=transport, num_retries=3) as router:
        with pytest.raises(UnprocessableEntityError) as refused:
            await router.aocr("ocr", pdf_uri(1), include_blocks=True)
    assert fakes["a"].request_count == fakes["b"].request_count == 1
    assert "no other deployment of ocr can take it" in str(refused.value)


async def test_a_remote_document_an_inlining_host_cannot_fetch_goes_to_mistral() -> None:
    fakes = {
        "azure": FakeProvider("azure_ai", api_key=KEY),
        "mistral": FakeProvider("mistral", api_key=KEY),
    }
    # Azure downloads it itself and finds nothing listening; Mistral fetches URLs on its side.
    entries, fakes_transport = fleet(
        fakes, azure={"allow_private_document_urls": True}, mistral={"priority": 1}
    )
    transport = NothingElseListens(fakes_transport)
    unreachable = {"type": "document_url", "document_url": "http://127.0.0.1:9/report.pdf"}
    async with Router(entries, transport=transport, num_retries=0) as router:
        response = await router.aocr("ocr", unreachable)
        health = router.health()
    assert response.call_info is not None and response.call_info.deployment_id == "mistral"
    assert health["azure"].status == "healthy" and health["azure"].consecutive_failures == 0
    assert fakes["azure"].request_count == 0


async def test_azure_annotated_pages_are_priced_counted_and_budgeted() -> None:
    fakes = {"azure": FakeProvider("azure_ai", api_key=KEY)}
    entries, transport = fleet(fakes, azure={"pages_per_minute": 4})
    budget = {"scope": "deployment", "name": "azure", "max_usd": 0.01, "period": "day"}
    async with Router(entries, transport=transport, budgets=[budget], timeout=5) as router:
        response = await router.aocr("ocr", pdf_uri(3), document_annotation_format=STRICT_SCHEMA)
        usage = response.usage_info
        assert (usage.pages_processed, usage.pages_processed_annotation) == (0, 3)
        assert response.model_extra is not None
        assert "content_filter_results" in response.model_extra
        assert response.call_info is not None
        assert response.call_info.pages == 3
        assert response.call_info.cost_usd == pytest.approx(3 * 0.005)  # OCR 4.0's annotated
        costs = router.costs()
        assert costs.deployments["azure"].pages == 3
        assert router.deployments()[0].info.price_per_annotated_page == 0.005
        # 0.015 USD spent of a 0.01 budget: the deployment is out of selection.
        with pytest.raises(NoDeploymentAvailableError, match="over budget"):
            await router.aocr("ocr", pdf_uri(1), timeout=0.5)
