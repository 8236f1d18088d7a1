"""Router.aocr shards long PDFs across deployments (router/sharding.py) and merges the answers."""

from __future__ import annotations

import base64
import builtins
import contextlib
import io
import zipfile
from collections.abc import AsyncIterator
from typing import Any

import pytest
from loopback_site import serving
from router_helpers import fleet

from providers.fake import FakeProvider
from providers.samples import make_pdf, make_png
from router import Router
from router import sharding as sharding_module
from router.errors import InvalidRequestError, MissingExtraError, ServerError
from router.pdf import count_pages
from router.types import OCRResponse

THIRTY = {"max_pages_per_request": 30}


def upstream_pages(fake: FakeProvider) -> list[int]:
    """The page count of each PDF the fake received."""
    counts = []
    for received in fake.requests:
        uri = received.json["document"]["document_url"]
        counts.append(count_pages(base64.b64decode(uri.split(",", 1)[1])))
    return counts


def assert_whole_document(response: OCRResponse, pages: int, title: str = "Sample") -> None:
    assert [page.index for page in response.pages] == list(range(pages))
    for page in response.pages:
        # Page k of the answer is page k of the document: the fakes read each page's content.
        assert f"The page shows: {title} Page {page.index + 1} of {pages}" in page.markdown


def thirty_page_fleet() -> tuple[dict[str, FakeProvider], list[dict[str, Any]], Any]:
    fakes = {
        "az1": FakeProvider("azure_ai", latency=0.002),
        "az2": FakeProvider("azure_ai", latency=0.002),
        "vx": FakeProvider("vertex_ai", latency=0.002),
    }
    entries, transport = fleet(fakes, az1=THIRTY, az2=THIRTY, vx=THIRTY)
    return fakes, entries, transport


async def test_a_pdf_over_every_limit_is_sharded_to_fit() -> None:
    """100 pages over a group whose deployments take 30: served, each request 30 pages or
    fewer, pages 0-99 in order."""
    fakes, entries, transport = thirty_page_fleet()
    document = make_pdf(100)
    async with Router(entries, transport=transport, seed=1) as router:
        response = await router.aocr("ocr", document)
        report = router.costs()
    assert_whole_document(response, 100)
    sent = [count for fake in fakes.values() for count in upstream_pages(fake)]
    assert sorted(sent) == [10, 30, 30, 30]
    assert response.usage_info.pages_processed == 100
    assert response.usage_info.doc_size_bytes == len(document)
    info = response.call_info
    assert info is not None
    assert [shard.page_range for shard in info.shards] == ["0-29", "30-59", "60-89", "90-99"]
    assert {shard.deployment_id for shard in info.shards} <= set(fakes)
    assert info.cost_usd == pytest.approx(report.total.usd)
    assert info.cost_usd == pytest.approx(sum(shard.cost_usd or 0 for shard in info.shards))
    assert info.pages == 100 and info.missing == ()
    assert report.total.requests == 4 and report.total.pages == 100


async def test_shards_spread_over_the_deployments() -> None:
    fakes, entries, transport = thirty_page_fleet()
    async with Router(entries, transport=transport, seed=3) as router:
        response = await router.aocr("ocr", make_pdf(90), shard_pages=5)
    assert_whole_document(response, 90)
    assert all(fake.request_count > 0 for fake in fakes.values())
    assert sum(transport.most_in_flight.values()) > 3  # shards ran at once


async def test_shard_pages_setting_keyword_and_none() -> None:
    fake = FakeProvider("mistral")
    entries, transport = fleet({"m": fake})
    async with Router(entries, transport=transport, shard_pages=10) as router:
        response = await router.aocr("ocr", make_pdf(25))
        assert upstream_pages(fake) == [10, 10, 5]
        assert_whole_document(response, 25)
        fake.reset()
        await router.aocr("ocr", make_pdf(25), shard_pages=20)
        assert sorted(upstream_pages(fake)) == [5, 20]
        fake.reset()
        # None: opt-in sharding off; the document fits Mistral whole.
        unsharded = await router.aocr("ocr", make_pdf(25), shard_pages=None)
        assert upstream_pages(fake) == [25]
        assert unsharded.call_info is not None and unsharded.call_info.shards == ()
        fake.reset()
        await router.aocr("ocr", make_pdf(10))  # not longer than shard_pages
        assert upstream_pages(fake) == [10]


