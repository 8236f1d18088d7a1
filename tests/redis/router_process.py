"""One Router in its own process, sharing its state through Redis: the other side of the
multi-process tests.

    python router_process.py '<spec as JSON>'

The spec: `redis` (URL), `name` (the router name), `model_list`, `settings` (more Router
settings), `requests` (how many to send), `concurrency`, `pages` (pages of the PDF sent by
request i: `pages[i % len(pages)]`), `start_at` (wall time to begin, so that processes start
together), `duration` (instead of `requests`: send for this many seconds), `hold` (send
`concurrency` requests that the fake holds, print "holding" once the count is published, and
wait to be killed). It prints one JSON line: each request's `[end time, deployment or error]`.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

from providers.samples import make_pdf
from router import Router
from router.errors import OCRRouterError

HOLD_PUBLISH_S = 1.5  # long enough for the background sync to publish the in-flight count


async def run(spec: dict[str, Any]) -> list[tuple[float, str]]:
    documents = {pages: make_pdf(pages) for pages in spec.get("pages", [1])}
    page_cycle = spec.get("pages", [1])
    router = Router(
        spec["model_list"], state=spec["redis"], name=spec["name"], **spec.get("settings", {})
    )
    results: list[tuple[float, str]] = []
    async with router:
        if spec.get("hold"):
            held = [  # noqa: F841  (kept referenced until the process is killed)
                asyncio.create_task(router.aocr("ocr", documents[page_cycle[0]]))
                for _ in range(spec["concurrency"])
            ]
            await asyncio.sleep(HOLD_PUBLISH_S)
            print("holding", flush=True)
            await asyncio.sleep(3600)  # until killed
        await asyncio.sleep(max(0.0, spec.get("start_at", 0.0) - time.time()))
        next_index = 0
        ends = time.time() + spec["duration"] if "duration" in spec else None

        async def worker() -> None:
            nonlocal next_index
            while True:
                if ends is not None and time.time() >= ends:
                    return
                if ends is None and next_index >= spec["requests"]:
                    return
                index, next_index = next_index, next_index + 1
                document = documents[page_cycle[index % len(page_cycle)]]
                try:
                    response = await router.aocr("ocr", document)
                except OCRRouterError as error:
                    results.append((time.time(), type(error).__name__))
                else:
                    assert response.call_info is not None
                    results.append((time.time(), response.call_info.deployment_id))
                if ends is not None:
                    await asyncio.sleep(spec.get("pause", 0.0))

        await asyncio.gather(*(worker() for _ in range(spec.get("concurrency", 1))))
    return results  # leaving the router pushed its pending writes to Redis


if __name__ == "__main__":
    print(json.dumps(asyncio.run(run(json.loads(sys.argv[1])))), flush=True)
