"""The Router's result cache: a hit never reaches a provider and costs nothing."""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal
from pathlib import Path

import pytest
from cache_helpers import KEY, fleet, mistral

from providers.fake import FakeProvider
from router.cache import MemoryBackend, ResultCache, document_digest
from router.errors import ConfigError, ServerError
from router.router import Router
from router.types import OCRRequest

PAGE_PRICE = Decimal("0.004")  # mistral-ocr-latest, per page (router/pricing.py)


async def test_a_repeated_request_is_served_from_memory_without_reaching_the_provider(
    pdf_bytes: bytes,
) -> None:
    fakes = {"a": mistral()}
    entries, transport = fleet(fakes)
    async with Router(entries, transport=transport, cache="memory") as router:
        first = await router.aocr("ocr", pdf_bytes)
        second = await router.aocr("ocr", pdf_bytes)
        costs = router.costs()
    assert fakes["a"].request_count == 1
    assert first.call_info is not None and second.call_info is not None
    assert not first.call_info.cached and second.call_info.cached
    assert second.to_wire() == first.to_wire()
    pages = first.usage_info.pages_processed
    assert second.call_info.cost_usd == 0.0
    assert second.call_info.saved_usd == pytest.approx(float(PAGE_PRICE * pages))
    assert second.call_info.deployment_id == "a" and second.call_info.attempts == ()
    # Paid once; the hit is counted apart, with what it saved.
    assert costs.total.requests == 1 and costs.total.usd_exact == PAGE_PRICE * pages
    assert costs.cached.requests == 1 and costs.cached.pages == pages
    assert costs.saved_usd == pytest.approx(float(PAGE_PRICE * pages))
    assert costs.cached_groups["ocr"].pages == pages


async def test_other_parameters_or_groups_miss(pdf_bytes: bytes) -> None:
    fakes = {"a": mistral(), "b": mistral()}
    entries, transport = fleet(fakes)
    entries[1]["model_name"] = "other"
    async with Router(entries, transport=transport, cache="memory") as router:
        await router.aocr("ocr", pdf_bytes, pages=[0])
        await router.aocr("ocr", pdf_bytes, pages=[1])
        await router.aocr("other", pdf_bytes, pages=[0])
        hit = await router.aocr("ocr", pdf_bytes, pages=[0])
    assert fakes["a"].request_count == 2 and fakes["b"].request_count == 1
    assert hit.call_info is not None and hit.call_info.cached


async def test_cache_false_bypasses_and_refresh_fetches_a_fresh_answer_and_stores_it(
    png_bytes: bytes,
) -> None:
    fakes = {"a": mistral()}
    entries, transport = fleet(fakes)
    async with Router(entries, transport=transport, cache="memory") as router:
        await router.aocr("ocr", png_bytes, cache=False)  # not stored
        missed = await router.aocr("ocr", png_bytes)
        refreshed = await router.aocr("ocr", png_bytes, cache="refresh")
        hit = await router.aocr("ocr", png_bytes)
    assert fakes["a"].request_count == 3
    assert missed.call_info is not None and not missed.call_info.cached
    assert refreshed.call_info is not None and not refreshed.call_info.cached
    assert hit.call_info is not None and hit.call_info.cached


async def test_a_given_document_digest_is_used_instead_of_hashing_again(png_bytes: bytes) -> None:
    fakes = {"a": mistral()}
    entries, transport = fleet(fakes)
    digest = document_digest(OCRRequest.build(png_bytes).document)
    async with Router(entries, transport=transport, cache="memory") as router:
        await router.aocr("ocr", png_bytes, document_digest=digest)
        same = await router.aocr("ocr", png_bytes)  # computed: the same key
        other = await router.aocr("ocr", png_bytes, document_digest="inline:another")
    assert same.call_info is not None and same.call_info.cached
    assert other.call_info is not None and not other.call_info.cached
    assert fakes["a"].request_count == 2


