"""Pydantic models of Mistral's OCR wire format (its OpenAPI schema: `tests/spec/`).

Requests are strict (unknown fields are an error, as Mistral's API answers 422 to them); responses
are lenient (unknown fields are kept, so a newer model never breaks parsing).

Documents may be given as the wire does (`{"type": "document_url", ...}`, with or without `type`)
or as a Python user expects (a `Path`, raw `bytes`, a binary file object, or LiteLLM's
`{"type": "file", "file": ..., "mime_type": ...}`): local content becomes a base64 data URI with
its MIME type sniffed from the bytes.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, TypedDict

import httpx
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from router.errors import InvalidRequestError
from router.mime import (
    check_built_data_uri,
    check_data_uri,
    encode_data_uri,
    is_image,
    resolve_mime,
)

MAX_PAGES_PER_REQUEST = 1000  # Mistral's own per-document limit
MAX_PAGE_INDEX = 100_000  # far past any real document; bounds the work a "0-99999999" range costs
# A page string longer than this cannot be a sane list of 1,000 pages in ranges: refused before the
# regex and before any range is expanded.
MAX_PAGE_SPEC_CHARS = 8192
# JSON schemas nest a few levels; pydantic cannot serialise past ~250 (a 500 at send time), and a
# deep value costs recursion everywhere it is walked.
MAX_SCHEMA_DEPTH = 64

_PAGE_SPEC = re.compile(r"^\s*\d+(\s*-\s*\d+)?(\s*,\s*\d+(\s*-\s*\d+)?)*\s*$")
_URL_SCHEMES = ("https://", "http://", "data:")
_CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f]")  # one C-level scan: URLs can be megabytes


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _check_url(url: str) -> str:
    if url.startswith("data:"):
        # Megabytes: checked in a few C passes (router/mime.py); a valid one holds no control
        # character, so the scan for them runs only to word a refusal as before.
        try:
            check_data_uri(url)
        except ValueError:
            if _CONTROL_CHARACTER.search(url):
                raise ValueError("the URL contains control characters") from None
            raise
        return url
    if _CONTROL_CHARACTER.search(url):
        raise ValueError("the URL contains control characters")
    lowered = url[:8].lower()
    if not lowered.startswith(_URL_SCHEMES):
        raise ValueError("the URL must start with https://, http:// or data:")
    if lowered.startswith("data:"):
        check_data_uri(url)  # "DATA:", refused as it always was
    elif len(url) > 8192:
        raise ValueError("the URL is longer than 8192 characters")
    else:
        try:  # a host such as "xn--localhost-" is no valid IDNA name: refused here, typed
            httpx.URL(url).host  # noqa: B018 - the host is decoded (IDNA) only when read
        except (httpx.InvalidURL, ValueError):
            raise ValueError("the URL is not a valid URL (its host or port is malformed)") from None
    return url


def _check_depth(value: Any, limit: int) -> None:
    """Raise ValueError when `value` nests lists or dicts deeper than `limit` (walked without
    recursion, so the check itself cannot overflow the stack)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if not isinstance(item, (dict, list)):
            continue
        children = item.values() if isinstance(item, dict) else item
        if depth > limit:
            raise ValueError(f"nested deeper than {limit} levels")
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))


class ImageURL(_Strict):
    url: str
    detail: Literal["low", "auto", "high"] | None = None

    _check = field_validator("url")(_check_url)


class DocumentURLChunk(_Strict):
    type: Literal["document_url"] = "document_url"
    document_url: str
    document_name: str | None = None

    _check = field_validator("document_url")(_check_url)


class ImageURLChunk(_Strict):
    type: Literal["image_url"] = "image_url"
    image_url: ImageURL | str

    @field_validator("image_url")
    @classmethod
    def _check_image_url(cls, value: ImageURL | str) -> ImageURL | str:
        return _check_url(value) if isinstance(value, str) else value

    @property
    def url(self) -> str:
        return self.image_url if isinstance(self.image_url, str) else self.image_url.url


