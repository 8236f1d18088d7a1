"""The JSON body of an OCR call, with a large document spliced in rather than escaped again.

`json.dumps` escapes a string character by character and the result is encoded once more: for a
55 MB data URI that was a fifth of a call's CPU, and two more copies of the document. A base64 data
URI needs no JSON escaping (letters, digits, `+/=`, and its header's `:;,.-`), so a large one is
not dumped: the rest of the body is, with a placeholder where the URI goes, split there into a
head and a tail, and `SplicedBody` sends head, URI and tail in turn, the URI a slice at a time, so
the body is never joined into one more copy either.

Only the request's own document is spliced: `extra_body` may set any field, `document`
included, so the URI found in the body must be the very object the request validated, and the
placeholder must appear exactly once; anything else is dumped whole, as a small body always is.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx

# Below this a URI is dumped with the rest: one bytes body is cheapest for small calls.
SPLICE_FROM_CHARACTERS = 64 * 1024
# Characters encoded per slice sent: bounds the transient copy, and each await lets others run.
SLICE_CHARACTERS = 1 << 22
_PLACEHOLDER = "\x00ocr-router:document\x00"  # a control character: never in a valid URL
_PLACEHOLDER_JSON = json.dumps(_PLACEHOLDER).encode()


class SplicedBody(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A JSON body sent as its head, the document's URL (ASCII, needing no escape) and its
    tail. Iterable any number of times (a retry builds its own anyway)."""

    def __init__(self, head: bytes, document: str, tail: bytes) -> None:
        self.head = head
        self.document = document
        self.tail = tail
        self.length = len(head) + len(document) + len(tail)

    def chunks(self) -> Iterator[bytes]:
        yield self.head
        document = self.document
        if len(document) <= SLICE_CHARACTERS:
            yield document.encode("ascii")  # one slice: no copy of it to encode
        else:
            for start in range(0, len(document), SLICE_CHARACTERS):
                yield document[start : start + SLICE_CHARACTERS].encode("ascii")
        yield self.tail

    def __iter__(self) -> Iterator[bytes]:
        return self.chunks()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks():
            yield chunk


def encode_body(body: dict[str, Any], document_url: str | None) -> bytes | SplicedBody:
    """`body` as compact JSON: bytes, or a `SplicedBody` when it carries `document_url` (the
    request's own, large data URI) where the request put it."""
    slot = _url_slot(body.get("document"))
    if (
        slot is None
        or document_url is None
        or slot[0][slot[1]] is not document_url  # extra_body replaced the document
        or not _splicable(document_url)
    ):
        return json.dumps(body, separators=(",", ":")).encode()
    holder, key = slot
    holder[key] = _PLACEHOLDER
    try:
        text = json.dumps(body, separators=(",", ":")).encode()
    finally:
        holder[key] = document_url
    head, found, tail = text.partition(_PLACEHOLDER_JSON)
    if not found or _PLACEHOLDER_JSON in tail:  # a caller's field held the placeholder too
        return json.dumps(body, separators=(",", ":")).encode()
    return SplicedBody(head + b'"', document_url, b'"' + tail)


def _url_slot(document: Any) -> tuple[dict[str, Any], str] | None:
    """(the dict holding the document's URL, its key) in the wire form of a document."""
    if not isinstance(document, dict):
        return None
    if isinstance(document.get("document_url"), str):
        return document, "document_url"
    image = document.get("image_url")
    if isinstance(image, str):
        return document, "image_url"
    if isinstance(image, dict) and isinstance(image.get("url"), str):
        return image, "url"
    return None


def _splicable(url: str) -> bool:
    # A validated data URI is ASCII without quotes, backslashes or control characters; the two
    # memchr-speed scans keep the JSON right even for a chunk built without validation.
    return (
        len(url) >= SPLICE_FROM_CHARACTERS
        and url.startswith("data:")
        and url.isascii()
        and '"' not in url
        and "\\" not in url
    )


__all__ = ["SLICE_CHARACTERS", "SPLICE_FROM_CHARACTERS", "SplicedBody", "encode_body"]