async def test_sharding_to_fit_stays_when_shard_pages_is_none() -> None:
    fakes, entries, transport = thirty_page_fleet()
    async with Router(entries, transport=transport) as router:
        response = await router.aocr("ocr", make_pdf(40), shard_pages=None)
    assert_whole_document(response, 40)
    assert sorted(c for f in fakes.values() for c in upstream_pages(f)) == [10, 30]


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "10"])
async def test_a_wrong_shard_pages_is_refused(bad: Any) -> None:
    entries, transport = fleet({"m": FakeProvider("mistral")})
    async with Router(entries, transport=transport) as router:
        with pytest.raises(InvalidRequestError, match="shard_pages"):
            await router.aocr("ocr", make_pdf(2), shard_pages=bad)


async def test_pages_are_selected_before_sharding() -> None:
    fake = FakeProvider("mistral")
    entries, transport = fleet({"m": fake})
    async with Router(entries, transport=transport) as router:
        response = await router.aocr("ocr", make_pdf(50), pages="40,3,5-7", shard_pages=2)
    assert sorted(upstream_pages(fake)) == [1, 2, 2]  # only the pages asked for were cut out
    assert all("pages" not in received.json for received in fake.requests)
    assert [page.index for page in response.pages] == [3, 5, 6, 7, 40]
    for page in response.pages:
        assert f"Page {page.index + 1} of 50" in page.markdown
    assert response.usage_info.pages_processed == 5


async def test_pages_past_the_end_when_sharding() -> None:
    entries, transport = fleet({"m": FakeProvider("mistral")})
    async with Router(entries, transport=transport) as router:
        response = await router.aocr("ocr", make_pdf(5), pages=[3, 4, 9], shard_pages=1)
        assert [page.index for page in response.pages] == [3, 4]  # as the service answers
        with pytest.raises(InvalidRequestError, match="out of range"):
            await router.aocr("ocr", make_pdf(5), pages=[7, 9], shard_pages=1)


async def test_a_failed_shard_is_retried_alone_and_the_rest_is_kept() -> None:
    failing = FakeProvider("azure_ai", script=["500"])  # its first request fails
    fakes = {"bad": failing, "good": FakeProvider("azure_ai")}
    entries, transport = fleet(fakes, bad=THIRTY, good=THIRTY)
    async with Router(entries, transport=transport, seed=2) as router:
        response = await router.aocr("ocr", make_pdf(60), shard_pages=10)
    assert_whole_document(response, 60)
    assert failing.outcomes["500"] == 1
    assert sum(fake.request_count for fake in fakes.values()) == 6 + 1  # one shard sent twice
    info = response.call_info
    assert info is not None
    retried = [shard for shard in info.shards if len(shard.attempts) == 2]
    assert len(retried) == 1
    assert retried[0].attempts[0].deployment_id == "bad"
    assert retried[0].attempts[0].error is not None
    assert retried[0].deployment_id == "good"


def one_shard_failing_fleet() -> tuple[list[dict[str, Any]], Any]:
    # The second shard sent fails; with num_retries=0 it has no other try.
    return fleet({"m": FakeProvider("mistral", script=["ok", "500", "ok"])})


async def test_a_shard_failing_after_its_retries_fails_the_request_naming_its_pages() -> None:
    entries, transport = one_shard_failing_fleet()
    async with Router(entries, transport=transport, num_retries=0) as router:
        with pytest.raises(ServerError, match=r"the shard of pages \d+-\d+ failed") as raised:
            await router.aocr("ocr", make_pdf(30), shard_pages=10)
    assert raised.value.status_code == 500


async def test_partial_returns_the_pages_that_succeeded_and_names_the_missing() -> None:
    entries, transport = one_shard_failing_fleet()
    async with Router(entries, transport=transport, num_retries=0) as router:
        response = await router.aocr("ocr", make_pdf(30), shard_pages=10, partial=True)
    info = response.call_info
    assert info is not None
    assert len(info.missing) == 1
    missing = info.missing[0]
    assert missing.error is not None and "ServerError" in missing.error
    assert len(missing.attempts) == 1 and missing.attempts[0].deployment_id == "m"
    served = [page.index for page in response.pages]
    assert served == [index for index in range(30) if index not in missing.pages]
    assert len(served) == 20 and response.usage_info.pages_processed == 20


async def test_at_most_a_bounded_number_of_shards_in_flight(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sharding_module, "MAX_SHARDS_IN_FLIGHT", 2)
    fakes = {name: FakeProvider("mistral", latency=0.005) for name in ("a", "b", "c")}
    entries, transport = fleet(fakes)
    async with Router(entries, transport=transport) as router:
        response = await router.aocr("ocr", make_pdf(40), shard_pages=4)
    assert_whole_document(response, 40)
    assert sum(transport.most_in_flight.values()) <= 2 * len(fakes)
    assert max(transport.most_in_flight.values()) <= 2


