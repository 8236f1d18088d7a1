"""Every error status of the proxy over real HTTP, always in Mistral's error envelope."""

from __future__ import annotations

import asyncio
import base64
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from proxy_helpers import BEARER, DOCUMENT, MASTER_KEY, PROVIDER_KEY, Proxy, ProxyStarter

from providers.fake import FakeProvider
from providers.samples import make_png

ENVELOPE_KEYS = {"object", "message", "type", "param", "code"}


def assert_envelope(answer: httpx.Response, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    body: dict[str, Any] = answer.json()
    assert set(body) >= ENVELOPE_KEYS
    assert body["object"] == "error"
    assert isinstance(body["message"], str) and body["message"]
    assert "Traceback" not in answer.text
    assert PROVIDER_KEY not in answer.text and MASTER_KEY not in answer.text
    return body


async def post(
    proxy: Proxy, body: Any = None, *, content: bytes | None = None, **headers: str
) -> httpx.Response:
    async with proxy.client() as client:
        if content is not None:
            return await client.post("/v1/ocr", content=content, headers={**BEARER, **headers})
        return await client.post("/v1/ocr", json=body, headers={**BEARER, **headers})


@pytest.fixture
async def healthy_proxy(start_proxy: ProxyStarter) -> Proxy:
    return await start_proxy({"a": FakeProvider("mistral", api_key=PROVIDER_KEY)})


async def test_malformed_json_is_400(healthy_proxy: Proxy) -> None:
    body = assert_envelope(await post(healthy_proxy, content=b'{"model": "ocr",'), 400)
    assert "malformed JSON" in body["message"]


async def test_a_body_that_is_not_an_object_is_400(healthy_proxy: Proxy) -> None:
    body = assert_envelope(await post(healthy_proxy, ["ocr"]), 400)
    assert "JSON object" in body["message"]


async def test_an_unknown_field_is_422_naming_it(healthy_proxy: Proxy) -> None:
    answer = await post(healthy_proxy, {"model": "ocr", "document": DOCUMENT, "colour": "red"})
    body = assert_envelope(answer, 422)
    assert body["param"] == "colour"
    assert "colour" in body["message"]
    assert body["detail"] == [
        {
            "type": "extra_forbidden",
            "loc": ["body", "colour"],
            "msg": "Extra inputs are not permitted",
        }
    ]
    assert healthy_proxy.fakes["a"].request_count == 0


async def test_router_only_arguments_are_unknown_fields_not_options(healthy_proxy: Proxy) -> None:
    answer = await post(
        healthy_proxy, {"model": "ocr", "document": DOCUMENT, "timeout": 0.001, "extra_body": {}}
    )
    body = assert_envelope(answer, 422)
    assert {item["loc"][1] for item in body["detail"]} == {"timeout", "extra_body"}


async def test_a_wrong_value_is_422_naming_the_field(healthy_proxy: Proxy) -> None:
    body = assert_envelope(
        await post(healthy_proxy, {"model": "ocr", "document": DOCUMENT, "image_limit": -1}), 422
    )
    assert body["param"] == "image_limit"
    assert body["detail"][0]["loc"] == ["body", "image_limit"]


PNG_BASE64 = base64.b64encode(make_png()).decode()


@pytest.mark.parametrize(
    ("document", "extra", "named"),
    [
        ({"document_url": "data:application/pdf;base64,%%%not-base64%%%"}, {}, "base64"),
        ({"document_url": f"data:application/pdf;base64,{PNG_BASE64}"}, {}, "image/png"),
        ({"document_url": "data:application/pdf;base64,"}, {}, "document"),
        ({"document_url": "ftp://example.com/a.pdf"}, {}, "https://"),
        ({"document_url": "file:///etc/passwd"}, {}, "https://"),
        ({"document_url": "https://example.com/a.pdf\r\nX-Evil: 1"}, {}, "control"),
        (DOCUMENT, {"pages": [-1]}, "pages"),
        (DOCUMENT, {"pages": list(range(1001))}, "pages"),
        (DOCUMENT, {"pages": "0-999999999999"}, "pages"),
        (DOCUMENT, {"include_image_base64": "yes please"}, "include_image_base64"),
        (DOCUMENT, {"image_limit": -3}, "image_limit"),
    ],
)
async def test_bad_input_is_a_4xx_naming_the_problem_and_nothing_is_sent(
    healthy_proxy: Proxy, document: Any, extra: dict[str, Any], named: str
) -> None:
    answer = await post(healthy_proxy, {"model": "ocr", "document": document, **extra})

    body = assert_envelope(answer, 422)
    assert named in body["message"]
    assert healthy_proxy.fakes["a"].request_count == 0


async def test_a_missing_model_is_422(healthy_proxy: Proxy) -> None:
    body = assert_envelope(await post(healthy_proxy, {"document": DOCUMENT}), 422)
    assert body["param"] == "model"


async def test_a_local_file_document_is_refused_not_read_from_the_server_disk(
    healthy_proxy: Proxy,
) -> None:
    answer = await post(
        healthy_proxy, {"model": "ocr", "document": {"type": "file", "file": "/etc/hostname"}}
    )
    body = assert_envelope(answer, 422)
    assert body["param"] == "document.file"
    assert healthy_proxy.fakes["a"].request_count == 0


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer sk-wrong"}, {"Authorization": f"Basic {MASTER_KEY}"}],
    ids=["missing", "wrong", "not-bearer"],
)
async def test_a_missing_or_wrong_key_is_401(healthy_proxy: Proxy, headers: dict[str, str]) -> None:
    async with healthy_proxy.client() as client:
        answer = await client.post(
            "/v1/ocr", json={"model": "ocr", "document": DOCUMENT}, headers=headers
        )
    body = assert_envelope(answer, 401)
    assert body["type"] == "authentication_error"
    assert answer.headers["www-authenticate"] == "Bearer"
    assert healthy_proxy.fakes["a"].request_count == 0


