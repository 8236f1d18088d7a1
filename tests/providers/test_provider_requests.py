"""What each provider puts on the wire: method, URL, headers and JSON body, for every document
form and every optional parameter, plus where settings come from when the deployment omits them."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest
from provider_helpers import (
    OCR_OK,
    PDF_BYTES,
    PNG_BYTES,
    PUBLIC_IP,
    Recorder,
    mock_client,
    resolver_answering,
)

from providers import create_provider
from providers.azure_ai import AzureAIProvider, strict_annotations
from providers.base import Provider, ProviderSettings
from providers.mistral import MistralProvider
from providers.vertex_ai import VertexAIProvider
from router.errors import BadRequestError, ConfigError
from router.types import OCRRequest

PDF_URI = "data:application/pdf;base64," + base64.b64encode(PDF_BYTES).decode()
PNG_URI = "data:image/png;base64," + base64.b64encode(PNG_BYTES).decode()
FILE_ID = "3f2b1c9e-8a7d-4e6f-9b0a-1c2d3e4f5a6b"

ALL_OPTIONS: dict[str, Any] = {
    "pages": [0, 2],
    "include_image_base64": True,
    "image_limit": 5,
    "image_min_size": 64,
    "bbox_annotation_format": {
        "type": "json_schema",
        "json_schema": {"name": "box", "schema": {"type": "object"}, "strict": True},
    },
    "document_annotation_format": {
        "type": "json_schema",
        "json_schema": {
            "name": "doc",
            "schema": {"type": "object", "properties": {"title": {"type": "string"}}},
            "description": "the document's title",
        },
    },
    "document_annotation_prompt": "Extract the title",
    "table_format": "html",
    "extract_header": True,
    "extract_footer": False,
    "include_blocks": True,
    "confidence_scores_granularity": "word",
}

VERTEX_URL = (
    "https://us-central1-aiplatform.googleapis.com/v1/projects/proj-1/locations/us-central1"
    "/publishers/mistralai/models/mistral-ocr-2505:rawPredict"
)


def mistral(**settings: Any) -> Provider:
    return create_provider("mistral/mistral-ocr-latest", **{"api_key": "mk-1", **settings})


def azure(**settings: Any) -> Provider:
    values = {"api_key": "az-1", "api_base": "https://res.services.ai.azure.com", **settings}
    return AzureAIProvider(
        ProviderSettings(model="mistral-document-ai-2512", **values),
        resolver=resolver_answering(PUBLIC_IP),
    )


def vertex(**settings: Any) -> Provider:
    values = {"project": "proj-1", "token": "ya29.vertex-token", **settings}
    return VertexAIProvider(
        ProviderSettings(model="mistral-ocr-2505", **values),
        resolver=resolver_answering(PUBLIC_IP),
    )


def serve_documents(request: httpx.Request) -> httpx.Response:
    """OCR calls get a canned answer; document downloads get a PDF or a PNG by path."""
    if request.method == "GET":
        content = PNG_BYTES if request.url.path.endswith(".png") else PDF_BYTES
        return httpx.Response(200, content=content)

    return httpx.Response(200, json=OCR_OK)


async def send(provider: Provider, document: Any, **params: Any) -> Recorder:
    recorder = Recorder(serve_documents)
    async with mock_client(recorder) as client:
        await provider.send(OCRRequest.build(document, **params), client)
    return recorder


# --- URLs ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("api_base", "url"),
    [
        (None, "https://api.mistral.ai/v1/ocr"),
        ("http://127.0.0.1:8080/v1", "http://127.0.0.1:8080/v1/ocr"),
        ("http://127.0.0.1:8080/v1/", "http://127.0.0.1:8080/v1/ocr"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080/v1/ocr"),
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080/v1/ocr"),
        ("https://gateway.example/mistral", "https://gateway.example/mistral/v1/ocr"),
    ],
)
async def test_mistral_url_follows_api_base_rules(api_base: str | None, url: str) -> None:
    recorder = await send(mistral(api_base=api_base), PDF_URI)
    assert recorder.posts[0].method == "POST"
    assert str(recorder.posts[0].url) == url


@pytest.mark.parametrize(
    ("api_base", "api_version", "url"),
    [
        (
            "https://res.services.ai.azure.com",
            None,
            "https://res.services.ai.azure.com/providers/mistral/azure/ocr",
        ),
        (
            "https://res.cognitiveservices.azure.com/",
            None,
            "https://res.cognitiveservices.azure.com/providers/mistral/azure/ocr",
        ),
        (
            "https://res.services.ai.azure.com",
            "2024-05-01-preview",
            "https://res.services.ai.azure.com/providers/mistral/azure/ocr"
            "?api-version=2024-05-01-preview",
        ),
        (
            "https://endpoint.models.ai.azure.com/v1",
            None,
            "https://endpoint.models.ai.azure.com/v1/ocr",
        ),
        (
            "https://endpoint.models.ai.azure.com/v1/",
            None,
            "https://endpoint.models.ai.azure.com/v1/ocr",
        ),
        (
            "https://res.services.ai.azure.com/providers/mistral/azure/ocr",
            None,
            "https://res.services.ai.azure.com/providers/mistral/azure/ocr",
        ),
        (
            "http://127.0.0.1:9000/v1/ocr",
            "2025-01-01",
            "http://127.0.0.1:9000/v1/ocr?api-version=2025-01-01",
        ),
        # The portal's "Target URI", pasted whole: its api-version is kept, not appended to.
        (
            "https://res.services.ai.azure.com/providers/mistral/azure/ocr"
            "?api-version=2024-05-01-preview",
            None,
            "https://res.services.ai.azure.com/providers/mistral/azure/ocr"
            "?api-version=2024-05-01-preview",
        ),
        (
            "https://res.services.ai.azure.com/?api-version=2024-05-01-preview",
            None,
            "https://res.services.ai.azure.com/providers/mistral/azure/ocr"
            "?api-version=2024-05-01-preview",
        ),
        # An explicit api_version wins over the one in the pasted URL, never doubled.
        (
            "https://res.services.ai.azure.com/providers/mistral/azure/ocr"
            "?api-version=2024-05-01-preview",
            "2025-01-01",
            "https://res.services.ai.azure.com/providers/mistral/azure/ocr?api-version=2025-01-01",
        ),
    ],
)
async def test_azure_url_follows_api_base_rules(
    api_base: str, api_version: str | None, url: str
) -> None:
    recorder = await send(azure(api_base=api_base, api_version=api_version), PDF_URI)
    assert str(recorder.posts[0].url) == url


@pytest.mark.parametrize(
    ("settings", "url"),
    [
        ({}, VERTEX_URL),
        (
            {"location": "europe-west4"},
            "https://europe-west4-aiplatform.googleapis.com/v1/projects/proj-1/locations/"
            "europe-west4/publishers/mistralai/models/mistral-ocr-2505:rawPredict",
        ),
        (
            {"vertex_location": "global"},
            "https://aiplatform.googleapis.com/v1/projects/proj-1/locations/global"
            "/publishers/mistralai/models/mistral-ocr-2505:rawPredict",
        ),
        (
            {"api_base": "http://127.0.0.1:7000/"},
            "http://127.0.0.1:7000/v1/projects/proj-1/locations/us-central1"
            "/publishers/mistralai/models/mistral-ocr-2505:rawPredict",
        ),
    ],
)
async def test_vertex_url_is_the_raw_predict_endpoint(settings: dict[str, Any], url: str) -> None:
    recorder = await send(vertex(**settings), PDF_URI)
    assert str(recorder.posts[0].url) == url


# --- headers ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "authorization"),
    [(mistral, "Bearer mk-1"), (azure, "Bearer az-1"), (vertex, "Bearer ya29.vertex-token")],
)
async def test_each_provider_sends_bearer_auth_and_json(make: Any, authorization: str) -> None:
    request = (await send(make(), PDF_URI)).posts[0]
    assert request.headers["authorization"] == authorization
    assert request.headers["content-type"] == "application/json"
    assert request.headers["accept"] == "application/json"
    assert "api-key" not in request.headers


async def test_deployment_headers_are_added_but_cannot_replace_auth() -> None:
    provider = mistral(headers={"X-Team": "ocr", "Authorization": "Bearer wrong"})
    request = (await send(provider, PDF_URI)).posts[0]
    assert request.headers["x-team"] == "ocr"
    assert request.headers["authorization"] == "Bearer mk-1"


async def test_a_deployment_header_in_another_case_cannot_add_a_second_authorization() -> None:
    # Header names are case-insensitive: YAML configs often spell them in lower case.
    provider = mistral(headers={"authorization": "Bearer wrong", "x-team": "ocr"})
    request = (await send(provider, PDF_URI)).posts[0]
    assert request.headers.get_list("authorization") == ["Bearer mk-1"]
    assert request.headers.get_list("content-type") == ["application/json"]


# --- bodies -------------------------------------------------------------------------------------


def wire(request: httpx.Request) -> Any:
    # The body is compact JSON: re-encoding it compactly gives the same bytes.
    body = json.loads(request.content)
    assert request.content == json.dumps(body, separators=(",", ":")).encode()
    return body


@pytest.mark.parametrize(
    ("document", "sent"),
    [
        (
            {"type": "document_url", "document_url": "https://docs.example.com/a.pdf"},
            {"type": "document_url", "document_url": "https://docs.example.com/a.pdf"},
        ),
        (
            {"document_url": "https://docs.example.com/a.pdf", "document_name": "a.pdf"},
            {
                "type": "document_url",
                "document_url": "https://docs.example.com/a.pdf",
                "document_name": "a.pdf",
            },
        ),
        (
            {"type": "document_url", "document_url": PDF_URI},
            {"type": "document_url", "document_url": PDF_URI},
        ),
        (
            {"type": "image_url", "image_url": "https://img.example.com/p.png"},
            {"type": "image_url", "image_url": "https://img.example.com/p.png"},
        ),
        (
            {"type": "image_url", "image_url": {"url": "https://img.example.com/p.png"}},
            {"type": "image_url", "image_url": {"url": "https://img.example.com/p.png"}},
        ),
        ({"type": "file", "file_id": FILE_ID}, {"type": "file", "file_id": FILE_ID}),
    ],
)
async def test_mistral_passes_every_document_form_through(
    document: dict[str, Any], sent: dict[str, Any]
) -> None:
    recorder = await send(mistral(), document)
    assert recorder.requests == recorder.posts  # Mistral fetches remote URLs itself
    assert wire(recorder.posts[0]) == {"model": "mistral-ocr-latest", "document": sent}


INLINED_FORMS = [
    (
        {"type": "document_url", "document_url": "https://docs.example.com/a.pdf"},
        {"type": "document_url", "document_url": PDF_URI},
    ),
    (
        {"document_url": "https://docs.example.com/a.pdf?sig=1", "document_name": "a.pdf"},
        {"type": "document_url", "document_url": PDF_URI, "document_name": "a.pdf"},
    ),
    (
        {"type": "document_url", "document_url": PDF_URI},
        {"type": "document_url", "document_url": PDF_URI},
    ),
    (
        {"type": "image_url", "image_url": "https://img.example.com/p.png"},
        {"type": "image_url", "image_url": PNG_URI},
    ),
    (
        {"type": "image_url", "image_url": {"url": "https://img.example.com/p.png"}},
        {"type": "image_url", "image_url": {"url": PNG_URI}},
    ),
    ({"type": "image_url", "image_url": PNG_URI}, {"type": "image_url", "image_url": PNG_URI}),
]


@pytest.mark.parametrize(("document", "sent"), INLINED_FORMS)
async def test_azure_sends_every_document_as_a_data_uri(
    document: dict[str, Any], sent: dict[str, Any]
) -> None:
    recorder = await send(azure(), document)
    assert wire(recorder.posts[0]) == {"model": "mistral-document-ai-2512", "document": sent}


@pytest.mark.parametrize(("document", "sent"), INLINED_FORMS)
async def test_vertex_sends_every_document_as_a_data_uri_with_the_model(
    document: dict[str, Any], sent: dict[str, Any]
) -> None:
    recorder = await send(vertex(), document)
    assert wire(recorder.posts[0]) == {"model": "mistral-ocr-2505", "document": sent}


async def test_remote_document_download_is_pinned_to_the_checked_address() -> None:
    recorder = await send(azure(), "https://docs.example.com/a.pdf")
    download = recorder.requests[0]
    assert download.method == "GET"
    assert download.url.host == PUBLIC_IP
    assert download.headers["host"] == "docs.example.com"
    assert download.extensions["sni_hostname"] == "docs.example.com"


@pytest.mark.parametrize("make", [azure, vertex])
async def test_file_ids_are_refused_outside_mistral_before_sending(make: Any) -> None:
    recorder = Recorder()
    async with mock_client(recorder) as client:
        with pytest.raises(BadRequestError, match="Mistral-only") as caught:
            await make().send(OCRRequest.build({"file_id": FILE_ID}), client)
    assert recorder.requests == []
    assert caught.value.retryable is False


@pytest.mark.parametrize(
    ("make", "model"),
    [
        (mistral, "mistral-ocr-latest"),
        (azure, "mistral-document-ai-2512"),
        (vertex, "mistral-ocr-2505"),
    ],
)
async def test_every_optional_parameter_reaches_the_body_unchanged(make: Any, model: str) -> None:
    recorder = await send(make(), PDF_URI, **ALL_OPTIONS)
    expected = {
        "model": model,
        "document": {"type": "document_url", "document_url": PDF_URI},
        **ALL_OPTIONS,
    }
    if make is azure:  # Azure skips annotation unless strict: the provider sets it when unset
        expected = strict_annotations(expected)
    assert wire(recorder.posts[0]) == expected


@pytest.mark.parametrize("make", [mistral, azure, vertex])
async def test_pages_given_as_a_string_are_sent_as_a_string(make: Any) -> None:
    recorder = await send(make(), PDF_URI, pages="0,2-4")
    assert wire(recorder.posts[0])["pages"] == "0,2-4"


@pytest.mark.parametrize("make", [mistral, azure, vertex])
async def test_unset_parameters_are_not_sent(make: Any) -> None:
    body = wire((await send(make(), PDF_URI)).posts[0])
    assert set(body) == {"model", "document"}


async def test_extra_body_fields_are_sent_only_when_the_caller_asks() -> None:
    recorder = Recorder()
    async with mock_client(recorder) as client:
        request = OCRRequest.build(PDF_URI, extra_body={"future_flag": True})
        await mistral().send(request, client)
    assert wire(recorder.posts[0])["future_flag"] is True


# --- settings and environment -------------------------------------------------------------------


async def test_mistral_key_falls_back_to_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MISTRAL_API_KEY", "env-mistral-key")
    provider = create_provider("mistral/mistral-ocr-latest")
    assert isinstance(provider, MistralProvider)
    request = (await send(provider, PDF_URI)).posts[0]
    assert request.headers["authorization"] == "Bearer env-mistral-key"


async def test_deployment_key_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MISTRAL_API_KEY", "env-mistral-key")
    request = (await send(mistral(api_key="deployment-key"), PDF_URI)).posts[0]
    assert request.headers["authorization"] == "Bearer deployment-key"


async def test_azure_base_and_key_fall_back_to_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AZURE_AI_API_BASE", "https://env.services.ai.azure.com")
    monkeypatch.setenv("AZURE_AI_API_KEY", "env-azure-key")
    provider = create_provider("azure_ai/mistral-document-ai-2512")
    assert isinstance(provider, AzureAIProvider)
    request = (await send(provider, PDF_URI)).posts[0]
    assert str(request.url) == "https://env.services.ai.azure.com/providers/mistral/azure/ocr"
    assert request.headers["authorization"] == "Bearer env-azure-key"


async def test_vertex_project_and_location_fall_back_to_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VERTEXAI_PROJECT", "env-project")
    monkeypatch.setenv("VERTEXAI_LOCATION", "europe-west4")
    provider = create_provider("vertex_ai/mistral-ocr-2505", token="ya29.t")
    assert isinstance(provider, VertexAIProvider)
    assert provider.url() == (
        "https://europe-west4-aiplatform.googleapis.com/v1/projects/env-project/locations/"
        "europe-west4/publishers/mistralai/models/mistral-ocr-2505:rawPredict"
    )


@pytest.mark.parametrize(
    "model",
    [
        "mistral/mistral-ocr-latest",
        "azure_ai/mistral-document-ai-2512",
        "vertex_ai/mistral-ocr-2505",
    ],
)
@pytest.mark.parametrize(
    "api_base", ["not a url", "ftp://files.example.com/v1", "res.services.ai.azure.com", "https://"]
)
def test_an_api_base_that_is_no_http_url_fails_at_construction(model: str, api_base: str) -> None:
    # Not a retryable connection error at the first call: no retry can fix a configuration.
    with pytest.raises(ConfigError, match="api_base"):
        create_provider(model, api_key="k-1", project="proj-1", token="ya29.t", api_base=api_base)


def test_vertex_location_defaults_to_us_central1(monkeypatch: pytest.MonkeyPatch) -> None:
    provider = create_provider("vertex_ai/mistral-ocr-2505", project="proj-1", token="ya29.t")
    assert provider.url() == VERTEX_URL


@pytest.mark.parametrize(
    ("model", "settings", "env", "variable"),
    [
        ("mistral/mistral-ocr-latest", {}, {}, "MISTRAL_API_KEY"),
        (
            "azure_ai/mistral-document-ai-2512",
            {"api_key": "sk-SECRET-canary-123"},
            {},
            "AZURE_AI_API_BASE",
        ),
        (
            "azure_ai/mistral-document-ai-2512",
            {},
            {"AZURE_AI_API_BASE": "https://res.services.ai.azure.com"},
            "AZURE_AI_API_KEY",
        ),
        (
            "vertex_ai/mistral-ocr-2505",
            {"token": "sk-SECRET-canary-123"},
            {"VERTEXAI_LOCATION": "us-central1"},
            "VERTEXAI_PROJECT",
        ),
    ],
)
def test_missing_setting_fails_at_construction_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
    model: str,
    settings: dict[str, Any],
    env: dict[str, str],
    variable: str,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        create_provider(model, **settings)
    message = str(caught.value)
    assert variable in message
    assert "sk-SECRET-canary-123" not in message and "sk-SECRET-canary-123" not in repr(
        caught.value
    )
    for value in env.values():
        assert value not in message


def test_an_empty_environment_variable_counts_as_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MISTRAL_API_KEY", "")
    with pytest.raises(ConfigError, match="MISTRAL_API_KEY"):
        create_provider("mistral/mistral-ocr-latest")


def test_create_provider_returns_each_providers_class() -> None:
    assert isinstance(mistral(), MistralProvider)
    made = create_provider(
        "azure_ai/mistral-document-ai-2512", api_key="k", api_base="https://r.services.ai.azure.com"
    )
    assert isinstance(made, AzureAIProvider)
    made = create_provider("vertex_ai/mistral-ocr-2505", vertex_project="p", token="t")
    assert isinstance(made, VertexAIProvider)


@pytest.mark.parametrize("make", [mistral, azure, vertex])
@pytest.mark.parametrize(
    "document",
    [
        "https://docs.example.com/a.pdf",
        PDF_URI,
        {"image_url": "https://img.example.com/p.png"},
        {"image_url": {"url": "https://img.example.com/p.png"}},
    ],
)
async def test_every_body_conforms_to_mistrals_published_schema(
    make: Any, document: Any, validate_spec: Any
) -> None:
    recorder = await send(make(), document, **ALL_OPTIONS)
    validate_spec(wire(recorder.posts[0]), "OCRRequest")


async def test_a_file_id_body_conforms_to_mistrals_published_schema(validate_spec: Any) -> None:
    recorder = await send(mistral(), {"file_id": FILE_ID}, pages="0-2")
    validate_spec(wire(recorder.posts[0]), "OCRRequest")
