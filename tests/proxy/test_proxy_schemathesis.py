"""Schemathesis against the proxy's own OpenAPI document, over a real socket: whatever it sends,
valid or not, the proxy answers without a 5xx it did not mean, within its time, and every refusal
is a 4xx in Mistral's error envelope with a message."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from proxy_helpers import MASTER_KEY, PROVIDER_KEY, mistral_entry
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from providers.fake import FakeProvider
from router.config import GeneralSettings
from router.proxy import create_app
from router.proxy.openapi import build_openapi
from router.proxy.server import server_config
from router.router import Router

SCHEMA = schemathesis.openapi.from_dict(build_openapi(auth=True))
EXAMPLES_PER_OPERATION = 60  # bounded: the whole file stays within seconds
CALL_TIMEOUT_S = 15  # far above the router's own deadline below: a hang fails the test
BODY_LIMIT = 64 * 1024  # small, so that generated documents cross it too


@pytest.fixture(scope="module")
def proxy_url() -> Iterator[str]:
    """The proxy over one healthy fake Mistral, served by uvicorn on its own thread and loop."""
    import uvicorn

    fake = FakeProvider("mistral", api_key=PROVIDER_KEY)
    with fake.serve_in_thread() as fake_url:
        router = Router([mistral_entry("fake", fake_url)], timeout=5)
        general = GeneralSettings.model_validate({"master_key": MASTER_KEY})
        app = create_app(router, general, max_request_body_bytes=BODY_LIMIT, close_router=True)
        config = server_config(
            app, general, host="127.0.0.1", port=0, log_level="warning", lifespan="on"
        )
        server = uvicorn.Server(config)
        socket = config.bind_socket()
        thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[socket])))
        thread.start()
        try:
            for _ in range(500):
                if server.started:
                    break
                threading.Event().wait(0.01)
            yield f"http://127.0.0.1:{socket.getsockname()[1]}"
        finally:
            server.should_exit = True
            thread.join(10)


def _check_error_envelope(response: requests.Response) -> None:
    if response.status_code < 400:
        return
    body: Any = response.json()
    assert body.get("object") == "error", body
    assert isinstance(body.get("message"), str) and body["message"], body
    assert "Traceback" not in body["message"]


@SCHEMA.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_generated_request_gets_a_5xx_or_an_answer_outside_the_contract(
    case: schemathesis.Case, proxy_url: str
) -> None:
    headers = {"Authorization": f"Bearer {MASTER_KEY}"}
    response = case.call(base_url=proxy_url, headers=headers, timeout=CALL_TIMEOUT_S)
    case.validate_response(
        response,
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
            negative_data_rejection,
        ],
    )
    _check_error_envelope(response)


@SCHEMA.include(method="POST", path="/v1/ocr").parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_ocr_request_passes_without_the_key(case: schemathesis.Case, proxy_url: str) -> None:
    response = case.call(base_url=proxy_url, headers={}, timeout=CALL_TIMEOUT_S)
    # 413: a body over the limit is refused before it is read; 405: the coverage phase also
    # tries other methods on the route.
    expected = (401, 413) if case.method == "POST" else (405,)
    assert response.status_code in expected, response.text
    _check_error_envelope(response)
