"""Each fake speaks its provider's dialect: routes, credentials, body checks and error envelopes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fake_helpers import KEY, PROVIDERS, Send, auth, body, png_uri

from providers.fake import FakeProvider
from providers.samples import make_pdf

REMOTE_PDF = "https://example.org/report.pdf"


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_right_bearer_key_is_answered(send: Send, provider: str) -> None:
    fake = FakeProvider(provider, api_key=KEY)
    response = await send(fake, body(), headers=auth())
    assert response.status_code == 200
    assert fake.outcomes["ok"] == 1


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("headers", [{}, auth("wrong-key"), {"Authorization": KEY}])
async def test_missing_or_wrong_key_is_refused_with_401(
    send: Send, provider: str, headers: dict[str, str]
) -> None:
    fake = FakeProvider(provider, api_key=KEY, script=["500"])
    response = await send(fake, body(), headers=headers)
    assert response.status_code == 401
    assert fake.outcomes == {"unauthorized": 1}
    assert KEY not in response.text


async def test_refused_request_does_not_consume_the_script(send: Send) -> None:
    fake = FakeProvider("mistral", api_key=KEY, script=["503"])
    assert (await send(fake, body(), headers=auth("wrong"))).status_code == 401
    assert (await send(fake, body(), headers=auth())).status_code == 503


async def test_api_key_none_accepts_any_credential_or_none(send: Send) -> None:
    fake = FakeProvider("vertex_ai", api_key=None)
    assert (await send(fake, body())).status_code == 200
    assert (await send(fake, body(), headers=auth("anything"))).status_code == 200


async def test_mistral_401_has_its_message_and_request_id(send: Send) -> None:
    response = await send(FakeProvider("mistral", api_key=KEY), body(), headers=auth("no"))
    payload = response.json()
    assert payload["message"] == "Unauthorized"
    assert len(payload["request_id"]) == 32


async def test_azure_accepts_the_api_key_header(send: Send) -> None:
    fake = FakeProvider("azure_ai", api_key=KEY)
    assert (await send(fake, body(), headers={"api-key": KEY})).status_code == 200
    refused = await send(fake, body(), headers={"api-key": "wrong"})
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "401"


async def test_azure_serves_the_legacy_v1_route_and_ignores_the_query(send: Send) -> None:
    fake = FakeProvider("azure_ai", api_key=KEY)
    legacy = await send(fake, body(), path="/v1/ocr", headers=auth())
    other_version = await send(
        fake, body(), path="/providers/mistral/azure/ocr?api-version=2099-01-01", headers=auth()
    )
    assert (legacy.status_code, other_version.status_code) == (200, 200)
    assert fake.requests[1].query == {"api-version": "2099-01-01"}


@pytest.mark.parametrize(
    ("provider", "expected"),
    [
        ("mistral", {"detail": "Not Found"}),
        ("azure_ai", {"error": {"code": "404", "message": "Resource not found"}}),
    ],
)
async def test_unknown_path_is_404_in_the_dialects_envelope(
    send: Send, provider: str, expected: dict[str, object]
) -> None:
    fake = FakeProvider(provider, script=["500"])
    response = await send(fake, body(), path="/v2/unknown", headers=auth())
    assert response.status_code == 404
    assert response.json() == expected
    assert fake.outcomes == {"not_found": 1}


async def test_vertex_unknown_path_is_404_not_found(send: Send) -> None:
    response = await send(FakeProvider("vertex_ai"), body(), path="/v1/models:predict")
    assert response.status_code == 404
    assert response.json()["error"]["status"] == "NOT_FOUND"


async def test_vertex_route_takes_any_project_location_and_model(send: Send) -> None:
    path = "/v1/projects/p-1/locations/europe-west4/publishers/mistralai/models/x-2:rawPredict"
    assert (await send(FakeProvider("vertex_ai"), body(), path=path)).status_code == 200


async def test_mistral_refuses_an_unknown_field_with_its_422_envelope(send: Send) -> None:
    # The newer API's form (WIRE.md rev.: mistralai 3.7): detail and message both list it.
    fake = FakeProvider("mistral")
    response = await send(fake, body(foo=1))
    assert response.status_code == 422
    refusal = {
        "type": "extra_forbidden",
        "loc": ["body", "foo"],
        "msg": "Extra inputs are not permitted",
        "input": 1,
    }
    assert response.json() == {
        "object": "Error",
        "detail": [refusal],
        "message": [refusal],
        "type": "invalid_request_error",
        "code": 3001,
        "raw_status_code": 422,
    }
    assert fake.outcomes == {"invalid": 1}


async def test_mistral_older_422_envelope_on_request(send: Send) -> None:
    fake = FakeProvider("mistral", newer_errors=False)
    response = await send(fake, body(foo=1))
    assert response.status_code == 422
    assert response.json() == {
        "object": "error",
        "message": {
            "detail": [
                {
                    "type": "extra_forbidden",
                    "loc": ["body", "foo"],
                    "msg": "Extra inputs are not permitted",
                    "input": 1,
                }
            ]
        },
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }
    assert fake.outcomes == {"invalid": 1}


@pytest.mark.parametrize(
    ("payload", "location", "error_type"),
    [
        ({"document": {"document_url": "https://example.org/a.pdf"}}, ["body", "model"], "missing"),
        ({"model": "mistral-ocr-2512"}, ["body", "document"], "missing"),
        (
            {**body(), "include_image_base64": "sometimes"},
            ["body", "include_image_base64"],
            "bool_parsing",
        ),
    ],
)
async def test_mistral_names_the_missing_or_wrong_field(
    send: Send, payload: dict[str, object], location: list[str], error_type: str
) -> None:
    response = await send(FakeProvider("mistral"), payload)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert {"loc": location, "type": error_type} in [
        {"loc": item["loc"], "type": item["type"]} for item in detail
    ]


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_second_authorization_header_is_seen_and_refused_over_both_transports(
    send: Send, provider: str
) -> None:
    # A client bug that sends two credentials must show, over a socket as in-process: a server
    # that kept only the last header would accept it and hide the bug.
    fake = FakeProvider(provider, api_key=KEY)
    headers = httpx.Headers([("Authorization", "Bearer wrong"), ("Authorization", f"Bearer {KEY}")])
    response = await send(fake, body(), headers=headers)
    assert response.status_code == 401
    assert fake.requests[-1].headers["authorization"] == f"Bearer wrong, Bearer {KEY}"


@pytest.mark.parametrize(
    ("document", "location"),
    [
        ("https://example.org/a.pdf", ["body", "document"]),  # a bare string is no chunk
        ({"type": "file", "file": "LOCAL_PDF"}, ["body", "document", "file"]),  # LiteLLM's form
        ({"file": "LOCAL_PDF"}, ["body", "document", "file"]),
    ],
)
async def test_mistral_refuses_python_only_document_forms_and_never_reads_a_local_path(
    send: Send, tmp_path: Any, document: Any, location: list[str]
) -> None:
    # Such forms are conveniences of our Python API; on the wire the real service answers 422,
    # and a fake that opened the named path would read files of the host it runs on.
    local_pdf = tmp_path / "private.pdf"
    local_pdf.write_bytes(make_pdf(2))
    if isinstance(document, dict):
        document = {
            key: str(local_pdf) if value == "LOCAL_PDF" else value
            for key, value in document.items()
        }
    response = await send(
        FakeProvider("mistral"), {"model": "mistral-ocr-2512", "document": document}
    )
    assert response.status_code == 422
    assert location in [item["loc"] for item in response.json()["detail"]]


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_body_that_is_not_json_is_400(send: Send, provider: str) -> None:
    fake = FakeProvider(provider)
    response = await send(fake, content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert fake.requests[0].json is None


async def test_mistral_accepts_a_remote_url_and_assumes_default_page_count(send: Send) -> None:
    fake = FakeProvider("mistral", default_page_count=4)
    response = await send(fake, body(REMOTE_PDF))
    assert response.status_code == 200
    assert [page["index"] for page in response.json()["pages"]] == [0, 1, 2, 3]


async def test_azure_refuses_a_remote_url_in_its_envelope(send: Send) -> None:
    response = await send(FakeProvider("azure_ai"), body(REMOTE_PDF))
    assert response.status_code == 400
    assert response.json() == {
        "error": {"code": "400", "message": "documents must be base64 data URIs"}
    }


async def test_vertex_refuses_a_remote_url_with_invalid_argument(send: Send) -> None:
    response = await send(FakeProvider("vertex_ai"), body(REMOTE_PDF))
    assert response.status_code == 400
    assert response.json()["error"]["status"] == "INVALID_ARGUMENT"
    assert "data URI" in response.json()["error"]["message"]


async def test_vertex_requires_the_model_in_the_body(send: Send) -> None:
    payload = body()
    del payload["model"]
    response = await send(FakeProvider("vertex_ai"), payload)
    assert response.status_code == 400
    assert "model" in response.json()["error"]["message"]


async def test_vertex_can_wrap_errors_in_a_one_element_list(send: Send) -> None:
    fake = FakeProvider("vertex_ai", wrap_errors_in_list=True, script=["429", "403"])
    rate_limited = await send(fake, body())
    forbidden = await send(fake, body())
    assert rate_limited.json() == [
        {
            "error": {
                "code": 429,
                "message": rate_limited.json()[0]["error"]["message"],
                "status": "RESOURCE_EXHAUSTED",
            }
        }
    ]
    assert rate_limited.json()[0]["error"]["message"].startswith("Quota exceeded for")
    assert forbidden.json()[0]["error"]["status"] == "PERMISSION_DENIED"


@pytest.mark.parametrize(
    ("status", "google_status"),
    [
        ("400", "INVALID_ARGUMENT"),
        ("401", "UNAUTHENTICATED"),
        ("404", "NOT_FOUND"),
        ("500", "INTERNAL"),
        ("503", "UNAVAILABLE"),
    ],
)
async def test_vertex_scripted_statuses_use_googles_status_names(
    send: Send, status: str, google_status: str
) -> None:
    response = await send(FakeProvider("vertex_ai", script=[status]), body())
    assert response.status_code == int(status)
    assert response.json()["error"] == {
        "code": int(status),
        "message": response.json()["error"]["message"],
        "status": google_status,
    }


async def test_azure_2505_deployment_refuses_newer_fields_with_422(send: Send) -> None:
    strict = FakeProvider("azure_ai", strict_new_fields=True)
    newer = body(table_format="html", extract_header=True)
    response = await send(strict, {**newer, "model": "mistral-ocr-4-0"})
    assert response.status_code == 422
    details = response.json()["error"]["details"]
    assert [(d["type"], d["loc"]) for d in details] == [
        ("extra_forbidden", ["body", "table_format"]),
        ("extra_forbidden", ["body", "extract_header"]),
    ]
    # By default the fake refuses what the body's model lacks (router.capabilities).
    fake = FakeProvider("azure_ai")
    refused = await send(fake, {**newer, "model": "mistral-ocr-2505"})  # the 2505 fields only
    assert refused.status_code == 422
    assert [d["loc"] for d in refused.json()["error"]["details"]] == [
        ["body", "extract_header"],
        ["body", "table_format"],
    ]
    assert (await send(fake, {**newer, "model": "mistral-ocr-4-0"})).status_code == 200


async def test_mistral_rate_limit_body_and_retry_after(send: Send) -> None:
    response = await send(FakeProvider("mistral", script=["429:7"]), body())
    assert response.status_code == 429
    assert response.headers["retry-after"] == "7"
    assert response.json() == {
        "object": "error",
        "message": "Rate limit exceeded",
        "type": "rate_limited",
        "param": None,
        "code": "1300",
        "raw_status_code": 429,
    }


async def test_an_image_document_is_one_page(send: Send) -> None:
    payload = {"model": "m", "document": {"type": "image_url", "image_url": png_uri()}}
    response = await send(FakeProvider("azure_ai"), payload)
    assert [page["index"] for page in response.json()["pages"]] == [0]


def test_an_option_of_another_dialect_is_refused() -> None:
    with pytest.raises(ValueError, match="does not apply"):
        FakeProvider("mistral", wrap_errors_in_list=True)
    with pytest.raises(ValueError, match="unknown provider"):
        FakeProvider("openai")
