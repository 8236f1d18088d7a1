"""`ResultCache`: OCR answers kept by request key, so the same request is never paid twice.

The router asks it once per request, before choosing a deployment (`Router.aocr`): a hit is the
stored answer, served without reaching a provider and booked at no cost (the ledger counts it
apart, with what it saved); a miss goes out as usual and its answer is stored. Sharded documents
call `get`/`put` per shard with `result_key(digest, group, parameters)`, the digest computed once
per document (`document_digest`), so a re-run pays only for the shards that failed.

An entry is one line of JSON metadata (who served it, pages, what it cost) and the response's
wire JSON: never a key, a header or the document. Entries over `max_entry_bytes` (answers with
every image inlined can be huge) are not stored. A backend that fails (Redis down, disk full) makes
a miss and a warning, never a failed request.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from pydantic import ValidationError

from router.cache.backends import CacheBackend, DiskBackend, MemoryBackend, RedisBackend
from router.cache.inflight import InFlight
from router.errors import ConfigError
from router.types import OCRResponse

logger = logging.getLogger("ocr_router.cache")

DEFAULT_MAX_ENTRY_BYTES = 16 * 1024 * 1024  # a 1,000-page answer in markdown fits many times
ENTRY_VERSION = 1
_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")

T = TypeVar("T")


@dataclass(frozen=True)
class CachedResult:
    """A stored answer and what it cost when it was first served."""

    response: OCRResponse
    deployment_id: str
    provider: str
    model: str
    group: str
    pages: int
    usd: Decimal | None  # what the first call cost (None: its price was unknown)


class ResultCache:
    """Stored OCR answers over a `CacheBackend`; `ttl` seconds of life (None: until evicted)."""

    def __init__(
        self,
        backend: CacheBackend,
        *,
        ttl: float | None = None,
        max_entry_bytes: int = DEFAULT_MAX_ENTRY_BYTES,
        description: str = "cache",
    ) -> None:
        self.backend = backend
        self.ttl = ttl
        self.max_entry_bytes = max_entry_bytes
        self.description = description  # "memory", "directory", "redis": never a URL
        self.in_flight = InFlight()  # identical requests being sent (router/cache/inflight.py)
        self.hits = 0
        self.misses = 0
        self.errors = 0
        self.too_large = 0

    async def get(self, key: str) -> CachedResult | None:
        """The answer stored under `key`, or None (absent, expired, unreadable, backend down)."""
        _, raw = await self._call(self.backend.get, key)
        result = None if raw is None else _decode(raw)
        if result is None:
            self.misses += 1
        else:
            self.hits += 1
        return result

    async def put(
        self,
        key: str,
        response: OCRResponse,
        *,
        deployment_id: str,
        provider: str,
        model: str,
        group: str,
        usd: Decimal | None,
    ) -> bool:
        """Store `response` under `key`; False when it is too large or the backend failed."""
        header = {
            "v": ENTRY_VERSION,
            "deployment_id": deployment_id,
            "provider": provider,
            "model": model,
            "group": group,
            "pages": response.usage_info.total_pages,
            "usd": None if usd is None else str(usd),
        }
        body = response.to_wire_json()
        entry = json.dumps(header, separators=(",", ":")).encode() + b"\n" + body
        if len(entry) > self.max_entry_bytes:
            self.too_large += 1
            return False
        stored, _ = await self._call(self.backend.put, key, entry, self.ttl)
        return stored

    async def _call(self, function: Callable[..., T], *args: Any) -> tuple[bool, T | None]:
        """(whether the backend answered, its answer)."""
        try:
            if self.backend.blocking:
                return True, await asyncio.to_thread(function, *args)
            return True, function(*args)
        except Exception as error:  # an outage of the cache is a miss, never a failed request
            self.errors += 1
            logger.warning(
                "result cache (%s) failed: %s; serving without it",
                self.description,
                type(error).__name__,
            )
            return False, None

    def close(self) -> None:
        self.backend.close()


def _decode(raw: bytes) -> CachedResult | None:
    """An entry back into a result; None for an entry of another version or a damaged one."""
    header_line, separator, body = raw.partition(b"\n")
    if not separator:
        return None
    try:
        header = json.loads(header_line)
        if header.get("v") != ENTRY_VERSION:
            return None
        usd = header.get("usd")
        return CachedResult(
            response=OCRResponse.model_validate_json(body),
            deployment_id=str(header["deployment_id"]),
            provider=str(header["provider"]),
            model=str(header["model"]),
            group=str(header["group"]),
            pages=int(header["pages"]),
            usd=None if usd is None else Decimal(usd),
        )
    except (ValueError, KeyError, TypeError, ValidationError, InvalidOperation):
        return None


def open_cache(
    setting: str,
    *,
    ttl: float | None,
    name: str,
    redis_url: str | None = None,
    max_entry_bytes: int = DEFAULT_MAX_ENTRY_BYTES,
    max_bytes: int | None = None,
) -> ResultCache:
    """The cache a router's `cache` setting names: "memory", "redis" (the router's `redis_url`),
    a `redis://` URL, or a directory path. `name` keeps routers apart in a shared Redis."""
    backend: CacheBackend
    if setting == "memory":
        backend = MemoryBackend(ttl=ttl, **({} if max_bytes is None else {"max_bytes": max_bytes}))
        description = "memory"
    elif setting == "redis" or setting.startswith(_REDIS_SCHEMES):
        url = redis_url if setting == "redis" else setting
        if url is None:
            raise ConfigError("cache: 'redis' uses the router's redis_url, which is not set")
        backend = RedisBackend(url, name=name)
        description = "redis"
    elif setting.strip():
        backend = DiskBackend(setting, **({} if max_bytes is None else {"max_bytes": max_bytes}))
        description = "directory"
    else:
        raise ConfigError("cache: 'memory', a directory path or a redis:// URL")
    return ResultCache(backend, ttl=ttl, max_entry_bytes=max_entry_bytes, description=description)


__all__ = ["DEFAULT_MAX_ENTRY_BYTES", "CachedResult", "ResultCache", "open_cache"]
