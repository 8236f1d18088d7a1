"""What each provider puts on the wire, checked where it lands: a fake server on a real socket.

For mistral, azure_ai (Foundry base with and without `api_version`, and the legacy `/v1` base)
and regional vertex_ai, a real call goes through the provider to `FakeProvider(...).serve()` and
the request the fake received is compared with the expected one: method, path and query, the
headers that matter, and the JSON body exactly. Every document form and every optional parameter
of `OCRRequest` is covered; every body is also checked against Mistral's published `OCRRequest`
schema and every answer against `OCRResponse`. (`global` Vertex only changes the host, so it is
covered by the URL unit tests in tests/providers.)
"""

from __future__ import annotations

import base64
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from providers import create_provider
from providers.azure_ai import strict_annotations
from providers.fake import FakeProvider
from providers.fake.provider import ReceivedRequest
from providers.samples import make_pdf
from router.api import aocr
from router.capabilities import model_info
from router.errors import BadRequestError, UnprocessableEntityError
from router.types import OCRRequest, OCRResponse

KEY = "wire-test-secret-0123456789"
FILE_ID = "3f2b1c9e-8a7d-4e6f-9b0a-1c2d3e4f5a6b"
# Header names that would carry a credential; only `authorization` may, and only the key.
SECRET_LOOKING = re.compile(r"key|token|secret|auth|cookie|signature|credential|password")

FakeServerFactory = Callable[[FakeProvider], Awaitable[str]]
SpecValidator = Callable[[Any, str], None]


@dataclass(frozen=True)
class Target:
    """One provider dialect behind one kind of base URL, and where its requests must land."""

    name: str
    provider: str
    model: str
    path: str
    query: dict[str, str]
    base_suffix: str = ""
    api_version: str | None = None

    @property
    def inlines_documents(self) -> bool:
        """Azure and Vertex take only data URIs: the client downloads remote documents."""
        return self.provider != "mistral"

    def settings(self, fake_url: str) -> dict[str, Any]:
        """Provider settings pointing at the fake; the same for `create_provider` and `aocr`."""
        base = fake_url + self.base_suffix
        if self.provider == "vertex_ai":
            return {
                "token": KEY,
                "vertex_project": "proj-1",
                "vertex_location": "europe-west4",
                "api_base": base,
                "allow_private_document_urls": True,
            }
        settings: dict[str, Any] = {"api_key": KEY, "api_base": base}
        if self.api_version is not None:
            settings["api_version"] = self.api_version
        if self.inlines_documents:
            settings["allow_private_document_urls"] = True
        return settings


TARGETS = [
    Target("mistral", "mistral", "mistral-ocr-latest", "/v1/ocr", {}),
    Target(
        "azure_foundry",
        "azure_ai",
        "mistral-ocr-4-0",
        "/providers/mistral/azure/ocr",
        {},
    ),
    Target(
        "azure_foundry_api_version",
        "azure_ai",
        "mistral-ocr-4-0",
        "/providers/mistral/azure/ocr",
        {"api-version": "2024-05-01-preview"},
        api_version="2024-05-01-preview",
    ),
    # The portal's "Target URI" pasted whole as the base, its api-version included.
    Target(
        "azure_pasted_target_uri",
        "azure_ai",
        "mistral-ocr-4-0",
        "/providers/mistral/azure/ocr",
        {"api-version": "2024-05-01-preview"},
        base_suffix="/providers/mistral/azure/ocr?api-version=2024-05-01-preview",
    ),
    Target("azure_legacy_v1", "azure_ai", "mistral-ocr-4-0", "/v1/ocr", {}, base_suffix="/v1"),
    Target(
        "vertex_regional",
        "vertex_ai",
        "mistral-ocr-2505",
        "/v1/projects/proj-1/locations/europe-west4/publishers/mistralai/models/"
        "mistral-ocr-2505:rawPredict",
        {},
    ),
]


@pytest.fixture(params=TARGETS, ids=[target.name for target in TARGETS])
def target(request: pytest.FixtureRequest) -> Target:
    selected: Target = request.param
    return selected


def data_uri(mime: str, content: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(content).decode()}"


async def call_provider(
    target: Target, fake_server: FakeServerFactory, document: Any, **params: Any
) -> tuple[FakeProvider, OCRResponse]:
    """One real call through the provider to a fresh fake of its dialect."""
    fake = FakeProvider(target.provider, api_key=KEY)
    if fake.batch is not None and isinstance(document, dict) and "file_id" in document:
        fake.add_file(make_pdf(1), file_id=document["file_id"])  # Mistral OCRs files it holds
    url = await fake_server(fake)
    provider = create_provider(f"{target.provider}/{target.model}", **target.settings(url))
    async with httpx.AsyncClient() as client:
        response = await provider.send(OCRRequest.build(document, **params), client)
    return fake, response


