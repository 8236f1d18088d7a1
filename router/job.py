"""What one request carries from attempt to attempt.

A request's `Job` is made once (`Router._new_job`, once per shard for a sharded one) and read by
every room of the flow: selection reads what it failed on and what it was refused, the attempt
books its pages, and the final error lists its attempts. It lives apart from the Router so that
those rooms can name it without importing the Router.

The tags of a request (`aocr(..., tags=[...])`) reach each job made for it through a context
variable, so the shards' jobs get them without the sharding knowing of tags.
"""

from __future__ import annotations

import contextvars
from collections.abc import Sequence
from dataclasses import dataclass, field

from router.deployment import Deployment
from router.errors import InvalidRequestError, OCRRouterError
from router.fit import RequestFacts
from router.types import Attempt, OCRRequest


@dataclass
class Job:
    """What one request carries from attempt to attempt."""

    request: OCRRequest
    plan: list[str]
    deadline: float
    started: float
    pages: int | None  # pages asked for, None for "the whole document"
    reserved_pages: int  # what an attempt books against page quotas before the answer
    request_id: str  # on every event, log line and span of the request, and its error
    facts: RequestFacts | None = None  # set when some deployment may not take the request
    unfit: dict[str, str | None] = field(default_factory=dict)  # id -> why it cannot take it
    refused: dict[str, OCRRouterError] = field(default_factory=dict)  # refusals, by deployment
    tags: frozenset[str] = frozenset()  # empty: any deployment; else one carrying any of them
    failed: set[str] = field(default_factory=set)
    attempts: list[Attempt] = field(default_factory=list)
    last_deployment: Deployment | None = None
    last_error: OCRRouterError | None = None  # the last upstream failure of this request


# The tags of the request being served in this context (set by `Router.aocr`, read by
# `Router._new_job`).
REQUEST_TAGS: contextvars.ContextVar[frozenset[str]] = contextvars.ContextVar(
    "ocr_router_request_tags", default=frozenset()
)


def checked_tags(tags: Sequence[str] | None) -> frozenset[str]:
    """`aocr`'s `tags`, as a set; a bare string or an empty tag is an `InvalidRequestError`."""
    if tags is None:
        return frozenset()
    if isinstance(tags, str) or not all(isinstance(tag, str) and tag for tag in tags):
        raise InvalidRequestError("tags must be a list of non-empty strings", field="tags")
    return frozenset(tags)
