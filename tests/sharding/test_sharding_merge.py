"""router/shard_merge.py: shard answers merged into one, as if one call had made it."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest

from providers.fake.responses import ocr_answer, page_texts
from providers.samples import make_pdf
from router.pdf import PdfPages
from router.shard_merge import ShardOutcome, merge_shards
from router.types import Attempt, CallInfo, OCRRequest, OCRResponse, ShardInfo

PAGES = 10
DOCUMENT = make_pdf(PAGES, "Merge")


def shard_answer(pages: list[int], **params: Any) -> OCRResponse:
    """What a fake deployment answers for the sub-PDF of `pages`."""
    sub_pdf = PdfPages(DOCUMENT).cut(pages)
    uri = "data:application/pdf;base64," + base64.b64encode(sub_pdf).decode()
    request = OCRRequest.build(uri, model="mistral-ocr-latest", **params)
    answer = ocr_answer(
        request, list(range(len(pages))), len(sub_pdf), "mistral-ocr-2512", page_texts(request)
    )
    return OCRResponse.model_validate(answer)


def outcome(
    pages: list[int], *, cost: float | None = 0.001, failed: str | None = None, **params: Any
) -> ShardOutcome:
    deployment = f"dep-{pages[0]}"
    info = ShardInfo(
        pages=tuple(pages),
        deployment_id=None if failed else deployment,
        provider=None if failed else "mistral",
        attempts=(Attempt(deployment, "mistral", 0.01, failed),),
        latency_s=0.01,
        cost_usd=None if failed else cost,
        error=failed,
    )
    if failed:
        return ShardOutcome(info, None)
    response = shard_answer(pages, **params)
    for page in response.pages:  # as router/sharding.py hands it over: the document's indexes
        page.index = pages[page.index]
    response.with_call_info(
        CallInfo(deployment, "mistral", "mistral-ocr-latest", 0.01, cost, len(pages), group="ocr")
    )
    return ShardOutcome(info, response)


def test_pages_come_in_document_order_with_the_documents_indexes() -> None:
    # Given out of order, as concurrent shards finish.
    outcomes = [outcome([7, 8, 9]), outcome([0, 1, 2, 3]), outcome([4, 5, 6])]
    merged = merge_shards(outcomes, doc_size_bytes=len(DOCUMENT), latency_s=0.5)
    assert [page.index for page in merged.pages] == list(range(PAGES))
    for page in merged.pages:
        # Page k of the answer is page k of the document (the fake reads each page's text).
        assert f"The page shows: Merge Page {page.index + 1} of {PAGES}" in page.markdown


def test_usage_is_summed_and_doc_size_is_the_whole_documents() -> None:
    outcomes = [outcome([0, 1, 2, 3, 4], cost=0.005), outcome([5, 6, 7, 8, 9], cost=0.005)]
    merged = merge_shards(outcomes, doc_size_bytes=len(DOCUMENT), latency_s=0.5)
    assert merged.usage_info.pages_processed == PAGES
    assert merged.usage_info.doc_size_bytes == len(DOCUMENT)
    assert merged.usage_info.pages_processed_annotation is None  # typed since issue 11
    info = merged.call_info
    assert info is not None
    assert info.cost_usd == pytest.approx(0.01)
    assert info.pages == PAGES
    assert info.latency_s == 0.5
    assert [shard.page_range for shard in info.shards] == ["0-4", "5-9"]
    assert [shard.deployment_id for shard in info.shards] == ["dep-0", "dep-5"]
    assert info.deployment_id == "dep-0" and info.group == "ocr"
    assert [attempt.deployment_id for attempt in info.attempts] == ["dep-0", "dep-5"]
    assert info.missing == ()


def test_annotated_pages_are_summed_when_reported() -> None:
    first, second = outcome([0, 1, 2]), outcome([3, 4])
    assert first.response is not None and second.response is not None
    for response, annotated in ((first.response, 3), (second.response, 2)):
        response.usage_info = response.usage_info.model_copy(
            update={"pages_processed": 0, "pages_processed_annotation": annotated}
        )
    merged = merge_shards([first, second], doc_size_bytes=1, latency_s=0.1)
    assert merged.usage_info.pages_processed == 0
    assert merged.usage_info.pages_processed_annotation == 5


def test_a_cost_unknown_for_one_shard_is_unknown_for_the_whole() -> None:
    merged = merge_shards(
        [outcome([0, 1], cost=None), outcome([2, 3])], doc_size_bytes=1, latency_s=0.1
    )
    assert merged.call_info is not None and merged.call_info.cost_usd is None


def references(markdown: str) -> list[str]:
    return re.findall(r"\]\(([^)]+)\)", markdown)


def test_image_and_table_ids_are_unique_and_the_markdown_follows() -> None:
    outcomes = [outcome(list(range(s, s + 3)), table_format="markdown") for s in (0, 3, 6)]
    outcomes.append(outcome([9], table_format="markdown"))
    merged = merge_shards(outcomes, doc_size_bytes=1, latency_s=0.1)
    image_ids = [image.id for page in merged.pages for image in page.images]
    table_ids = [table.id for page in merged.pages for table in page.tables]
    # Numbered across the document, as the service numbers one document's images.
    assert image_ids == [f"img-{n}.png" for n in range(PAGES)]
    assert table_ids == [f"tbl-{n}.md" for n in range(PAGES)]
    for page in merged.pages:
        own = {image.id for image in page.images} | {table.id for table in page.tables}
        assert set(references(page.markdown)) == own
        assert page.markdown.count(f"![{page.images[0].id}]({page.images[0].id})") == 1


def test_renumbering_never_renames_twice() -> None:
    """Shard 2's img-0 becomes img-3 while its img-3 (if any) becomes img-6: one pass."""
    outcomes = [outcome([0, 1, 2]), outcome([3, 4, 5, 6, 7, 8, 9])]
    merged = merge_shards(outcomes, doc_size_bytes=1, latency_s=0.1)
    assert [references(page.markdown) for page in merged.pages] == [
        [f"img-{n}.png"] for n in range(PAGES)
    ]


