"""The seed's examples (LiteLLM's documented OCR calls), run unchanged against fake servers.

Only `api_base` differs from the documentation: it points at a fake speaking the provider's
dialect over a real socket on 127.0.0.1, so what is tested is exactly what a user types.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from api_samples import SAMPLE_PAGES, SECRET_KEY

from providers.fake import FakeProvider
from router.api import aocr, ocr
from router.pricing import price_for

ARXIV_URL = "https://arxiv.org/pdf/2201.04234"
# The fake cannot fetch a remote URL, so it assumes this many pages for one.
REMOTE_DOCUMENT_PAGES = 4


@pytest.fixture
def mistral_fake(monkeypatch: pytest.MonkeyPatch) -> FakeProvider:
    monkeypatch.setenv("MISTRAL_API_KEY", SECRET_KEY)
    return FakeProvider("mistral", api_key=SECRET_KEY, default_page_count=REMOTE_DOCUMENT_PAGES)


@pytest.fixture
def threaded_base_url(mistral_fake: FakeProvider) -> Iterator[str]:
    with mistral_fake.serve_in_thread() as base_url:
        yield base_url


@pytest.fixture
async def base_url(mistral_fake: FakeProvider) -> AsyncIterator[str]:
    async with mistral_fake.serve() as url:
        yield url


def test_seed_sync_example(
    threaded_base_url: str, mistral_fake: FakeProvider, capsys: pytest.CaptureFixture[str]
) -> None:
    base_url = threaded_base_url
    os.environ["MISTRAL_API_KEY"] = SECRET_KEY  # the seed's line; monkeypatch restores it

    response = ocr(
        model="mistral/mistral-ocr-latest",
        document={"type": "document_url", "document_url": "https://arxiv.org/pdf/2201.04234"},
        api_base=base_url,
    )
    for page in response.pages:
        print(f"Page {page.index}:")
        print(page.markdown)

    printed = capsys.readouterr().out
    headings = [line for line in printed.splitlines() if line.startswith("Page ")]
    assert headings == [f"Page {i}:" for i in range(REMOTE_DOCUMENT_PAGES)]
    assert all(page.markdown for page in response.pages)
    received = mistral_fake.requests[-1]
    assert received.path == "/v1/ocr"
    assert received.headers["authorization"] == f"Bearer {SECRET_KEY}"
    assert received.json == {
        "model": "mistral-ocr-latest",
        "document": {"type": "document_url", "document_url": ARXIV_URL},
    }


async def test_seed_async_example(base_url: str, mistral_fake: FakeProvider) -> None:
    response = await aocr(
        model="mistral/mistral-ocr-latest",
        document={"type": "document_url", "document_url": "https://arxiv.org/pdf/2201.04234"},
        api_base=base_url,
    )
    assert [page.index for page in response.pages] == list(range(REMOTE_DOCUMENT_PAGES))
    assert mistral_fake.request_count == 1


async def test_seed_base64_example(
    base_url: str, mistral_fake: FakeProvider, base64_pdf: str
) -> None:
    response = await aocr(
        model="mistral/mistral-ocr-latest",
        document={
            "type": "document_url",
            "document_url": f"data:application/pdf;base64,{base64_pdf}",
        },
        api_base=base_url,
    )
    # The fake reads the PDF itself, so the page count comes from the document sent.
    assert len(response.pages) == SAMPLE_PAGES
    assert response.usage_info.pages_processed == SAMPLE_PAGES
    assert mistral_fake.requests[-1].json["document"]["document_url"].endswith(base64_pdf)


async def test_seed_optional_parameters_example(base_url: str, mistral_fake: FakeProvider) -> None:
    response = await aocr(
        model="mistral/mistral-ocr-latest",
        document={"type": "document_url", "document_url": "https://arxiv.org/pdf/2201.04234"},
        api_base=base_url,
        pages=[0, 1, 2],
        include_image_base64=True,
        image_limit=10,
        image_min_size=100,
    )
    assert [page.index for page in response.pages] == [0, 1, 2]
    assert mistral_fake.requests[-1].json == {
        "model": "mistral-ocr-latest",
        "document": {"type": "document_url", "document_url": ARXIV_URL},
        "pages": [0, 1, 2],
        "include_image_base64": True,
        "image_limit": 10,
        "image_min_size": 100,
    }


async def test_seed_local_file_by_path(
    base_url: str, mistral_fake: FakeProvider, pdf_bytes: bytes, tmp_path: Path
) -> None:
    path = tmp_path / "document.pdf"
    path.write_bytes(pdf_bytes)
    response = await aocr(
        model="mistral/mistral-ocr-latest",
        document={"type": "file", "file": str(path)},
        api_base=base_url,
    )
    assert len(response.pages) == SAMPLE_PAGES
    sent = mistral_fake.requests[-1].json["document"]
    assert sent["type"] == "document_url"
    assert sent["document_url"].startswith("data:application/pdf;base64,")


async def test_seed_local_file_object(
    base_url: str, mistral_fake: FakeProvider, pdf_bytes: bytes, tmp_path: Path
) -> None:
    path = tmp_path / "document.pdf"
    path.write_bytes(pdf_bytes)
    with open(path, "rb") as file:  # noqa: ASYNC230  (the seed's own line)
        response = await aocr(
            model="mistral/mistral-ocr-latest",
            document={"type": "file", "file": file},
            api_base=base_url,
        )
    assert len(response.pages) == SAMPLE_PAGES


async def test_seed_local_bytes_with_mime_type(
    base_url: str, mistral_fake: FakeProvider, pdf_bytes: bytes
) -> None:
    response = await aocr(
        model="mistral/mistral-ocr-latest",
        document={"type": "file", "file": pdf_bytes, "mime_type": "application/pdf"},
        api_base=base_url,
    )
    assert len(response.pages) == SAMPLE_PAGES


async def test_seed_call_on_azure_ai_fake(base64_pdf: str) -> None:
    fake = FakeProvider("azure_ai", api_key=SECRET_KEY)
    async with fake.serve() as base_url:
        response = await aocr(
            model="azure_ai/mistral-document-ai-2512",
            document={
                "type": "document_url",
                "document_url": f"data:application/pdf;base64,{base64_pdf}",
            },
            api_base=base_url,
            api_key=SECRET_KEY,
            pages=[0, 2],
        )
    assert [page.index for page in response.pages] == [0, 2]
    assert fake.requests[-1].path == "/providers/mistral/azure/ocr"
    assert response.call_info is not None
    listed = price_for("azure_ai", "mistral-document-ai-2512")
    assert listed is not None
    assert response.call_info.cost_usd == pytest.approx(2 * listed.per_page)


async def test_seed_call_on_vertex_ai_fake(base64_pdf: str) -> None:
    fake = FakeProvider("vertex_ai", api_key=SECRET_KEY)
    async with fake.serve() as base_url:
        response = await aocr(
            model="vertex_ai/mistral-ocr-2505",
            document={
                "type": "document_url",
                "document_url": f"data:application/pdf;base64,{base64_pdf}",
            },
            api_base=base_url,
            vertex_project="demo-project",
            vertex_location="europe-west4",
            token=SECRET_KEY,
            include_image_base64=True,
        )
    assert len(response.pages) == SAMPLE_PAGES
    assert fake.requests[-1].path == (
        "/v1/projects/demo-project/locations/europe-west4"
        "/publishers/mistralai/models/mistral-ocr-2505:rawPredict"
    )
    assert fake.requests[-1].headers["authorization"] == f"Bearer {SECRET_KEY}"
    assert response.call_info is not None
    listed = price_for("vertex_ai", "mistral-ocr-2505")
    assert listed is not None
    assert response.call_info.cost_usd == pytest.approx(SAMPLE_PAGES * listed.per_page)


async def test_seed_sync_example_inside_a_running_loop(
    mistral_fake: FakeProvider, capsys: pytest.CaptureFixture[str]
) -> None:
    # As in a Jupyter cell: a loop is running in this thread, and the user calls the sync form.
    # The server runs on its own thread, since ocr() holds this loop until it returns.
    with mistral_fake.serve_in_thread() as base_url:
        response = ocr(
            model="mistral/mistral-ocr-latest",
            document={"type": "document_url", "document_url": "https://arxiv.org/pdf/2201.04234"},
            api_base=base_url,
        )
    for page in response.pages:
        print(f"Page {page.index}:")
        print(page.markdown)
    assert "Page 3:" in capsys.readouterr().out
    assert mistral_fake.request_count == 1