async def test_an_unknown_model_group_is_404(healthy_proxy: Proxy) -> None:
    body = assert_envelope(await post(healthy_proxy, {"model": "nope", "document": DOCUMENT}), 404)
    assert body["param"] == "model"
    assert "ocr" in body["message"]  # lists the known groups


async def test_an_unknown_path_is_404_and_a_wrong_method_405(healthy_proxy: Proxy) -> None:
    async with healthy_proxy.client() as client:
        missing = await client.get("/v2/nothing", headers=BEARER)
        wrong_method = await client.get("/v1/ocr", headers=BEARER)
    assert_envelope(missing, 404)
    assert_envelope(wrong_method, 405)
    assert "POST" in wrong_method.headers["allow"]


async def _raw_exchange(url: str, head: bytes, chunks: list[bytes]) -> bytes:
    """Send `head` and `chunks` (never the rest of the body), then read the answer's head."""
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    try:
        writer.write(head)
        for chunk in chunks:
            writer.write(chunk)
            await writer.drain()
        return await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    finally:
        writer.close()


async def test_a_body_declared_over_the_limit_is_413_before_it_is_sent(
    start_proxy: ProxyStarter,
) -> None:
    proxy = await start_proxy({"a": FakeProvider("mistral", api_key=PROVIDER_KEY)}, body_limit=1024)
    head = (
        b"POST /v1/ocr HTTP/1.1\r\nHost: proxy\r\nContent-Type: application/json\r\n"
        b"Authorization: Bearer " + MASTER_KEY.encode() + b"\r\nContent-Length: 50000000\r\n\r\n"
    )

    # 100 bytes of a declared 50 MB: the answer comes though the body is nowhere near complete.
    answer = await _raw_exchange(proxy.url, head, [b"{" * 100])

    assert answer.startswith(b"HTTP/1.1 413 ")
    assert b"connection: close" in answer.lower()