def test_image_limit_holds_for_the_whole_document() -> None:
    outcomes = [outcome([0, 1, 2, 3], image_limit=3), outcome([4, 5, 6], image_limit=3)]
    merged = merge_shards(outcomes, doc_size_bytes=1, latency_s=0.1, image_limit=3)
    assert [len(page.images) for page in merged.pages] == [1, 1, 1, 0, 0, 0, 0]
    assert all("![" not in page.markdown for page in merged.pages[3:])


def test_partial_answer_names_the_missing_pages_and_their_error() -> None:
    outcomes = [
        outcome([0, 1, 2]),
        outcome([3, 4, 5], failed="ServerError 500"),
        outcome([6, 7, 8, 9]),
    ]
    merged = merge_shards(outcomes, doc_size_bytes=len(DOCUMENT), latency_s=0.1)
    assert [page.index for page in merged.pages] == [0, 1, 2, 6, 7, 8, 9]
    assert merged.usage_info.pages_processed == 7
    info = merged.call_info
    assert info is not None
    assert [(m.page_range, m.error) for m in info.missing] == [("3-5", "ServerError 500")]
    assert info.cost_usd == pytest.approx(0.002)  # the failed shard cost nothing


def test_unknown_id_forms_are_kept_unless_they_collide() -> None:
    first, second = outcome([0]), outcome([1])
    for shard in (first, second):
        assert shard.response is not None
        page = shard.response.pages[0]
        image = page.images[0].model_copy(update={"id": "figure.png"})
        shard.response.pages[0] = page.model_copy(
            update={
                "images": [image],
                "markdown": page.markdown.replace("img-0.png", "figure.png"),
            }
        )
    merged = merge_shards([first, second], doc_size_bytes=1, latency_s=0.1)
    assert [page.images[0].id for page in merged.pages] == ["figure.png", "figure.png-1"]
    assert references(merged.pages[1].markdown) == ["figure.png-1"]


def test_merging_nothing_served_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one served shard"):
        merge_shards([outcome([0], failed="x")], doc_size_bytes=1, latency_s=0.1)


def test_non_contiguous_shards_keep_the_documents_indexes() -> None:
    merged = merge_shards([outcome([1, 3]), outcome([8])], doc_size_bytes=1, latency_s=0.1)
    assert [page.index for page in merged.pages] == [1, 3, 8]
    assert "Merge Page 9 of 10" in merged.pages[2].markdown
    assert merged.call_info is not None
    assert [shard.page_range for shard in merged.call_info.shards] == ["1,3", "8"]
