"""Health, models, metrics and the OpenAPI document: what each shows, who may see it, and that
no configured secret ever appears in them."""

from __future__ import annotations

import datetime
from typing import Any

import httpx
import jsonschema
import pytest
from proxy_helpers import BEARER, DOCUMENT, MASTER_KEY, PROVIDER_KEY, ProxyStarter, metric_sum

from providers.fake import FakeProvider
from router.events import RouterEvent
from router.proxy.openapi import build_openapi
from router.router import Router


async def test_liveness_needs_no_key(start_proxy: ProxyStarter) -> None:
    proxy = await start_proxy({"a": FakeProvider("mistral", api_key=PROVIDER_KEY)})
    async with proxy.client() as client:
        answer = await client.get("/health/liveness")
    assert answer.status_code == 200
    assert answer.json() == {"status": "alive"}


async def test_readiness_turns_503_when_every_deployment_of_a_group_cools(
    start_proxy: ProxyStarter,
) -> None:
    fakes = {
        "a": FakeProvider("mistral", api_key=PROVIDER_KEY, script=["429:60"]),
        "b": FakeProvider("mistral", api_key=PROVIDER_KEY),
    }
    proxy = await start_proxy(fakes, groups={"b": "other"}, timeout=1)
    async with proxy.client() as client:
        before = await client.get("/health/readiness")
        await client.post("/v1/ocr", json={"model": "ocr", "document": DOCUMENT}, headers=BEARER)
        after = await client.get("/health/readiness")

    assert before.status_code == 200
    assert before.json()["status"] == "ready"
    assert after.status_code == 503
    body = after.json()
    assert body["status"] == "unavailable"
    assert body["groups"] == {"ocr": False, "other": True}
    rows = {row["id"]: row for row in body["deployments"]}
    assert rows["a"]["status"] == "cooling"
    assert rows["a"]["group"] == "ocr" and rows["a"]["provider"] == "mistral"
    until = datetime.datetime.fromisoformat(rows["a"]["cooldown_until"])
    now = datetime.datetime.now(datetime.UTC)
    assert until.tzinfo is not None
    assert now < until <= now + datetime.timedelta(seconds=61)
    assert rows["b"]["status"] == "healthy" and rows["b"]["cooldown_until"] is None
    assert rows["b"]["in_flight"] == 0


async def test_models_lists_the_groups_and_needs_the_key(start_proxy: ProxyStarter) -> None:
    fakes = {name: FakeProvider("mistral", api_key=PROVIDER_KEY) for name in ("a", "b")}
    proxy = await start_proxy(fakes, groups={"b": "ocr-backup"})
    async with proxy.client() as client:
        refused = await client.get("/v1/models")
        answer = await client.get("/v1/models", headers=BEARER)

    assert refused.status_code == 401
    body = answer.json()
    assert body["object"] == "list"
    assert [model["id"] for model in body["data"]] == ["ocr", "ocr-backup"]
    assert all(
        model["object"] == "model" and model["owned_by"] == "ocr-router" for model in body["data"]
    )
    assert all(isinstance(model["created"], int) for model in body["data"])


async def test_metrics_need_the_key_and_count_by_group_and_status(
    start_proxy: ProxyStarter,
) -> None:
    proxy = await start_proxy({"a": FakeProvider("mistral", api_key=PROVIDER_KEY)})
    async with proxy.client() as client:
        refused = await client.get("/metrics")
        await client.post("/v1/ocr", json={"model": "ocr", "document": DOCUMENT}, headers=BEARER)
        await client.post("/v1/ocr", json={"model": "nope", "document": DOCUMENT}, headers=BEARER)
        await client.post("/v1/ocr", json={"model": "ocr", "document": DOCUMENT})
        answer = await client.get("/metrics", headers=BEARER)

    assert refused.status_code == 401
    assert answer.headers["content-type"].startswith("text/plain")
    text = answer.text
    assert metric_sum(text, "ocr_router_proxy_requests_total", group="ocr", status_code="200") == 1
    # Unknown groups and unauthenticated requests count under group "" (no unbounded labels).
    assert metric_sum(text, "ocr_router_proxy_requests_total", group="", status_code="404") == 1
    assert metric_sum(text, "ocr_router_proxy_requests_total", group="", status_code="401") == 1
    assert metric_sum(
        text, "ocr_router_deployment_cost_usd_total", deployment="a"
    ) == pytest.approx(0.004)
    assert metric_sum(text, "ocr_router_deployment_in_flight", deployment="a") == 0
    assert metric_sum(text, "ocr_router_deployment_cooling", deployment="a") == 0