def assert_sent_as_expected(
    target: Target,
    received: ReceivedRequest,
    expected_body: dict[str, Any],
    validate_spec: SpecValidator,
) -> None:
    assert received.outcome == "ok"
    assert received.method == "POST"
    assert received.path == target.path
    assert received.query == target.query
    headers = received.headers
    assert headers["authorization"] == f"Bearer {KEY}"
    assert headers["content-type"] == "application/json"
    assert "api-key" not in headers
    for name, value in headers.items():
        if name != "authorization":
            assert not SECRET_LOOKING.search(name), f"unexpected credential-like header {name}"
            assert KEY not in value, f"the key leaked into the {name} header"
    if target.provider == "azure_ai":
        # Azure skips annotation without json_schema.strict: the provider sets it when unset.
        expected_body = strict_annotations(expected_body)
    assert received.json == expected_body
    validate_spec(received.json, "OCRRequest")


# --- documents ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DocumentForm:
    """A document as the caller gives it, and as it must arrive at a provider that passes URLs
    through (mistral) or one that needs them inline (azure_ai, vertex_ai)."""

    name: str
    given: Any
    passed_through: dict[str, Any]
    inlined: dict[str, Any] | None  # None: refused before sending
    remote: bool = False  # names a URL on the document host (downloaded when inlining)


def document_forms(
    host_url: str, pdf_bytes: bytes, png_bytes: bytes, *, inline: bool
) -> dict[str, DocumentForm]:
    # Mistral fetches remote URLs itself, so it gets a public https URL it never contacts here;
    # Azure and Vertex get the loopback document host, which their download guard is allowed.
    pdf_url = f"{host_url}/report.pdf" if inline else "https://documents.example/report.pdf"
    png_url = f"{host_url}/scan.png" if inline else "https://documents.example/scan.png"
    pdf = data_uri("application/pdf", pdf_bytes)
    png = data_uri("image/png", png_bytes)
    forms = [
        DocumentForm(
            "document_url_remote",
            {"type": "document_url", "document_url": pdf_url, "document_name": "report.pdf"},
            {"type": "document_url", "document_url": pdf_url, "document_name": "report.pdf"},
            {"type": "document_url", "document_url": pdf, "document_name": "report.pdf"},
            remote=True,
        ),
        DocumentForm(
            "document_url_data_uri_pdf",
            {"type": "document_url", "document_url": pdf},
            {"type": "document_url", "document_url": pdf},
            {"type": "document_url", "document_url": pdf},
        ),
        DocumentForm(
            "document_url_without_type",
            {"document_url": pdf},
            {"type": "document_url", "document_url": pdf},
            {"type": "document_url", "document_url": pdf},
        ),
        DocumentForm(
            "image_url_string_remote",
            {"type": "image_url", "image_url": png_url},
            {"type": "image_url", "image_url": png_url},
            {"type": "image_url", "image_url": png},
            remote=True,
        ),
        DocumentForm(
            "image_url_object_remote",
            {"type": "image_url", "image_url": {"url": png_url}},
            {"type": "image_url", "image_url": {"url": png_url}},
            {"type": "image_url", "image_url": {"url": png}},
            remote=True,
        ),
        DocumentForm(
            "image_url_data_uri",
            {"type": "image_url", "image_url": png},
            {"type": "image_url", "image_url": png},
            {"type": "image_url", "image_url": png},
        ),
        DocumentForm(
            "file_id",
            {"type": "file", "file_id": FILE_ID},
            {"type": "file", "file_id": FILE_ID},
            None,
        ),
    ]
    return {form.name: form for form in forms}


DOCUMENT_FORM_NAMES = [
    "document_url_remote",
    "document_url_data_uri_pdf",
    "document_url_without_type",
    "image_url_string_remote",
    "image_url_object_remote",
    "image_url_data_uri",
    "file_id",
]


@pytest.mark.parametrize("form_name", DOCUMENT_FORM_NAMES)
async def test_each_document_form_arrives_exactly_as_the_provider_expects(
    target: Target,
    form_name: str,
    fake_server: FakeServerFactory,
    document_host: Any,
    pdf_bytes: bytes,
    png_bytes: bytes,
    validate_spec: SpecValidator,
) -> None:
    form = document_forms(
        document_host.base_url, pdf_bytes, png_bytes, inline=target.inlines_documents
    )[form_name]
    expected_document = form.inlined if target.inlines_documents else form.passed_through
    if expected_document is None:
        fake = FakeProvider(target.provider, api_key=KEY)
        url = await fake_server(fake)
        provider = create_provider(f"{target.provider}/{target.model}", **target.settings(url))
        async with httpx.AsyncClient() as client:
            with pytest.raises(BadRequestError, match="file_id"):
                await provider.send(OCRRequest.build(form.given), client)
        assert fake.request_count == 0
        return

    fake, response = await call_provider(target, fake_server, form.given)

    assert fake.request_count == 1
    expected_body = {"model": target.model, "document": expected_document}
    assert_sent_as_expected(target, fake.requests[-1], expected_body, validate_spec)
    validate_spec(response.to_wire(), "OCRResponse")
    # Only a provider that inlines documents downloads them, and never with a credential.
    expected_downloads = 1 if (form.remote and target.inlines_documents) else 0
    assert len(document_host.downloads) == expected_downloads
    for download in document_host.downloads:
        assert not any(SECRET_LOOKING.search(name) for name in download)
        assert not any(KEY in value for value in download.values())


