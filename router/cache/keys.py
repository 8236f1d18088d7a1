"""Cache keys: what makes two OCR requests the same request, for the result cache.

Two requests get the same answer when they send the same document to the same model group with
the same parameters, so the key is the SHA-256 of a canonical JSON object of exactly those:

- the document's digest (`document_digest`): for an inline document (a local file, raw bytes, a
  data URI) the SHA-256 of its data URI *as sent*, base64 text and media type included. Hashing the
  base64 text rather than the decoded bytes is one pass over what is already in memory (no 30 MB
  copy for a 40 MB request); the same bytes always encode to the same text here (local documents
  are encoded by `router.mime.to_data_uri`), and a caller's data URI wrapped differently only
  misses, never hits wrongly. A remote URL is keyed by the URL (the host, or the router for a host
  that cannot fetch, reads it later: the key is needed before a deployment is chosen), an
  uploaded file by its `file_id` (a file's content never changes under its id);
- the model group asked for (not the deployment: any deployment of a group may serve it);
- every other field of the request as sent (`pages`, annotation formats, `include_image_base64`,
  `extra_body`...), canonical JSON (sorted keys, no spaces); `document_name` is left out, since it
  does not change the answer.

Keys are hex digests: they hold nothing of the document or of any credential (a signed URL's
query string is hashed, never stored).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from typing import Any

from router.types import (
    DocumentURLChunk,
    FileChunk,
    ImageURL,
    ImageURLChunk,
    OCRRequest,
    document_url_of,
)

THREAD_ABOVE_CHARACTERS = 1 << 20  # hashing 1 MB takes about 2 ms: below, a thread costs more
KEY_VERSION = 1  # bump when what a key covers changes, so old entries are never read as new


def document_digest(document: DocumentURLChunk | ImageURLChunk | FileChunk) -> str:
    """The digest that identifies a document's content (see the module docstring)."""
    if isinstance(document, FileChunk):
        return f"file:{document.file_id}"
    url = document.document_url if isinstance(document, DocumentURLChunk) else document.url
    kind = "inline" if url[:5].lower() == "data:" else "url"
    # An ASCII string encodes as one copy; sha256 is then one pass over it.
    return f"{kind}:{hashlib.sha256(url.encode('utf-8', 'surrogatepass')).hexdigest()}"


async def adocument_digest(document: DocumentURLChunk | ImageURLChunk | FileChunk) -> str:
    """`document_digest`, off the event loop for a large inline document: hashlib releases the
    GIL, so a 50 MB data URI (about 0.1 s) never stalls the other requests of a proxy."""
    url = document_url_of(document)
    if url is not None and len(url) > THREAD_ABOVE_CHARACTERS:
        return await asyncio.to_thread(document_digest, document)
    return document_digest(document)


def request_parameters(request: OCRRequest) -> dict[str, Any]:
    """The fields of `request` that change its answer, besides the document's content."""
    wire = request.to_wire()
    wire.pop("model", None)  # each deployment fills in its own; the group is keyed instead
    document = request.document
    described: dict[str, Any] = {"type": document.type}
    image = document.image_url if isinstance(document, ImageURLChunk) else None
    if isinstance(image, ImageURL) and image.detail is not None:
        described["detail"] = image.detail
    wire["document"] = described
    return wire


def result_key(digest: str, group: str, parameters: dict[str, Any]) -> str:
    """The cache key of a request: `digest` of its document, its model `group`, and its
    `parameters` (`request_parameters`); shards of one document pass their own `pages`."""
    canonical = json.dumps(
        {"v": KEY_VERSION, "document": digest, "group": group, "params": parameters},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
    )
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


__all__ = ["KEY_VERSION", "adocument_digest", "document_digest", "request_parameters", "result_key"]