class FileChunk(_Strict):
    """A file already uploaded to Mistral's Files API (Mistral deployments only)."""

    type: Literal["file"] = "file"
    file_id: str = Field(pattern=r"^[0-9a-fA-F]{8}-?([0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}$")


Document = Annotated[DocumentURLChunk | ImageURLChunk | FileChunk, Field(discriminator="type")]


class JsonSchema(_Strict):
    name: str
    schema_: dict[str, Any] = Field(alias="schema")
    description: str | None = None
    strict: bool | None = None

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @field_validator("schema_", mode="before")
    @classmethod
    def _bounded_depth(cls, value: Any) -> Any:
        _check_depth(value, MAX_SCHEMA_DEPTH)
        return value


class ResponseFormat(_Strict):
    """An annotation format. The schema lists `text` and `json_object` too, but the OCR API
    takes only `json_schema` for annotations (Mistral's docs): anything else is refused here
    rather than by the host."""

    type: Literal["json_schema"] = "json_schema"
    json_schema: JsonSchema

    @field_validator("type", mode="before")
    @classmethod
    def _only_json_schema(cls, value: Any) -> Any:
        if value != "json_schema":
            raise ValueError("annotation formats take only type 'json_schema' (with a json_schema)")
        return value


def document_url_of(document: DocumentURLChunk | ImageURLChunk | FileChunk) -> str | None:
    """The URL (https or data) a document points at, or None for an uploaded file."""
    if isinstance(document, DocumentURLChunk):
        return document.document_url
    if isinstance(document, ImageURLChunk):
        return document.url
    return None


def coerce_document(value: Any) -> Any:
    """Turn every accepted document form into the wire's dict form (validated afterwards)."""
    if isinstance(value, (DocumentURLChunk, ImageURLChunk, FileChunk)):
        return value
    if isinstance(value, (Path, bytes, bytearray, memoryview)) or hasattr(value, "read"):
        return _local_document(value, None)
    if isinstance(value, str):
        if value.startswith("data:image/"):
            return {"type": "image_url", "image_url": value}
        return {"type": "document_url", "document_url": value}
    if isinstance(value, dict):
        if "file" in value and "file_id" not in value:
            unknown = set(value) - {"type", "file", "mime_type"}
            if unknown:
                raise ValueError(f"unknown document fields: {', '.join(sorted(unknown))}")
            return _local_document(value["file"], value.get("mime_type"))
        if "type" not in value:
            for key in ("document_url", "image_url", "file_id"):
                if key in value:
                    return {"type": "file" if key == "file_id" else key, **value}
            raise ValueError("a document needs one of document_url, image_url or file_id")
    return value


def _local_document(source: Any, mime_type: str | None) -> Any:
    if isinstance(source, str):
        source = Path(source)
    if isinstance(source, Path):
        try:
            content = source.read_bytes()
        except OSError as error:
            raise ValueError(f"cannot read {source.name}: {error.strerror}") from None
    elif isinstance(source, (bytes, bytearray, memoryview)):
        content = bytes(source)
    elif hasattr(source, "read"):
        content = source.read()
        if not isinstance(content, bytes):
            raise ValueError("a file object must be opened in binary mode ('rb')")
    else:
        raise ValueError(f"cannot read a document from {type(source).__name__}")
    mime = resolve_mime(content, mime_type)
    try:
        return built_document(content, mime)
    except ValueError:
        # Validation refuses it, with the message (and field) it always gave.
        uri = encode_data_uri(content, mime)
        if is_image(uri[5 : uri.index(";")]):
            return {"type": "image_url", "image_url": uri}
        return {"type": "document_url", "document_url": uri}


