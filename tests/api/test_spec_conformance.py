"""What ocr()/aocr() send and return conforms to Mistral's OpenAPI spec, for every provider.

Each fake records the body it received; that body must validate against the spec's `OCRRequest`
and the response handed to the caller against `OCRResponse`. Tests skip with a reason where
the spec file is absent (tests/conftest.py's `validate_spec`).
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest
from api_samples import SAMPLE_PAGES, SECRET_KEY

from providers.azure_ai import strict_annotations
from providers.fake import FakeProvider
from router.api import aocr
from router.capabilities import model_info
from router.errors import UnprocessableEntityError
from router.types import OCRResponse

SpecValidator = Callable[[Any, str], None]
FakeServer = Callable[[FakeProvider], Any]

INVOICE_SCHEMA = {
    "type": "json_schema",
    "json_schema": {
        "name": "invoice",
        "schema": {
            "type": "object",
            "properties": {"total": {"type": "number"}, "vendor": {"type": "string"}},
            "required": ["total"],
        },
        "strict": True,
    },
}
FIGURE_SCHEMA = {
    "type": "json_schema",
    "json_schema": {
        "name": "figure",
        "schema": {"type": "object", "properties": {"caption": {"type": "string"}}},
        "description": "what each figure shows",
    },
}

# Every optional field of the request, in the forms a user would pass.
OPTION_SETS: dict[str, dict[str, Any]] = {
    "none": {},
    "seed_options": {
        "pages": [0, 1, 2],
        "include_image_base64": True,
        "image_limit": 10,
        "image_min_size": 100,
    },
    "page_string": {"pages": "0,2"},
    "annotations": {
        "bbox_annotation_format": FIGURE_SCHEMA,
        "document_annotation_format": INVOICE_SCHEMA,
        "document_annotation_prompt": "Extract the invoice total.",
    },
    "newer_fields": {
        "table_format": "html",
        "extract_header": True,
        "extract_footer": True,
        "include_blocks": True,
        "confidence_scores_granularity": "word",
    },
}


def _call_settings(provider: str, base_url: str) -> dict[str, Any]:
    if provider == "vertex_ai":
        return {"api_base": base_url, "vertex_project": "p-1", "token": SECRET_KEY}
    return {"api_base": base_url, "api_key": SECRET_KEY}


MODELS = {
    "mistral": "mistral/mistral-ocr-latest",
    "azure_ai": "azure_ai/mistral-ocr-4-0",
    "vertex_ai": "vertex_ai/mistral-ocr-2505",
}


def _returned(response: OCRResponse) -> dict[str, Any]:
    """The response as a caller (or the proxy) would serialise it: the fields the provider set."""
    return response.model_dump(mode="json", by_alias=True, exclude_unset=True)


@pytest.mark.parametrize("options", list(OPTION_SETS), ids=list(OPTION_SETS))
@pytest.mark.parametrize("provider", list(MODELS))
async def test_request_and_response_conform_to_the_spec(
    provider: str,
    options: str,
    fake_server: FakeServer,
    validate_spec: SpecValidator,
    base64_pdf: str,
) -> None:
    fake = FakeProvider(provider, api_key=SECRET_KEY)
    base_url = await fake_server(fake)
    lacking = set(OPTION_SETS[options]) - model_info(MODELS[provider]).supported_params
    if lacking:
        # Vertex's mistral-ocr-2505 has none of the newer fields: the host refuses them.
        with pytest.raises(UnprocessableEntityError, match=sorted(lacking)[0]):
            await aocr(
                MODELS[provider],
                {
                    "type": "document_url",
                    "document_url": f"data:application/pdf;base64,{base64_pdf}",
                },
                **_call_settings(provider, base_url),
                **OPTION_SETS[options],
            )
        return
    response = await aocr(
        MODELS[provider],
        {"type": "document_url", "document_url": f"data:application/pdf;base64,{base64_pdf}"},
        **_call_settings(provider, base_url),
        **OPTION_SETS[options],
    )
    received = fake.requests[-1]
    assert received.outcome == "ok"
    validate_spec(received.json, "OCRRequest")
    validate_spec(_returned(response), "OCRResponse")
    sent = dict(OPTION_SETS[options])
    if provider == "azure_ai":  # the provider sets json_schema.strict, which Azure needs
        sent = strict_annotations(sent)
    for name, value in sent.items():
        assert received.json[name] == value


def _document(form: str, png_bytes: bytes, pdf_bytes: bytes) -> Any:
    png_uri = "data:image/png;base64," + base64.b64encode(png_bytes).decode()
    return {
        "remote_url": {"type": "document_url", "document_url": "https://arxiv.org/pdf/2201.04234"},
        "type_omitted": {"document_url": "https://arxiv.org/pdf/2201.04234"},
        "image_data_uri": {"type": "image_url", "image_url": png_uri},
        "image_url_object": {"type": "image_url", "image_url": {"url": png_uri}},
        "local_bytes": {"type": "file", "file": pdf_bytes, "mime_type": "application/pdf"},
    }[form]


@pytest.mark.parametrize(
    "form", ["remote_url", "type_omitted", "image_data_uri", "image_url_object", "local_bytes"]
)
async def test_every_document_form_is_sent_as_the_spec_says(
    form: str,
    fake_server: FakeServer,
    validate_spec: SpecValidator,
    png_bytes: bytes,
    pdf_bytes: bytes,
) -> None:
    fake = FakeProvider("mistral", api_key=SECRET_KEY)
    base_url = await fake_server(fake)
    response = await aocr(
        "mistral/mistral-ocr-latest",
        _document(form, png_bytes, pdf_bytes),
        api_key=SECRET_KEY,
        api_base=base_url,
    )
    validate_spec(fake.requests[-1].json, "OCRRequest")
    validate_spec(_returned(response), "OCRResponse")


async def test_local_pdf_becomes_a_data_uri_on_every_provider(
    fake_server: FakeServer, validate_spec: SpecValidator, pdf_bytes: bytes
) -> None:
    for provider, model in MODELS.items():
        fake = FakeProvider(provider, api_key=SECRET_KEY)
        base_url = await fake_server(fake)
        response = await aocr(model, pdf_bytes, **_call_settings(provider, base_url))
        sent = fake.requests[-1].json
        validate_spec(sent, "OCRRequest")
        assert sent["document"]["document_url"].startswith("data:application/pdf;base64,")
        assert response.usage_info.pages_processed == SAMPLE_PAGES
