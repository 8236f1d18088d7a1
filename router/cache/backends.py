"""Where cached results live: in memory, in a directory, or in Redis.

A backend stores opaque bytes under a key, each entry with a time to live, and forgets what it
cannot keep (a full cache evicts). Backends are synchronous and thread-safe: the router calls the
disk and Redis ones off its event loop (`ResultCache`), so a slow disk or network never stalls
other requests; the memory one is a dictionary lookup under a lock.

- `MemoryBackend`: a `cachetools.TTLCache` bounded in *bytes* (the sum of entry sizes), evicting
  the least recently used entry; one process.
- `DiskBackend`: a `diskcache.Cache` in a directory (SQLite plus files, safe across threads and
  processes, bounded by `size_limit`); values are stored as raw bytes, never pickled.
- `RedisBackend`: `SET key value PX ttl` under `ocr-router:{name}:cache:`, shared by every
  router of that name; Redis's own `maxmemory` policy bounds it.
"""

from __future__ import annotations

import threading
from typing import Any, Protocol

from cachetools import TTLCache

DEFAULT_MEMORY_BYTES = 256 * 1024 * 1024  # plenty of pages of markdown; small beside a worker
DEFAULT_DISK_BYTES = 4 * 1024 * 1024 * 1024  # a disk holds more; diskcache evicts past it


class CacheBackend(Protocol):
    """A bounded key-value store of bytes with per-entry expiry."""

    blocking: bool  # True when calls do I/O (the router then runs them on a worker thread)

    def get(self, key: str) -> bytes | None: ...

    def put(self, key: str, value: bytes, ttl: float | None) -> None:
        """Store `value`; `ttl` seconds of life (None: until evicted)."""
        ...

    def close(self) -> None: ...


class MemoryBackend:
    """In this process, bounded by the total size of its entries."""

    blocking = False

    def __init__(
        self, *, max_bytes: int = DEFAULT_MEMORY_BYTES, ttl: float | None = None, timer: Any = None
    ) -> None:
        options: dict[str, Any] = {} if timer is None else {"timer": timer}
        # TTLCache takes one TTL for all entries: the router's `cache_ttl` (else practically none).
        self._entries: TTLCache[str, bytes] = TTLCache(
            maxsize=max_bytes, ttl=ttl if ttl is not None else 10.0**12, getsizeof=len, **options
        )
        self._lock = threading.Lock()  # the sync API's thread and the caller's loop share it

    def get(self, key: str) -> bytes | None:
        with self._lock:
            return self._entries.get(key)

    def put(self, key: str, value: bytes, ttl: float | None) -> None:
        with self._lock:
            if len(value) <= self._entries.maxsize:
                self._entries[key] = value

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def close(self) -> None:
        with self._lock:
            self._entries.clear()


class DiskBackend:
    """A directory any number of processes may share (`diskcache`, the optional extra `cache`)."""

    blocking = True

    def __init__(self, directory: str, *, max_bytes: int = DEFAULT_DISK_BYTES) -> None:
        try:
            import diskcache
        except ImportError as error:
            from router.errors import ConfigError

            raise ConfigError(
                f"a cache directory needs diskcache: pip install 'ocr-router[cache]' ({error})"
            ) from None
        self.directory = directory
        self._cache = diskcache.Cache(directory, size_limit=max_bytes)

    def get(self, key: str) -> bytes | None:
        value = self._cache.get(key)
        return value if isinstance(value, bytes) else None

    def put(self, key: str, value: bytes, ttl: float | None) -> None:
        self._cache.set(key, value, expire=ttl)

    def close(self) -> None:
        self._cache.close()


class RedisBackend:
    """Entries in Redis, shared by every router with the same `name`."""

    blocking = True

    def __init__(self, url: str, *, name: str) -> None:
        try:
            import redis
        except ImportError as error:
            from router.errors import ConfigError

            raise ConfigError(
                f"a Redis cache needs the redis package: pip install 'ocr-router[redis]' ({error})"
            ) from None
        self.prefix = f"ocr-router:{name}:cache:"
        # Short timeouts: an unreachable Redis makes a miss, it must not hold a request long.
        self._client = redis.Redis.from_url(
            url, socket_timeout=2.0, socket_connect_timeout=2.0, health_check_interval=30
        )

    def get(self, key: str) -> bytes | None:
        value = self._client.get(self.prefix + key)
        return value if isinstance(value, bytes) else None

    def put(self, key: str, value: bytes, ttl: float | None) -> None:
        milliseconds = None if ttl is None else max(int(ttl * 1000), 1)
        self._client.set(self.prefix + key, value, px=milliseconds)

    def close(self) -> None:
        self._client.close()


__all__ = [
    "DEFAULT_DISK_BYTES",
    "DEFAULT_MEMORY_BYTES",
    "CacheBackend",
    "DiskBackend",
    "MemoryBackend",
    "RedisBackend",
]