def built_document(
    content: bytes | bytearray | memoryview,
    mime: str,
    *,
    like: DocumentURLChunk | ImageURLChunk | None = None,
) -> DocumentURLChunk | ImageURLChunk:
    """A document of the project's own making: `content` as a data URI of type `mime`, in a
    chunk as `constructed_document` makes it.

    The URI is checked from the bytes (`check_built_data_uri`: the `ValueError` validation would
    raise), never again over its megabytes: the chunk is constructed, not validated.
    """
    check_built_data_uri(content, mime)
    return constructed_document(encode_data_uri(content, mime), like=like)


def constructed_document(
    uri: str, *, like: DocumentURLChunk | ImageURLChunk | None = None
) -> DocumentURLChunk | ImageURLChunk:
    """A chunk around a data URI the project built and checked (`check_built_data_uri`): an
    image chunk for an image type, or the chunk kind of `like`, keeping its name or `detail`."""
    if isinstance(like, DocumentURLChunk):
        return DocumentURLChunk.model_construct(document_url=uri, document_name=like.document_name)
    if isinstance(like, ImageURLChunk) and isinstance(like.image_url, ImageURL):
        detail = like.image_url.detail
        return ImageURLChunk.model_construct(
            image_url=ImageURL.model_construct(url=uri, detail=detail)
        )
    if like is not None or is_image(uri[5 : uri.index(";")]):
        return ImageURLChunk.model_construct(image_url=uri)
    return DocumentURLChunk.model_construct(document_url=uri)


def checked_timeout(timeout: object) -> float | None:
    """A request's `timeout` (seconds) as a float, None when not given; `InvalidRequestError`
    unless it is a positive, finite number. `ocr()` and `Router.aocr` read it by this one rule:
    with no finite deadline a call could hold its caller forever."""
    if timeout is None:
        return None
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, (int, float))
        or not 0 < timeout < float("inf")
    ):
        raise InvalidRequestError(
            f"timeout must be a positive, finite number of seconds, not {timeout!r}",
            field="timeout",
        )
    return float(timeout)


def parse_page_spec(spec: str) -> list[int]:
    """Expand Mistral's page string ("0,2-4") into a list of 0-based indexes.

    The ranges are counted before any is expanded: "0-99999" a hundred times is refused for
    its count, never built."""
    if len(spec) > MAX_PAGE_SPEC_CHARS:
        raise ValueError(f"the page string is longer than {MAX_PAGE_SPEC_CHARS} characters")
    ranges: list[tuple[int, int]] = []
    count = 0
    for part in spec.replace(" ", "").split(","):
        start, _, end = part.partition("-")
        first, last = int(start), int(end or start)
        if last < first:
            raise ValueError(f"the page range {part} ends before it starts")
        if last > MAX_PAGE_INDEX:
            raise ValueError(f"page {last} is past the largest page index {MAX_PAGE_INDEX}")
        count += last - first + 1
        if count > MAX_PAGES_PER_REQUEST:
            raise ValueError(f"more than {MAX_PAGES_PER_REQUEST} pages asked for")
        ranges.append((first, last))
    return [page for first, last in ranges for page in range(first, last + 1)]