async def test_images_are_never_sharded() -> None:
    fake = FakeProvider("mistral")
    entries, transport = fleet({"m": fake})
    async with Router(entries, transport=transport, shard_pages=1) as router:
        response = await router.aocr("ocr", make_png())
    assert fake.request_count == 1 and len(response.pages) == 1


async def test_document_annotation_is_refused_when_the_document_does_not_fit() -> None:
    fakes, entries, transport = thirty_page_fleet()
    annotation = {"type": "json_schema", "json_schema": {"name": "doc", "schema": {}}}
    async with Router(entries, transport=transport, shard_pages=5) as router:
        with pytest.raises(InvalidRequestError, match="needs the whole document"):
            await router.aocr("ocr", make_pdf(31), document_annotation_format=annotation)
        # Opt-in sharding does not apply: the document goes whole where it fits.
        await router.aocr("ocr", make_pdf(12), document_annotation_format=annotation)
    assert sorted(c for f in fakes.values() for c in upstream_pages(f)) == [12]


async def test_without_the_pdf_extra_the_error_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def no_pypdf_for_the_router(name: str, globals: Any = None, *args: Any, **kwargs: Any) -> Any:
        # Only the router's import fails: the fakes, in this process, still read PDFs.
        if name == "pypdf" and (globals or {}).get("__name__") == "router.pdf":
            raise ImportError("No module named 'pypdf'")
        return real_import(name, globals, *args, **kwargs)

    fakes, entries, transport = thirty_page_fleet()
    monkeypatch.setattr(builtins, "__import__", no_pypdf_for_the_router)
    async with Router(entries, transport=transport) as router:
        # Over every deployment's 30 pages (counted without pypdf): it must be sharded.
        with pytest.raises(MissingExtraError, match=r"ocr-router\[pdf\]"):
            await router.aocr("ocr", make_pdf(40))
        with pytest.raises(MissingExtraError, match=r"ocr-router\[pdf\]"):
            await router.aocr("ocr", make_pdf(12), shard_pages=10)
        # A document that fits, sharding not asked for: served as before, without the extra.
        await router.aocr("ocr", make_pdf(3))
    assert sum(fake.request_count for fake in fakes.values()) == 1


def test_the_sync_api_shards_too() -> None:
    fake = FakeProvider("mistral")
    entries, transport = fleet({"m": fake})
    with Router(entries, transport=transport) as router:
        response = router.ocr("ocr", make_pdf(12), shard_pages=5)
    assert_whole_document(response, 12)
    assert upstream_pages(fake) == [5, 5, 2]


@contextlib.asynccontextmanager
async def serving_document(content: bytes) -> AsyncIterator[tuple[str, list[int]]]:
    """An HTTP server on 127.0.0.1 answering GET /long.pdf; yields its URL and a hit counter."""
    from aiohttp import web

    hits: list[int] = []

    async def document(_: web.Request) -> web.Response:
        hits.append(1)
        return web.Response(body=content, content_type="application/pdf")

    app = web.Application()
    app.router.add_get("/long.pdf", document)
    async with serving(app) as base:
        yield f"{base}/long.pdf", hits


async def test_a_remote_pdf_that_must_be_sharded_is_downloaded_once(fake_server: Any) -> None:
    fakes = [FakeProvider("azure_ai", api_key="k"), FakeProvider("azure_ai", api_key="k")]
    entries = [
        {
            "model_name": "ocr",
            "model": "azure_ai/mistral-document-ai-2512",
            "id": f"az{number}",
            "api_base": await fake_server(fake),
            "api_key": "k",
            "allow_private_document_urls": True,  # the document is served on 127.0.0.1
            **THIRTY,
        }
        for number, fake in enumerate(fakes)
    ]
    async with serving_document(make_pdf(70)) as (url, hits), Router(entries) as router:
        response = await router.aocr("ocr", url)
    assert hits == [1]  # once for the request, not once per shard or attempt
    assert_whole_document(response, 70)
    assert sorted(c for fake in fakes for c in upstream_pages(fake)) == [10, 30, 30]
    assert response.usage_info.doc_size_bytes == len(make_pdf(70))


async def test_a_remote_url_a_mistral_deployment_fetches_is_passed_through() -> None:
    fake = FakeProvider("mistral", default_page_count=3)
    entries, transport = fleet({"m": fake})
    async with Router(entries, transport=transport, shard_pages=1) as router:
        response = await router.aocr("ocr", "https://example.com/long.pdf")
    assert fake.requests[0].json["document"]["document_url"] == "https://example.com/long.pdf"
    assert len(response.pages) == 3 and response.call_info is not None
    assert response.call_info.shards == ()


