"""The result cache: the same document, model group and parameters are OCR'd (and paid) once.

`keys` says what makes two requests the same, `backends` where answers are kept (memory, a
directory, Redis), `results` how the router reads and writes them. `Router(cache=...)` turns it on.
"""

from router.cache.backends import CacheBackend, DiskBackend, MemoryBackend, RedisBackend
from router.cache.keys import adocument_digest, document_digest, request_parameters, result_key
from router.cache.results import CachedResult, ResultCache, open_cache

__all__ = [
    "CacheBackend",
    "CachedResult",
    "DiskBackend",
    "MemoryBackend",
    "RedisBackend",
    "ResultCache",
    "adocument_digest",
    "document_digest",
    "open_cache",
    "request_parameters",
    "result_key",
]