class OCRRequest(_Strict):
    """One OCR request, exactly as Mistral's `/v1/ocr` takes it.

    `model` is the provider's model name; routers fill it in per deployment.
    """

    model: str | None = None
    document: Document
    pages: list[Annotated[int, Field(ge=0, le=MAX_PAGE_INDEX)]] | str | None = Field(
        default=None, max_length=MAX_PAGES_PER_REQUEST
    )
    include_image_base64: bool | None = None
    image_limit: int | None = Field(default=None, ge=0)
    image_min_size: int | None = Field(default=None, ge=0)
    bbox_annotation_format: ResponseFormat | None = None
    document_annotation_format: ResponseFormat | None = None
    document_annotation_prompt: str | None = None
    table_format: Literal["markdown", "html"] | None = None
    extract_header: bool | None = None
    extract_footer: bool | None = None
    include_blocks: bool | None = None
    confidence_scores_granularity: Literal["word", "page", "block"] | None = None

    # Caller-approved fields outside the spec, sent as they are (see `build`).
    _extra_body: dict[str, Any] = PrivateAttr(default_factory=dict)
    # What preparing this request for a provider cost once (see `memo`).
    _memo: dict[Hashable, Any] = PrivateAttr(default_factory=dict)

    @field_validator("document", mode="before")
    @classmethod
    def _coerce_document(cls, value: Any) -> Any:
        return coerce_document(value)

    @field_validator("pages", mode="before")
    @classmethod
    def _bound_pages(cls, value: Any) -> Any:
        # Before pydantic validates (and reports) each item: a million bad items would cost a
        # million error entries; the count alone decides.
        if isinstance(value, (list, tuple)) and len(value) > MAX_PAGES_PER_REQUEST:
            raise ValueError(
                f"more than {MAX_PAGES_PER_REQUEST} pages asked for ({len(value)} given)"
            )
        if isinstance(value, str) and len(value) > MAX_PAGE_SPEC_CHARS:
            raise ValueError(f"the page string is longer than {MAX_PAGE_SPEC_CHARS} characters")
        return value

    @field_validator("pages")
    @classmethod
    def _check_pages(cls, value: list[int] | str | None) -> list[int] | str | None:
        if isinstance(value, str):
            if not _PAGE_SPEC.match(value):
                raise ValueError("pages must be a list of integers or a string like '0,2-4'")
            parse_page_spec(value)
        return value

    @model_validator(mode="after")
    def _check_annotation_prompt(self) -> OCRRequest:
        if self.document_annotation_prompt is not None and self.document_annotation_format is None:
            raise ValueError("document_annotation_prompt needs document_annotation_format")
        return self

    @classmethod
    def build(
        cls,
        document: Any,
        /,
        *,
        model: str | None = None,
        extra_body: dict[str, Any] | None = None,
        **params: Any,
    ) -> OCRRequest:
        """Validate user input into a request, raising `InvalidRequestError` that names each
        wrong or unknown field. `extra_body` carries fields outside the spec on purpose."""
        if "document" in params:  # positional-only above, so a second one lands here
            problem = {"loc": ["document"], "msg": "given twice", "type": "multiple_values"}
            raise InvalidRequestError(
                "invalid OCR request: document: given twice", errors=[problem]
            )
        try:
            request = cls.model_validate({"model": model, "document": document, **params})
        except ValidationError as error:
            raise InvalidRequestError.from_validation(error) from None
        except ValueError as error:  # raised while coercing a local document
            raise InvalidRequestError(str(error), field="document") from None
        if extra_body:
            try:  # sent as JSON as it is: a value too deep to encode fails here, typed
                _check_depth(extra_body, MAX_SCHEMA_DEPTH)
            except ValueError as error:
                raise InvalidRequestError(f"extra_body: {error}", field="extra_body") from None
            request._extra_body = dict(extra_body)
        return request

    @property
    def page_indexes(self) -> list[int] | None:
        """The pages asked for as a list of 0-based indexes, or None for all pages."""
        if isinstance(self.pages, str):
            return parse_page_spec(self.pages)
        return self.pages

    @property
    def is_annotated(self) -> bool:
        """Annotated requests are priced per page at the model's annotation price."""
        return (
            self.bbox_annotation_format is not None or self.document_annotation_format is not None
        )

    def to_wire(self, model: str | None = None) -> dict[str, Any]:
        """The JSON body to send, with only the fields that were set."""
        body = self.model_dump(mode="json", by_alias=True, exclude_none=True)
        if model is not None:
            body["model"] = model
        body.update(self._extra_body)
        return body

    def with_document(self, document: DocumentURLChunk | ImageURLChunk | FileChunk) -> OCRRequest:
        """A copy with another document (providers that inline remote URLs use it)."""
        copy = self.model_copy(update={"document": document})
        copy._extra_body = dict(self._extra_body)
        copy._memo = {}
        return copy

    def memo(self) -> dict[Hashable, Any]:
        """A cache living as long as this request: what preparing it for a provider cost once
        (a remote document downloaded and inlined) serves every later attempt of it."""
        return self._memo


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="allow")


