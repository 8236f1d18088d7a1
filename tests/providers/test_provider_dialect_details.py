"""Dialect details of issue 11: Azure's URL forms and strict annotations, Vertex's
multi-regions, location rule and LiteLLM spellings, annotation formats of type json_schema."""

from __future__ import annotations

import pytest

from providers import create_provider
from providers.azure_ai import azure_ocr_url, strict_annotations
from providers.vertex_ai import VertexAIProvider, vertex_ocr_url
from providers.vertex_auth import GoogleCredentialsTokenSource, StaticTokenSource
from router.config import build_deployments
from router.errors import ConfigError, InvalidRequestError
from router.types import OCRRequest


@pytest.mark.parametrize(
    ("base", "url"),
    [
        # The server_url Mistral's SDK takes: /ocr appended once.
        (
            "https://r.services.ai.azure.com/providers/mistral/azure",
            "https://r.services.ai.azure.com/providers/mistral/azure/ocr",
        ),
        (
            "https://r.services.ai.azure.com/providers/mistral/azure/",
            "https://r.services.ai.azure.com/providers/mistral/azure/ocr",
        ),
        (
            "https://r.services.ai.azure.com/providers/mistral/azure?api-version=2024-05-01-preview",
            "https://r.services.ai.azure.com/providers/mistral/azure/ocr?api-version=2024-05-01-preview",
        ),
        # Legacy serverless endpoints: /v1/ocr.
        (
            "https://mistral-ocr-abcd.eastus2.models.ai.azure.com",
            "https://mistral-ocr-abcd.eastus2.models.ai.azure.com/v1/ocr",
        ),
        (
            "https://mistral-ocr-abcd.eastus2.models.ai.azure.com/v1",
            "https://mistral-ocr-abcd.eastus2.models.ai.azure.com/v1/ocr",
        ),
        # A Foundry resource.
        (
            "https://r.services.ai.azure.com",
            "https://r.services.ai.azure.com/providers/mistral/azure/ocr",
        ),
    ],
)  # fmt: skip
def test_azure_base_forms_build_the_right_path(base: str, url: str) -> None:
    assert azure_ocr_url(base) == url


def test_azure_annotations_get_strict_unless_the_caller_set_it() -> None:
    unset = {"type": "json_schema", "json_schema": {"name": "a", "schema": {}}}
    chosen = {"type": "json_schema", "json_schema": {"name": "b", "schema": {}, "strict": False}}
    body = strict_annotations(
        {"bbox_annotation_format": unset, "document_annotation_format": chosen}
    )
    assert body["bbox_annotation_format"]["json_schema"]["strict"] is True
    assert body["document_annotation_format"]["json_schema"]["strict"] is False
    assert "strict" not in unset["json_schema"]  # the caller's dict is left alone


def test_azure_provider_body_sets_strict() -> None:
    provider = create_provider(
        "azure_ai/mistral-ocr-4-0", api_key="k", api_base="https://r.services.ai.azure.com"
    )
    schema = {"type": "json_schema", "json_schema": {"name": "a", "schema": {}}}
    request = OCRRequest.build("https://example.org/a.pdf", document_annotation_format=schema)
    assert provider.body(request)["document_annotation_format"]["json_schema"]["strict"] is True


@pytest.mark.parametrize(
    ("location", "host"),
    [
        ("us", "aiplatform.us.rep.googleapis.com"),
        ("eu", "aiplatform.eu.rep.googleapis.com"),
        ("global", "aiplatform.googleapis.com"),
        ("europe-west4", "europe-west4-aiplatform.googleapis.com"),
    ],
)
def test_vertex_hosts_per_location(location: str, host: str) -> None:
    url = vertex_ocr_url("p", location, "mistral-ocr-2505")
    assert url == (
        f"https://{host}/v1/projects/p/locations/{location}"
        "/publishers/mistralai/models/mistral-ocr-2505:rawPredict"
    )


@pytest.mark.parametrize("location", ["evil.com/x", "US", "1abc", "us central", "eu/../x"])
def test_a_vertex_location_outside_googles_names_is_a_config_error(location: str) -> None:
    with pytest.raises(ConfigError, match="not a Google location"):
        create_provider("vertex_ai/mistral-ocr-2505", project="p", location=location, token="t")


def test_litellm_spellings_of_vertex_settings_load(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VERTEXAI_LOCATION", raising=False)
    monkeypatch.setenv("VERTEX_LOCATION", "eu")
    provider = create_provider("vertex_ai/mistral-ocr-2505", vertex_ai_project="p-1", token="t")
    assert isinstance(provider, VertexAIProvider)
    assert (provider.project, provider.location) == ("p-1", "eu")
    (deployment,) = build_deployments(
        [
            {
                "model_name": "ocr",
                "model": "vertex_ai/mistral-ocr-2505",
                "vertex_ai_project": "p-2",
                "vertex_ai_location": "europe-west4",
                "token": "t",
            }
        ]
    )
    assert "/projects/p-2/locations/europe-west4/" in deployment.provider.url()
    with pytest.raises(ConfigError, match="not a usable service-account key"):
        build_deployments(
            [
                {
                    "model_name": "ocr",
                    "model": "vertex_ai/mistral-ocr-2505",
                    "vertex_ai_project": "p",
                    "vertex_ai_credentials": {"type": "service_account"},
                }
            ]
        )


def test_vertexai_credentials_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VERTEXAI_CREDENTIALS", "/nonexistent/service-account.json")
    with pytest.raises(ConfigError, match="neither JSON nor a readable file"):
        create_provider("vertex_ai/mistral-ocr-2505", project="p")
    # A deployment's own token still wins over the environment.
    provider = create_provider("vertex_ai/mistral-ocr-2505", project="p", token="t")
    assert isinstance(provider, VertexAIProvider)
    assert isinstance(provider.token_source, StaticTokenSource)
    assert not isinstance(provider.token_source, GoogleCredentialsTokenSource)


@pytest.mark.parametrize("kind", ["text", "json_object"])
def test_annotation_formats_take_only_json_schema(kind: str) -> None:
    with pytest.raises(InvalidRequestError, match="only type 'json_schema'"):
        OCRRequest.build("https://example.org/a.pdf", bbox_annotation_format={"type": kind})
    with pytest.raises(InvalidRequestError, match="json_schema"):
        OCRRequest.build("https://example.org/a.pdf", document_annotation_format={})