async def test_shards_are_cached_one_by_one_so_a_retry_pays_only_for_what_failed() -> None:
    fake = FakeProvider("mistral", script=["ok", "500", "ok"])  # the second shard fails
    entries, transport = fleet({"m": fake})
    document = make_pdf(30)
    async with Router(entries, transport=transport, num_retries=0, cache="memory") as router:
        first = await router.aocr("ocr", document, shard_pages=10, partial=True)
        assert first.call_info is not None and len(first.call_info.missing) == 1
        assert fake.request_count == 3
        again = await router.aocr("ocr", document, shard_pages=10)
        assert fake.request_count == 4  # only the shard that failed went upstream
        assert_whole_document(again, 30)
        info = again.call_info
        assert info is not None
        assert sorted(shard.cached for shard in info.shards) == [False, True, True]
        assert not info.cached
        # A shard is stored as the page range of the whole document it stands for.
        range_request = await router.aocr("ocr", document, pages=list(range(10, 20)))
        assert fake.request_count == 4
        assert range_request.call_info is not None and range_request.call_info.cached
        assert [page.index for page in range_request.pages] == list(range(10, 20))
        whole_again = await router.aocr("ocr", document, shard_pages=10)
        assert fake.request_count == 4
        assert whole_again.call_info is not None and whole_again.call_info.cached
        assert whole_again.call_info.cost_usd == 0.0


def sent_sizes(fake: FakeProvider) -> list[int]:
    return [
        len(base64.b64decode(r.json["document"]["document_url"].split(",", 1)[1]))
        for r in fake.requests
    ]


async def test_a_shard_too_heavy_for_every_deployment_is_halved_until_it_fits() -> None:
    limit = 200_000  # bytes of document per request
    fakes = {"vx1": FakeProvider("vertex_ai"), "vx2": FakeProvider("vertex_ai")}
    small = {"max_document_bytes": limit}
    entries, transport = fleet(fakes, vx1=small, vx2=small)
    document = make_pdf(40, image_bytes=10_000)  # about 400 KB: 30 pages weigh 300 KB
    async with Router(entries, transport=transport) as router:
        response = await router.aocr("ocr", document)
    assert_whole_document(response, 40)
    sizes = [size for fake in fakes.values() for size in sent_sizes(fake)]
    assert max(sizes) <= limit
    assert sorted(c for f in fakes.values() for c in upstream_pages(f)) == [10, 15, 15]


async def test_a_single_page_over_every_byte_limit_is_a_clear_error() -> None:
    entries, transport = fleet({"vx": FakeProvider("vertex_ai")}, vx={"max_document_bytes": 5_000})
    async with Router(entries, transport=transport) as router:
        with pytest.raises(InvalidRequestError, match=r"page \d+ alone is .* over every"):
            await router.aocr("ocr", make_pdf(3, image_bytes=20_000))


def docx(size: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>" + "x" * size)
    return buffer.getvalue()


async def test_docx_over_every_limit_is_refused_saying_it_cannot_be_sharded() -> None:
    fakes = {"az": FakeProvider("azure_ai")}
    entries, transport = fleet(fakes, az={"max_document_bytes": 1_000})
    async with Router(entries, transport=transport) as router:
        with pytest.raises(InvalidRequestError, match="only PDFs can be sharded") as raised:
            await router.aocr("ocr", docx(50_000))
        await router.aocr("ocr", docx(10))  # one that fits goes as always
    assert "DOCX document" in str(raised.value)
    assert fakes["az"].request_count == 1


async def test_a_sharded_request_is_one_span_with_a_child_per_shard(spans: Any) -> None:
    entries, transport = fleet({"m": FakeProvider("mistral")})
    async with Router(entries, transport=transport) as router:
        await router.aocr("ocr", make_pdf(25), shard_pages=10)
    finished = spans.get_finished_spans()
    (request,) = [span for span in finished if span.name == "ocr_router.request"]
    shards = sorted(
        (span for span in finished if span.name == "ocr_router.shard"),
        key=lambda span: span.attributes["ocr_router.shard.index"],
    )
    attempts = [span for span in finished if span.name == "ocr_router.attempt"]
    assert [
        (s.attributes["ocr_router.shard.first_page"], s.attributes["ocr_router.shard.last_page"])
        for s in shards
    ] == [(0, 9), (10, 19), (20, 24)]
    assert all(s.attributes["ocr_router.shard.count"] == 3 for s in shards)
    assert all(shard.parent.span_id == request.context.span_id for shard in shards)
    assert sorted(a.parent.span_id for a in attempts) == sorted(s.context.span_id for s in shards)