# An annotation as it came: a JSON string (the spec), or an object or a list (Mistral's docs and
# its Azure cookbook show both); never re-encoded.
Annotation = str | dict[str, Any] | list[Any] | None


class OCRImageObject(_Lenient):
    id: str
    top_left_x: int | None = None
    top_left_y: int | None = None
    bottom_right_x: int | None = None
    bottom_right_y: int | None = None
    image_base64: str | None = None
    image_annotation: Annotation = None


class OCRTableObject(_Lenient):
    id: str
    content: str
    format: str = "markdown"  # required by the spec; markdown is what table_format defaults to


class OCRPageDimensions(_Lenient):
    dpi: int
    height: int
    width: int


class OCRPageObject(_Lenient):
    index: int
    markdown: str
    images: list[OCRImageObject] = Field(default_factory=list)
    tables: list[OCRTableObject] = Field(default_factory=list)
    hyperlinks: list[str] = Field(default_factory=list)
    header: str | None = None
    footer: str | None = None
    dimensions: OCRPageDimensions | None = None
    confidence_scores: dict[str, Any] | None = None
    blocks: list[dict[str, Any]] | None = None

    @field_validator("images", "tables", "hyperlinks", mode="before")
    @classmethod
    def _null_is_empty(cls, value: Any) -> Any:
        # The spec types these as arrays; some deployments send null, which means "none".
        return [] if value is None else value


class OCRUsageInfo(_Lenient):
    pages_processed: int = Field(ge=0)
    doc_size_bytes: int | None = None
    # Azure counts annotated pages apart, with `pages_processed: 0` for an annotation call.
    pages_processed_annotation: int | None = Field(default=None, ge=0)

    @property
    def total_pages(self) -> int:
        """Every page served, plain and annotated (what quotas and budgets count)."""
        return self.pages_processed + (self.pages_processed_annotation or 0)

    def billed_pages(self, annotated_request: bool) -> tuple[int, int]:
        """(plain pages, annotated pages) to price. Where the host counts annotated pages apart
        (Azure) its two counts are used; otherwise an annotated request's pages are all annotated
        (Mistral prices them at the annotated rate instead of the plain one)."""
        if self.pages_processed_annotation is not None:
            return self.pages_processed, self.pages_processed_annotation
        if annotated_request:
            return 0, self.pages_processed
        return self.pages_processed, 0


class OCRParams(TypedDict, total=False):
    """Mistral's optional OCR parameters, as keyword arguments of `aocr`/`ocr` and of
    `Router.aocr`/`Router.ocr` (`**params: Unpack[OCRParams]`): mypy sees each name and type, so
    `pages=` spelled `pagez=` fails a type check before it fails the call. The fields are those
    of `OCRRequest` (a test keeps them equal); values are validated when the call is made."""

    pages: Sequence[int] | str | None
    include_image_base64: bool | None
    image_limit: int | None
    image_min_size: int | None
    bbox_annotation_format: ResponseFormat | Mapping[str, Any] | None
    document_annotation_format: ResponseFormat | Mapping[str, Any] | None
    document_annotation_prompt: str | None
    table_format: Literal["markdown", "html"] | None
    extract_header: bool | None
    extract_footer: bool | None
    include_blocks: bool | None
    confidence_scores_granularity: Literal["word", "page", "block"] | None


@dataclass(frozen=True)
class Attempt:
    """One try of a request on one deployment."""

    deployment_id: str
    provider: str
    latency_s: float
    error: str | None = None  # the error's class name and status, None for the success


