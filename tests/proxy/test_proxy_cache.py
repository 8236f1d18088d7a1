"""The proxy over a Router with a result cache: `x-ocr-router-cache`, `Cache-Control`, metrics."""

from __future__ import annotations

from proxy_helpers import BEARER, DOCUMENT, PROVIDER_KEY, ProxyStarter, metric_sum

from providers.fake import FakeProvider

BODY = {"model": "ocr", "document": DOCUMENT}


async def test_a_repeat_is_a_hit_no_cache_refreshes_and_no_store_bypasses(
    start_proxy: ProxyStarter,
) -> None:
    fake = FakeProvider("mistral", api_key=PROVIDER_KEY, default_page_count=2)
    proxy = await start_proxy({"a": fake}, cache="memory")
    async with proxy.client() as client:
        first = await client.post("/v1/ocr", json=BODY, headers=BEARER)
        second = await client.post("/v1/ocr", json=BODY, headers=BEARER)
        fresh = await client.post(
            "/v1/ocr", json=BODY, headers={**BEARER, "Cache-Control": "no-cache"}
        )
        bypass = await client.post(
            "/v1/ocr", json=BODY, headers={**BEARER, "cache-control": "max-age=0, NO-STORE"}
        )
        metrics = (await client.get("/metrics", headers=BEARER)).text
    assert [r.status_code for r in (first, second, fresh, bypass)] == [200] * 4
    assert first.headers["x-ocr-router-cache"] == "miss"
    assert second.headers["x-ocr-router-cache"] == "hit"
    assert fresh.headers["x-ocr-router-cache"] == "miss"
    assert bypass.headers["x-ocr-router-cache"] == "miss"
    assert second.json() == first.json()
    assert second.headers["x-ocr-router-cost-usd"] == "0"
    assert fake.request_count == 3
    assert metric_sum(metrics, "ocr_router_cached_pages_total", group="ocr") == 2
    assert metric_sum(metrics, "ocr_router_cached_requests_total", group="ocr") == 1
    assert metric_sum(metrics, "ocr_router_cache_saved_usd_total", group="ocr") == 0.008
    # The deployment's own counters count what it served, not what the cache did.
    assert metric_sum(metrics, "ocr_router_deployment_pages_total", deployment="a") == 6


async def test_without_a_cache_there_is_no_cache_header(start_proxy: ProxyStarter) -> None:
    proxy = await start_proxy({"a": FakeProvider("mistral", api_key=PROVIDER_KEY)})
    async with proxy.client() as client:
        answer = await client.post("/v1/ocr", json=BODY, headers=BEARER)
    assert answer.status_code == 200 and "x-ocr-router-cache" not in answer.headers