async def test_no_secret_appears_in_readiness_models_metrics_or_openapi(
    start_proxy: ProxyStarter,
) -> None:
    fake = FakeProvider("mistral", api_key=PROVIDER_KEY, script=["401"])
    proxy = await start_proxy({"a": fake})
    async with proxy.client() as client:
        await client.post("/v1/ocr", json={"model": "ocr", "document": DOCUMENT}, headers=BEARER)
        pages = [
            await client.get(path, headers=BEARER)
            for path in ("/health/readiness", "/v1/models", "/metrics", "/openapi.json")
        ]
    for page in pages:
        assert PROVIDER_KEY not in page.text, page.url
        assert MASTER_KEY not in page.text, page.url


def test_router_add_hook_receives_later_events() -> None:
    fake = FakeProvider("mistral", api_key=PROVIDER_KEY)
    events: list[RouterEvent] = []
    router = Router(
        [{"model_name": "ocr", "model": "mistral/mistral-ocr-latest", "api_key": PROVIDER_KEY}],
        transport=fake.mock_transport(),
    )
    router.add_hook(events.append)
    with router:
        router.ocr(model="ocr", document=DOCUMENT)
    assert [event.kind for event in events] == ["success"]


# ---------------------------------------------------------------- OpenAPI


def test_openapi_document_is_valid_openapi_3_1() -> None:
    validator = pytest.importorskip(
        "openapi_spec_validator", reason="openapi-spec-validator absent"
    )
    document = build_openapi()
    assert document["openapi"] == "3.1.0"
    validator.validate(document)


def _validator(document: dict[str, Any], schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    # OpenAPI 3.1 schemas are JSON Schema 2020-12; "components" at the root resolves the refs.
    return jsonschema.Draft202012Validator({**schema, "components": document["components"]})


async def test_a_request_and_its_response_validate_against_the_openapi_document(
    start_proxy: ProxyStarter,
) -> None:
    proxy = await start_proxy(
        {"a": FakeProvider("mistral", api_key=PROVIDER_KEY, default_page_count=2)}
    )
    request = {"model": "ocr", "document": DOCUMENT, "pages": [0, 1], "include_image_base64": True}
    async with proxy.client() as client:
        document = (await client.get("/openapi.json", headers=BEARER)).json()
        answer = await client.post("/v1/ocr", json=request, headers=BEARER)
        error = await client.post(
            "/v1/ocr", json={"model": "ocr", "document": DOCUMENT, "x": 1}, headers=BEARER
        )

    operation = document["paths"]["/v1/ocr"]["post"]
    request_schema = operation["requestBody"]["content"]["application/json"]["schema"]
    _validator(document, request_schema).validate(request)
    response_schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    _validator(document, response_schema).validate(answer.json())
    for name, header in operation["responses"]["200"]["headers"].items():
        assert name in answer.headers or not header["required"]
    error_schema = operation["responses"]["422"]["content"]["application/json"]["schema"]
    _validator(document, error_schema).validate(error.json())
    assert operation["security"] == [{"bearerAuth": []}]


def test_openapi_request_schema_requires_model_and_refuses_unknown_fields() -> None:
    document = build_openapi()
    schema = document["components"]["schemas"]["ProxyOCRRequest"]
    validator = _validator(document, schema)
    assert not validator.is_valid({"document": DOCUMENT})
    assert not validator.is_valid({"model": "ocr", "document": DOCUMENT, "colour": "red"})
    assert validator.is_valid({"model": "ocr", "document": DOCUMENT})


async def test_every_route_of_the_app_is_in_the_openapi_document(start_proxy: ProxyStarter) -> None:
    proxy = await start_proxy({"a": FakeProvider("mistral", api_key=PROVIDER_KEY)})
    async with httpx.AsyncClient(base_url=proxy.url) as client:
        document = (await client.get("/openapi.json", headers=BEARER)).json()
        for path, operations in document["paths"].items():
            for method in operations:
                answer = await client.request(method, path, headers=BEARER, json={})
                assert answer.status_code not in (404, 405), (method, path)
