"""What a result-cache key costs for a large document, beside what the request costs anyway.

A cache key hashes the document's data URI as sent (router/cache/keys.py). For a 40 MB document
that is one SHA-256 pass over 53 MB of base64 text; the request itself already pays for building
that text (base64 of the bytes, in `OCRRequest.build`). This measures both in the same run, and
a hit served from the memory cache end to end (`Router.aocr` of a request whose 40-page answer
is stored: building the request, its key, the lookup, the answer parsed back),
and reports the key's cost as a ratio of the encoding's.

    .venv/bin/python benchmarks/bench_cache_key.py [--megabytes 40] [--rounds 5]

Writes `results/cache_key.json`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from collections.abc import Callable
from typing import Any

from common import save, table

from router.cache import document_digest, request_parameters, result_key
from router.router import Router
from router.types import OCRRequest, OCRResponse


def best(rounds: int, work: Callable[[], Any]) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


async def hit_seconds(content: bytes, rounds: int) -> float:
    entry = {"model_name": "ocr", "model": "mistral/mistral-ocr-latest", "api_key": "bench-key"}
    async with Router([entry], cache="memory") as router:
        assert router.cache is not None
        request = OCRRequest.build(content)
        key = result_key(document_digest(request.document), "ocr", request_parameters(request))
        # A stored answer of 40 pages (the provider is never asked: this is the hit's path).
        pages = [{"index": n, "markdown": f"# Page {n}\n\n" + "text " * 400} for n in range(40)]
        answer = OCRResponse.model_validate(
            {"pages": pages, "model": "mistral-ocr-latest", "usage_info": {"pages_processed": 40}}
        )
        await router.cache.put(
            key, answer, deployment_id="d", provider="mistral", model="m", group="ocr", usd=None
        )
        times = []
        for _ in range(rounds):
            started = time.perf_counter()
            served = await router.aocr("ocr", content)
            times.append(time.perf_counter() - started)
            assert served.call_info is not None and served.call_info.cached
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    content = b"%PDF-1.7\n" + os.urandom(args.megabytes * 1024 * 1024)
    request = OCRRequest.build(content)
    encode = best(args.rounds, lambda: OCRRequest.build(content))
    digest = best(args.rounds, lambda: document_digest(request.document))
    key = best(
        args.rounds,
        lambda: result_key(document_digest(request.document), "ocr", request_parameters(request)),
    )
    hit = asyncio.run(hit_seconds(content, args.rounds))
    rows = [
        ["build the request (base64 encode)", encode * 1000, 1.0],
        ["digest of the data URI", digest * 1000, digest / encode],
        ["whole cache key", key * 1000, key / encode],
        ["aocr served from the memory cache", hit * 1000, hit / encode],
    ]
    print(table(f"{args.megabytes} MB document", ["step", "ms (best)", "x encode"], rows))
    save(
        "cache_key",
        {
            "megabytes": args.megabytes,
            "rounds": args.rounds,
            "encode_s": encode,
            "digest_s": digest,
            "key_s": key,
            "hit_s": hit,
        },
    )


if __name__ == "__main__":
    main()