def page_ranges(pages: tuple[int, ...] | list[int]) -> str:
    """Page indexes as Mistral's page string: (0, 1, 2, 5) is "0-2,5"."""
    parts: list[str] = []
    start = previous = None
    for index in pages:
        if previous is not None and index == previous + 1:
            previous = index
            continue
        if start is not None:
            parts.append(str(start) if start == previous else f"{start}-{previous}")
        start = previous = index
    if start is not None:
        parts.append(str(start) if start == previous else f"{start}-{previous}")
    return ",".join(parts)


@dataclass(frozen=True)
class ShardInfo:
    """One shard of a sharded request: the document's pages it held (0-based, in order), the
    deployment that served it, its attempts, latency and cost; `error` when it failed."""

    pages: tuple[int, ...]
    deployment_id: str | None
    provider: str | None
    attempts: tuple[Attempt, ...]
    latency_s: float
    cost_usd: float | None
    error: str | None = None  # why it failed (its last error), None for a served shard
    cached: bool = False  # served from the result cache (as the page range it stands for)
    saved_usd: float | None = None  # for a cached shard: what its first call cost

    @property
    def page_range(self) -> str:
        return page_ranges(self.pages)


@dataclass(frozen=True)
class CallInfo:
    """What ocr-router knows about the call that produced a response (never sent on the wire)."""

    deployment_id: str
    provider: str
    model: str
    latency_s: float
    cost_usd: float | None
    pages: int
    attempts: tuple[Attempt, ...] = field(default_factory=tuple)
    group: str | None = None  # the model group (fallbacks included) the deployment belongs to
    cached: bool = False  # served from the result cache: no provider reached, nothing paid
    saved_usd: float | None = None  # for a cached answer: what its first call cost
    batch_job_id: str | None = None  # the Mistral Batch API job that produced it (router.batch_api)
    # A sharded request: every shard in page order (deployment_id above is the first shard's).
    shards: tuple[ShardInfo, ...] = ()
    request_id: str | None = None  # the Router's id of the request (on its events and spans)

    @property
    def missing(self) -> tuple[ShardInfo, ...]:
        """The shards whose pages are missing from a partial answer (`partial=True`)."""
        return tuple(shard for shard in self.shards if shard.error is not None)


class OCRResponse(_Lenient):
    pages: list[OCRPageObject]
    model: str
    document_annotation: Annotation = None
    usage_info: OCRUsageInfo

    _call_info: CallInfo | None = PrivateAttr(default=None)

    @property
    def call_info(self) -> CallInfo:
        """Which deployment served this response, how long it took and what it cost.

        Always there on what `ocr()`, `aocr()` and a Router return. A response parsed from JSON
        (`OCRResponse.model_validate`) was served by no one here: reading it raises
        `AttributeError`, so `getattr(response, "call_info", None)` tells the two apart."""
        if self._call_info is None:
            raise AttributeError(
                "this OCRResponse did not come from ocr-router (it was parsed, not served): "
                "it has no call_info"
            )
        return self._call_info

    def to_wire(self) -> dict[str, Any]:
        """The response as Mistral's API returns it (every spec field, unknown fields kept)."""
        return self.model_dump(mode="json")

    def to_wire_json(self) -> bytes:
        """`to_wire()` as compact JSON, serialised by pydantic-core (the proxy's answer)."""
        return self.model_dump_json().encode()

    def with_call_info(self, info: CallInfo) -> OCRResponse:
        self._call_info = info
        return self


__all__ = [
    "Attempt",
    "CallInfo",
    "Document",
    "DocumentURLChunk",
    "FileChunk",
    "ImageURL",
    "ImageURLChunk",
    "JsonSchema",
    "OCRImageObject",
    "OCRPageDimensions",
    "OCRPageObject",
    "OCRParams",
    "OCRRequest",
    "OCRResponse",
    "OCRTableObject",
    "OCRUsageInfo",
    "ResponseFormat",
    "ShardInfo",
    "document_url_of",
    "page_ranges",
]
