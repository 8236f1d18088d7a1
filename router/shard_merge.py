"""Merge the answers of a sharded request into one answer, as if one call had made it.

Each shard is a sub-PDF, so the service numbers its images and tables as it does for a document
(`img-0.jpeg`, `img-1.jpeg`, ... across the document): two shards both have an `img-0.jpeg`.
Its pages are given the document's own indexes first (router/sharding.py, before the answer is
cached as the page-range request it stands for). Merging orders the pages, numbers images and
tables again across the whole document (rewriting the markdown that
references them, in one pass per page so `img-1` -> `img-3` never meets `img-3` -> `img-5`),
sums the usage, and lists the shards in `call_info.shards`.

`image_limit` caps the images of the whole document, first pages first: every shard was sent
with the whole limit (shards run at once, none knows what the others found), so the images past
it are dropped here, with their markdown references.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from router.errors import OCRRouterError
from router.types import CallInfo, OCRPageObject, OCRResponse, ShardInfo

# An id the service numbered ("img-0.jpeg", "tbl-3.md"): renumbered across the document.
_NUMBERED_ID = re.compile(r"^(?P<stem>\D*?)(?P<number>\d+)(?P<suffix>\.[A-Za-z0-9]+)?$")


@dataclass(frozen=True)
class ShardOutcome:
    """One shard's answer (its pages with the document's indexes), or None and its `error`."""

    info: ShardInfo
    response: OCRResponse | None
    error: OCRRouterError | None = None


class _Ids:
    """Document-wide ids of one kind (images or tables), handed out in page order."""

    def __init__(self) -> None:
        self.count = 0
        self.used: set[str] = set()

    def next(self, old: str) -> str:
        match = _NUMBERED_ID.match(old)
        new = old if match is None else f"{match['stem']}{self.count}{match['suffix'] or ''}"
        suffix = 1
        while new in self.used:  # an id the service did not number, seen in another shard
            new = f"{old}-{suffix}"
            suffix += 1
        self.count += 1
        self.used.add(new)
        return new


def _rewrite_references(markdown: str, renamed: dict[str, str], dropped: set[str]) -> str:
    """Point the page's image and table references at their new ids; drop the references of
    images past `image_limit`."""
    if dropped:
        for old in dropped:
            markdown = markdown.replace(f"![{old}]({old})", "")
    changed = {old: new for old, new in renamed.items() if old != new and old not in dropped}
    if not changed:
        return markdown
    names = "|".join(re.escape(old) for old in sorted(changed, key=len, reverse=True))
    # An id inside [..] or (..): the forms the service writes (![id](id), [id](id)).
    pattern = re.compile(rf"(?<=[\[(])(?:{names})(?=[\])])")
    return pattern.sub(lambda match: changed[match.group(0)], markdown)


def _merged_page(
    page: OCRPageObject,
    images: _Ids,
    tables: _Ids,
    image_limit: int | None,
) -> OCRPageObject:
    renamed: dict[str, str] = {}
    dropped: set[str] = set()
    kept_images = []
    for image in page.images:
        if image_limit is not None and images.count >= image_limit:
            dropped.add(image.id)
            continue
        renamed[image.id] = images.next(image.id)
        kept_images.append(image.model_copy(update={"id": renamed[image.id]}))
    kept_tables = []
    for table in page.tables:
        renamed[table.id] = tables.next(table.id)
        kept_tables.append(table.model_copy(update={"id": renamed[table.id]}))
    return page.model_copy(
        update={
            "images": kept_images,
            "tables": kept_tables,
            "markdown": _rewrite_references(page.markdown, renamed, dropped),
        }
    )


def _usage(responses: Sequence[OCRResponse], doc_size_bytes: int | None) -> dict[str, Any]:
    usage: dict[str, Any] = {
        "pages_processed": sum(r.usage_info.pages_processed for r in responses),
        "doc_size_bytes": doc_size_bytes,
    }
    # Azure reports annotated pages apart; summed when any shard reports them.
    annotated = [getattr(r.usage_info, "pages_processed_annotation", None) for r in responses]
    if any(value is not None for value in annotated):
        usage["pages_processed_annotation"] = sum(int(value or 0) for value in annotated)
    return usage


def _saved(served: Iterable[ShardInfo]) -> float | None:
    """What the shards served from the result cache cost when first OCR'd (None: none was)."""
    saved = [info.saved_usd or 0.0 for info in served if info.cached]
    return sum(saved) if saved else None


def merge_shards(
    outcomes: Sequence[ShardOutcome],
    *,
    doc_size_bytes: int | None,
    latency_s: float,
    image_limit: int | None = None,
) -> OCRResponse:
    """One answer from the shards' (at least one served). Pages come in the document's order;
    a failed shard's pages are absent and its `ShardInfo` carries the error
    (`call_info.missing`). Each served answer holds its shard's pages with the document's
    indexes (the sharding module checks it)."""
    ordered = sorted(outcomes, key=lambda outcome: outcome.info.pages[0])
    served = [(o.info, o.response) for o in ordered if o.response is not None]
    if not served:
        raise ValueError("merging needs at least one served shard")
    images, tables = _Ids(), _Ids()
    pages = []
    for _, response in served:
        for page in sorted(response.pages, key=lambda page: page.index):
            pages.append(_merged_page(page, images, tables, image_limit))
    responses = [response for _, response in served]
    first_info, first = served[0]
    merged = OCRResponse.model_validate(
        {
            "pages": pages,
            "model": first.model,
            "document_annotation": None,
            "usage_info": _usage(responses, doc_size_bytes),
        }
    )
    costs = [info.cost_usd for info, _ in served]
    first_call = first.call_info
    return merged.with_call_info(
        CallInfo(
            deployment_id=first_info.deployment_id or "",
            provider=first_info.provider or "",
            model=first_call.model if first_call is not None else first.model,
            latency_s=latency_s,
            # Unknown when any served shard's price is unknown: a sum of the rest would mislead.
            cost_usd=None if any(cost is None for cost in costs) else sum(c or 0.0 for c in costs),
            pages=merged.usage_info.pages_processed,
            attempts=tuple(attempt for o in ordered for attempt in o.info.attempts),
            group=first_call.group if first_call is not None else None,
            shards=tuple(o.info for o in ordered),
            cached=all(info.cached for info, _ in served),
            saved_usd=_saved(info for info, _ in served),
        )
    )


__all__ = ["ShardOutcome", "merge_shards"]