async def test_a_failed_request_is_not_cached(png_bytes: bytes) -> None:
    fake = FakeProvider("mistral", api_key=KEY, script=["500"] * 4)
    entries, transport = fleet({"a": fake})
    async with Router(
        entries, transport=transport, cache="memory", num_retries=3, cooldown_time=0
    ) as router:
        with pytest.raises(ServerError):
            await router.aocr("ocr", png_bytes)
        answer = await router.aocr("ocr", png_bytes)
    assert answer.call_info is not None and not answer.call_info.cached


async def test_the_sync_api_shares_the_cache(png_bytes: bytes) -> None:
    fakes = {"a": mistral()}
    entries, transport = fleet(fakes)
    router = Router(entries, transport=transport, cache="memory")
    try:
        first = await asyncio.to_thread(router.ocr, "ocr", png_bytes)
        second = await router.aocr("ocr", png_bytes)
    finally:
        await router.aclose()
    assert first.call_info is not None and not first.call_info.cached
    assert second.call_info is not None and second.call_info.cached


async def test_a_directory_cache_is_shared_by_routers_and_survives_them(
    tmp_path: Path, pdf_bytes: bytes
) -> None:
    fakes = {"a": mistral()}
    entries, transport = fleet(fakes)
    directory = str(tmp_path / "cache")
    async with Router(entries, transport=transport, cache=directory) as router:
        await router.aocr("ocr", pdf_bytes)
    async with Router(entries, transport=transport, cache=directory) as later:
        again = await later.aocr("ocr", pdf_bytes)
    assert again.call_info is not None and again.call_info.cached
    assert fakes["a"].request_count == 1
    assert KEY.encode() not in _every_byte_under(Path(directory))  # entries never hold a key


async def test_an_answer_over_the_entry_bound_is_served_but_not_stored(pdf_bytes: bytes) -> None:
    fakes = {"a": mistral()}
    entries, transport = fleet(fakes)
    async with Router(
        entries, transport=transport, cache="memory", cache_max_entry_bytes=200
    ) as router:
        await router.aocr("ocr", pdf_bytes)
        again = await router.aocr("ocr", pdf_bytes)
        assert router.cache is not None and router.cache.too_large == 2
    assert again.call_info is not None and not again.call_info.cached
    assert fakes["a"].request_count == 2


async def test_entries_expire_after_the_ttl(png_bytes: bytes) -> None:
    now = [1000.0]
    fakes = {"a": mistral()}
    entries, transport = fleet(fakes)
    async with Router(entries, transport=transport) as router:
        router.cache = ResultCache(MemoryBackend(ttl=60, timer=lambda: now[0]), ttl=60)
        await router.aocr("ocr", png_bytes)
        now[0] += 30
        hit = await router.aocr("ocr", png_bytes)
        now[0] += 31
        expired = await router.aocr("ocr", png_bytes)
    assert hit.call_info is not None and hit.call_info.cached
    assert expired.call_info is not None and not expired.call_info.cached


async def test_a_failing_backend_is_a_miss_and_a_warning_never_a_failed_request(
    png_bytes: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken:
        blocking = True

        def get(self, key: str) -> bytes | None:
            raise OSError("disk on fire")

        def put(self, key: str, value: bytes, ttl: float | None) -> None:
            raise OSError("disk on fire")

        def close(self) -> None:
            pass

    fakes = {"a": mistral()}
    entries, transport = fleet(fakes)
    async with Router(entries, transport=transport) as router:
        router.cache = ResultCache(Broken())
        with caplog.at_level(logging.WARNING, logger="ocr_router.cache"):
            answers = [await router.aocr("ocr", png_bytes) for _ in range(2)]
        assert router.cache.errors == 4
    assert all(a.call_info is not None and not a.call_info.cached for a in answers)
    assert "OSError" in caplog.text and "disk on fire" not in caplog.text


def test_a_cache_setting_that_names_nothing_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="redis_url"):
        Router([{"model_name": "ocr", "model": "mistral/m", "api_key": KEY}], cache="redis")


def _every_byte_under(directory: Path) -> bytes:
    return b"".join(path.read_bytes() for path in directory.rglob("*") if path.is_file())
