"""The result cache in a real Redis: shared by every router of a name, and never required."""

from __future__ import annotations

from redis_helpers import RedisServer

from providers.fake import FakeProvider
from router.router import Router

KEY = "redis-cache-key-4Tq8Wz"


def _router(fake: FakeProvider, name: str, **settings: object) -> Router:
    entry = {
        "model_name": "ocr",
        "model": "mistral/mistral-ocr-latest",
        "id": "a",
        "api_base": "https://a.fake",
        "api_key": KEY,
    }
    return Router([entry], transport=fake.mock_transport(), name=name, **settings)  # type: ignore[arg-type]


async def test_routers_of_one_name_share_answers_and_other_names_do_not(
    redis_server: RedisServer, router_name: str, png_bytes: bytes
) -> None:
    fake = FakeProvider("mistral", api_key=KEY)
    async with _router(fake, router_name, cache=redis_server.url) as first:
        await first.aocr("ocr", png_bytes)
    async with _router(fake, router_name, cache=redis_server.url) as same_name:
        shared = await same_name.aocr("ocr", png_bytes)
        assert same_name.costs().cached.requests == 1 and same_name.costs().total.requests == 0
    async with _router(fake, f"{router_name}-other", cache=redis_server.url) as other_name:
        apart = await other_name.aocr("ocr", png_bytes)
    assert shared.call_info is not None and shared.call_info.cached
    assert apart.call_info is not None and not apart.call_info.cached
    assert fake.request_count == 2


async def test_cache_redis_uses_the_routers_redis_url_and_entries_expire(
    redis_server: RedisServer, router_name: str, png_bytes: bytes
) -> None:
    import redis

    fake = FakeProvider("mistral", api_key=KEY)
    settings = {"cache": "redis", "redis_url": redis_server.url, "cache_ttl": 60}
    async with _router(fake, router_name, **settings) as router:
        await router.aocr("ocr", png_bytes)
    client = redis.Redis.from_url(redis_server.url)
    try:
        keys = client.keys(f"ocr-router:{router_name}:cache:*")
        assert len(keys) == 1
        assert 0 < client.pttl(keys[0]) <= 60_000
        assert KEY.encode() not in client.get(keys[0])  # type: ignore[operator]
    finally:
        client.close()


async def test_a_redis_that_is_down_makes_misses_never_failures(
    own_redis_server: RedisServer, router_name: str, png_bytes: bytes
) -> None:
    fake = FakeProvider("mistral", api_key=KEY)
    url = own_redis_server.url
    own_redis_server.stop()
    async with _router(fake, router_name, cache=url) as router:
        answers = [await router.aocr("ocr", png_bytes) for _ in range(2)]
        assert router.cache is not None and router.cache.errors == 4
    assert all(a.call_info is not None and not a.call_info.cached for a in answers)
    assert fake.request_count == 2
