"""Realistic OCR answers built from the request, so a test can check what came back.

A fake that always answered one canned page would hide bugs in page selection, image options and
annotations. These answers follow the request as the real service does: the pages asked for (that
exist), the document's real page count for a PDF, images with base64 only when asked for, tables,
headers and footers when asked for, annotations as JSON *strings*. Every answer validates against
the `OCRResponse` schema of Mistral's OpenAPI document.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import json
import re
import threading
from typing import Any

from router.mime import is_image, parse_data_uri
from router.types import OCRRequest, ResponseFormat, document_url_of

# The page screenshot Mistral reports for a US-letter page at its rendering resolution.
PAGE_DIMENSIONS = {"dpi": 200, "height": 2200, "width": 1700}
DEFAULT_ECHO_MODEL = (
    "mistral-ocr-2512"  # what mistral-ocr-latest resolves to at the time of writing
)
_LATEST_ALIASES = frozenset({"mistral-ocr-latest"})


class DocumentError(ValueError):
    """The document cannot be read (for example a PDF data URI that is not a PDF)."""


@functools.lru_cache(maxsize=1)
def _tiny_png_uri() -> str:
    from providers.samples import make_png

    return "data:image/png;base64," + base64.b64encode(make_png(4, 4)).decode()


def _pdf_page_texts(content: bytes) -> tuple[str, ...]:
    """The text each page shows (one entry per page), read from its content stream.

    Only strings shown with `Tj` are read (what the project's sample PDFs hold): a fake needs to
    tell pages apart, not to do OCR, and this costs microseconds per page."""
    try:
        import pypdf
    except ImportError:  # pragma: no cover - depends on the installed extras
        raise ImportError(
            "the fake's PDF page count needs pypdf: pip install 'ocr-router[fake]'"
        ) from None
    try:
        return tuple(_shown_text(page) for page in pypdf.PdfReader(io.BytesIO(content)).pages)
    except Exception as error:  # pypdf raises many kinds for a damaged file
        raise DocumentError(f"the PDF document cannot be read: {type(error).__name__}") from None


_SHOWN_STRING = re.compile(rb"\(((?:\\.|[^\\)])*)\)\s*Tj")
_ESCAPED = re.compile(rb"\\(.)")


def _shown_text(page: Any) -> str:
    contents = page.get_contents()
    if contents is None:
        return ""
    shown = _SHOWN_STRING.findall(contents.get_data())
    return " ".join(_ESCAPED.sub(rb"\1", text).decode("latin-1") for text in shown)


# (length, hash) of a data URI -> (mime, its pages' texts for a PDF else None, size). Benchmarks
# and tests send the same document again and again; decoding megabytes and parsing the PDF each
# time made the fake the bottleneck. Keyed by the URI's hash, not the URI: the fake holds no
# document (a 64-bit collision between a test's few documents would only misreport its pages).
_FACTS: dict[tuple[int, int], tuple[str, tuple[str, ...] | None, int]] = {}
_FACTS_LOCK = threading.Lock()
_MAX_FACTS = 256


def _facts_of(url: str) -> tuple[str, tuple[str, ...] | None, int]:
    key = (len(url), hash(url))
    with _FACTS_LOCK:
        known = _FACTS.get(key)
    if known is not None:
        return known
    mime, content = parse_data_uri(url)
    texts = _pdf_page_texts(content) if mime == "application/pdf" else None  # may raise
    facts = (mime, texts, len(content))
    with _FACTS_LOCK:
        if len(_FACTS) >= _MAX_FACTS:
            del _FACTS[next(iter(_FACTS))]  # the oldest
        _FACTS[key] = facts
    return facts


def page_texts(request: OCRRequest) -> tuple[str, ...] | None:
    """What each page of the request's PDF shows, or None for another kind of document."""
    url = document_url_of(request.document)
    if url is None or not url.startswith("data:"):
        return None
    return _facts_of(url)[1]


def document_facts(request: OCRRequest, default_page_count: int) -> tuple[int, int | None]:
    """(page count, size in bytes or None) of the request's document.

    A PDF data URI is counted for real; an image has one page; a remote URL is not fetched (nor
    is an uploaded file the fake could not read as a PDF or an image), so it is assumed to have
    `default_page_count` pages."""
    url = document_url_of(request.document)
    if url is None or not url.startswith("data:"):
        return default_page_count, None
    mime, texts, size = _facts_of(url)
    if texts is not None:
        return len(texts), size
    if is_image(mime):
        return 1, size
    return default_page_count, size


def select_pages(request: OCRRequest, page_count: int) -> tuple[list[int], list[int]]:
    """(pages to answer, pages asked for that do not exist). All pages when none were asked for."""
    asked = request.page_indexes
    if asked is None:
        return list(range(page_count)), []
    existing = list(dict.fromkeys(index for index in asked if index < page_count))
    missing = sorted({index for index in asked if index >= page_count})
    return existing, missing


def echoed_model(model: str | None, echo_model: str) -> str:
    """The model name the service reports: `mistral-ocr-latest` comes back as a dated name."""
    if model is None or model in _LATEST_ALIASES:
        return echo_model
    return model


def minimal_instance(schema: Any, root: Any = None, depth: int = 0) -> Any:
    """The smallest value that satisfies the usual JSON Schema keywords (required properties,
    types, enum, const, anyOf/oneOf/allOf, local $ref). Enough for a plausible annotation."""
    root = schema if root is None else root
    if depth > 20 or not isinstance(schema, dict):
        return None
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    reference = schema.get("$ref")
    if isinstance(reference, str) and reference.startswith("#/"):
        target: Any = root
        for part in reference[2:].split("/"):
            target = target.get(part) if isinstance(target, dict) else None
        return minimal_instance(target, root, depth + 1)
    for combinator in ("anyOf", "oneOf", "allOf"):
        options = schema.get(combinator)
        if isinstance(options, list) and options:
            non_null = [o for o in options if not (isinstance(o, dict) and o.get("type") == "null")]
            return minimal_instance((non_null or options)[0], root, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or (kind is None and "properties" in schema):
        properties = schema.get("properties", {})
        return {
            name: minimal_instance(properties.get(name, {}), root, depth + 1)
            for name in schema.get("required", [])
        }
    minimum = schema.get("minimum", 0)
    defaults: dict[str, Any] = {
        "array": [
            minimal_instance(schema.get("items", {}), root, depth + 1)
            for _ in range(schema.get("minItems", 0))
        ],
        "string": "x" * schema.get("minLength", 0) if schema.get("minLength") else "fake",
        "integer": int(minimum),
        "number": minimum,
        "boolean": False,
        "null": None,
    }
    return defaults.get(str(kind), "fake")


def annotation_text(response_format: ResponseFormat) -> str:
    """An annotation as the service returns it: a JSON string of the schema's smallest instance
    (only `json_schema` formats exist: `router.types.ResponseFormat`)."""
    return json.dumps(minimal_instance(response_format.json_schema.schema_))


def _table(request: OCRRequest, index: int) -> dict[str, Any]:
    if request.table_format == "html":
        content = (
            "<table><tr><th>page</th><th>value</th></tr>"
            f"<tr><td>{index}</td><td>{index * 7}</td></tr></table>"
        )
    else:
        content = f"| page | value |\n|---|---|\n| {index} | {index * 7} |"
    extension = "html" if request.table_format == "html" else "md"
    return {"id": f"tbl-{index}.{extension}", "content": content, "format": request.table_format}


# Every fake page holds one figure this big (pixels), so `image_min_size` can filter it out.
IMAGE_WIDTH, IMAGE_HEIGHT = 700, 600


def _page(
    request: OCRRequest, index: int, fingerprint: str, with_image: bool, shown: str | None
) -> dict[str, Any]:
    image_id = f"img-{index}.png"
    lines = [f"# Page {index + 1}", ""]
    if with_image:
        lines += [f"![{image_id}]({image_id})", ""]
    lines.append(f"Fake OCR text of page index {index} (document {fingerprint}).")
    if shown:
        lines += ["", f"The page shows: {shown}"]
    image = {
        "id": image_id,
        "top_left_x": 150,
        "top_left_y": 300 + 10 * (index % 50),
        "bottom_right_x": 150 + IMAGE_WIDTH,
        "bottom_right_y": 300 + IMAGE_HEIGHT + 10 * (index % 50),
        "image_base64": _tiny_png_uri() if request.include_image_base64 else None,
        "image_annotation": (
            annotation_text(request.bbox_annotation_format)
            if request.bbox_annotation_format is not None
            else None
        ),
    }
    page: dict[str, Any] = {
        "index": index,
        "markdown": "",
        "images": [image] if with_image else [],
        "hyperlinks": [],
        "header": f"Fake header of page {index}" if request.extract_header else None,
        "footer": f"Fake footer of page {index}" if request.extract_footer else None,
        "dimensions": dict(PAGE_DIMENSIONS),
    }
    if request.table_format is not None:
        table = _table(request, index)
        page["tables"] = [table]
        lines += ["", f"[{table['id']}]({table['id']})"]
    else:
        page["tables"] = []
    page["markdown"] = "\n".join(lines) + "\n"
    return page


def ocr_answer(
    request: OCRRequest,
    pages: list[int],
    doc_size_bytes: int | None,
    echo_model: str,
    texts: tuple[str, ...] | None = None,
) -> dict[str, Any]:
    """The 200 body for `request`, answering `pages`; `texts` (what each page of the document
    shows) puts each page's own text into its markdown, so an answer tells its pages apart."""
    url = document_url_of(request.document) or ""
    # A short digest ties the text to the document without echoing its content; its head and
    # length are enough to tell documents apart without hashing megabytes per request.
    fingerprint = hashlib.sha256(f"{len(url)}:{url[:4096]}".encode()).hexdigest()[:8]
    # As the service does: images smaller than image_min_size (either side) are not extracted,
    # and image_limit caps the images of the whole document, first pages first.
    big_enough = request.image_min_size is None or request.image_min_size <= min(
        IMAGE_WIDTH, IMAGE_HEIGHT
    )
    image_count = len(pages) if big_enough else 0
    if request.image_limit is not None:
        image_count = min(image_count, request.image_limit)
    return {
        "pages": [
            _page(
                request,
                index,
                fingerprint,
                position < image_count,
                None if texts is None else texts[index],
            )
            for position, index in enumerate(pages)
        ],
        "model": echoed_model(request.model, echo_model),
        "document_annotation": (
            annotation_text(request.document_annotation_format)
            if request.document_annotation_format is not None
            else None
        ),
        "usage_info": {"pages_processed": len(pages), "doc_size_bytes": doc_size_bytes},
    }


__all__ = [
    "DEFAULT_ECHO_MODEL",
    "PAGE_DIMENSIONS",
    "DocumentError",
    "annotation_text",
    "document_facts",
    "echoed_model",
    "minimal_instance",
    "ocr_answer",
    "page_texts",
    "select_pages",
]