# --- optional parameters --------------------------------------------------------------------

FIVE_PAGE_PDF = data_uri("application/pdf", make_pdf(5))
BBOX_FORMAT = {
    "type": "json_schema",
    "json_schema": {
        "name": "figure",
        "schema": {"type": "object", "properties": {"caption": {"type": "string"}}},
        "strict": True,
    },
}
DOCUMENT_FORMAT = {
    "type": "json_schema",
    "json_schema": {
        "name": "invoice",
        "schema": {
            "type": "object",
            "properties": {"total": {"type": "number"}},
            "required": ["total"],
        },
        "description": "the invoice total",
    },
}
PARAMETER_CASES: dict[str, dict[str, Any]] = {
    "pages_as_list": {"pages": [0, 2]},
    "pages_as_string": {"pages": "0,2-4"},
    "include_image_base64": {"include_image_base64": True},
    "image_limit": {"image_limit": 3},
    "image_min_size": {"image_min_size": 64},
    "bbox_annotation_format": {"bbox_annotation_format": BBOX_FORMAT},
    "document_annotation_format": {"document_annotation_format": DOCUMENT_FORMAT},
    "document_annotation_prompt": {
        "document_annotation_format": DOCUMENT_FORMAT,
        "document_annotation_prompt": "Find the total amount due.",
    },
    "table_format": {"table_format": "html"},
    "extract_header": {"extract_header": True},
    "extract_footer": {"extract_footer": True},
    "include_blocks": {"include_blocks": True},
    "confidence_scores_granularity": {"confidence_scores_granularity": "word"},
    # Every parameter at once, with False values that must be sent, not dropped as unset.
    "all_at_once": {
        "pages": [0, 1, 4],
        "include_image_base64": False,
        "image_limit": 2,
        "image_min_size": 32,
        "bbox_annotation_format": BBOX_FORMAT,
        "document_annotation_format": DOCUMENT_FORMAT,
        "document_annotation_prompt": "Find the total amount due.",
        "table_format": "markdown",
        "extract_header": True,
        "extract_footer": False,
        "include_blocks": False,
        "confidence_scores_granularity": "page",
    },
}


def test_the_parameter_cases_cover_every_optional_field_of_the_request() -> None:
    optional = set(OCRRequest.model_fields) - {"model", "document"}
    covered = {name for params in PARAMETER_CASES.values() for name in params}
    assert covered == optional
    assert set(PARAMETER_CASES["all_at_once"]) == optional


@pytest.mark.parametrize("case", list(PARAMETER_CASES))
async def test_each_optional_parameter_arrives_unchanged(
    target: Target, case: str, fake_server: FakeServerFactory, validate_spec: SpecValidator
) -> None:
    params = PARAMETER_CASES[case]
    document = {"type": "document_url", "document_url": FIVE_PAGE_PDF}
    lacking = set(params) - model_info(f"{target.provider}/{target.model}").supported_params
    if lacking:
        # The host's model has no such field (Vertex's 2505): it refuses, naming them.
        with pytest.raises(UnprocessableEntityError) as refused:
            await call_provider(target, fake_server, document, **params)
        assert all(name in str(refused.value) for name in lacking)
        return

    fake, response = await call_provider(target, fake_server, document, **params)

    expected_body = {"model": target.model, "document": document, **params}
    assert_sent_as_expected(target, fake.requests[-1], expected_body, validate_spec)
    validate_spec(response.to_wire(), "OCRResponse")


async def test_aocr_puts_the_same_request_on_the_wire_as_the_provider(
    target: Target,
    fake_server: FakeServerFactory,
    document_host: Any,
    pdf_bytes: bytes,
    validate_spec: SpecValidator,
) -> None:
    supported = model_info(f"{target.provider}/{target.model}").supported_params
    params = {k: v for k, v in PARAMETER_CASES["all_at_once"].items() if k in supported}
    remote = target.inlines_documents
    url = f"{document_host.base_url}/report.pdf" if remote else "https://documents.example/r.pdf"
    document = {"type": "document_url", "document_url": url}
    fake = FakeProvider(target.provider, api_key=KEY, default_page_count=5)
    fake_url = await fake_server(fake)
    settings = target.settings(fake_url)

    response = await aocr(f"{target.provider}/{target.model}", document, **settings, **params)

    sent_document = (
        {"type": "document_url", "document_url": data_uri("application/pdf", pdf_bytes)}
        if remote
        else document
    )
    expected_body = {"model": target.model, "document": sent_document, **params}
    assert_sent_as_expected(target, fake.requests[-1], expected_body, validate_spec)
    validate_spec(response.to_wire(), "OCRResponse")