async def test_a_chunked_body_over_the_limit_is_413_without_reading_it_whole(
    start_proxy: ProxyStarter,
) -> None:
    proxy = await start_proxy({"a": FakeProvider("mistral", api_key=PROVIDER_KEY)}, body_limit=1024)
    head = (
        b"POST /v1/ocr HTTP/1.1\r\nHost: proxy\r\nContent-Type: application/json\r\n"
        b"Authorization: Bearer " + MASTER_KEY.encode() + b"\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b"200\r\n" + b" " * 0x200 + b"\r\n"  # 512 bytes each

    # Three chunks pass the 1,024-byte limit; the closing chunk is never sent, so the server can
    # only answer if it stopped reading at the limit.
    answer = await _raw_exchange(proxy.url, head, [chunk, chunk, chunk])

    assert answer.startswith(b"HTTP/1.1 413 ")


async def test_a_body_under_the_limit_is_read_and_routed(start_proxy: ProxyStarter) -> None:
    proxy = await start_proxy({"a": FakeProvider("mistral", api_key=PROVIDER_KEY)}, body_limit=1024)
    assert (await post(proxy, {"model": "ocr", "document": DOCUMENT})).status_code == 200


async def test_rate_limited_everywhere_is_429_with_retry_after(start_proxy: ProxyStarter) -> None:
    proxy = await start_proxy(
        {"a": FakeProvider("mistral", api_key=PROVIDER_KEY, faults={"429:2.5": 1.0})}, timeout=1
    )

    answer = await post(proxy, {"model": "ocr", "document": DOCUMENT})

    body = assert_envelope(answer, 429)
    assert body["type"] == "rate_limited"
    assert answer.headers["retry-after"] == "3"  # 2.5 s, rounded up


async def test_every_deployment_cooling_is_503_with_retry_after(start_proxy: ProxyStarter) -> None:
    fake = FakeProvider("mistral", api_key=PROVIDER_KEY, script=["429:30"])
    proxy = await start_proxy({"a": fake}, timeout=1)
    await post(proxy, {"model": "ocr", "document": DOCUMENT})  # cools "a" for 30 s

    answer = await post(proxy, {"model": "ocr", "document": DOCUMENT})

    body = assert_envelope(answer, 503)
    assert body["code"] == "no_deployment_available"
    assert 1 <= int(answer.headers["retry-after"]) <= 30
    assert fake.request_count == 1


async def test_upstream_failure_after_retries_is_502(start_proxy: ProxyStarter) -> None:
    fakes = {
        name: FakeProvider("mistral", api_key=PROVIDER_KEY, faults={"500": 1.0})
        for name in ("a", "b")
    }
    proxy = await start_proxy(fakes, num_retries=1, retry_budget_ratio=1.0)

    body = assert_envelope(await post(proxy, {"model": "ocr", "document": DOCUMENT}), 502)

    assert body["type"] == "upstream_error"
    assert fakes["a"].request_count + fakes["b"].request_count == 2


async def test_deployments_refusing_the_proxys_own_key_is_502_not_401(
    start_proxy: ProxyStarter,
) -> None:
    # The fake expects another key than the deployment's: every deployment answers 401.
    proxy = await start_proxy({"a": FakeProvider("mistral", api_key="the-key-the-fake-wants")})

    body = assert_envelope(await post(proxy, {"model": "ocr", "document": DOCUMENT}), 502)

    assert "your key to this proxy is fine" in body["message"]
    assert body["code"] == "upstream_misconfigured"


async def test_a_file_id_the_host_does_not_know_is_404_the_clients_not_502(
    start_proxy: ProxyStarter,
) -> None:
    # Two deployments of one account (one Files API): neither is cooled by the file's 404.
    first = FakeProvider("mistral", api_key=PROVIDER_KEY)
    second = FakeProvider("mistral", api_key=PROVIDER_KEY)
    second.batch = first.batch
    proxy = await start_proxy({"a": first, "b": second})
    file_id = "0f8fad5b-d9cb-469f-a165-70867728950e"
    document = {"type": "file", "file_id": file_id}

    body = assert_envelope(await post(proxy, {"model": "ocr", "document": document}), 404)

    assert (body["type"], body["param"], body["code"]) == (
        "invalid_request_error",
        "document.file_id",
        "file_not_found",
    )
    assert file_id in body["message"] and "retry after a moment" in body["message"]
    assert sorted(fake.request_count for fake in (first, second))[0] == 0  # no failover
    assert {h.status for h in proxy.router.health().values()} == {"healthy"}
    first.add_file(make_png(), filename="scan.png", file_id=file_id)
    async with proxy.client() as client:
        served = await client.post(
            "/v1/ocr", json={"model": "ocr", "document": document}, headers=BEARER
        )
    assert served.status_code == 200, served.text


async def test_no_answer_within_the_deadline_is_504(start_proxy: ProxyStarter) -> None:
    fake = FakeProvider("mistral", api_key=PROVIDER_KEY, faults={"timeout": 1.0}, hang_seconds=1)
    proxy = await start_proxy({"a": fake}, timeout=0.3)

    body = assert_envelope(await post(proxy, {"model": "ocr", "document": DOCUMENT}), 504)

    assert body["type"] == "timeout"


async def test_a_provider_refusing_a_field_is_422(start_proxy: ProxyStarter) -> None:
    proxy = await start_proxy(
        {"a": FakeProvider("mistral", api_key=PROVIDER_KEY, faults={"422": 1.0})}
    )
    assert_envelope(await post(proxy, {"model": "ocr", "document": DOCUMENT}), 422)


async def test_an_unexpected_error_is_a_generic_500_without_its_message(
    healthy_proxy: Proxy, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError(f"bug holding {PROVIDER_KEY}")

    monkeypatch.setattr(healthy_proxy.router, "aocr", broken)

    body = assert_envelope(await post(healthy_proxy, {"model": "ocr", "document": DOCUMENT}), 500)

    assert body["message"] == "internal error in ocr-router proxy"
    assert "RuntimeError" in caplog.text
    assert PROVIDER_KEY not in caplog.text
