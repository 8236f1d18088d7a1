"""Start-up and memory: `import router` time and RSS, and RSS over a million routed calls.

Import is measured in fresh interpreters (median of `IMPORT_RUNS`), beside a bare interpreter's
RSS. The million calls go through `Router.aocr` at 64 concurrent over the in-process canned
transport of the scaling benchmark (over real sockets they would take most of an hour); RSS is
sampled every tenth of the way, and growth is read after the first tenth (warm-up: pools, caches
and the allocator's arenas fill once).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import subprocess
import sys
from typing import Any

import measure
from bench_scaling import canned_transport, deployments
from common import BENCHMARKS, document_url, table

from router import Router

IMPORT_RUNS = 5
_IMPORT_PROBE = """
import sys, time
started = time.perf_counter()
{statement}
elapsed = time.perf_counter() - started
sys.path.insert(0, {benchmarks!r})
import json, measure
print(json.dumps({{"seconds": elapsed, "rss_bytes": measure.rss_bytes()}}))
"""


def import_cost(statement: str, python: str = sys.executable) -> dict[str, float]:
    """Median seconds and RSS of `statement` in fresh interpreters."""
    runs = []
    for _ in range(IMPORT_RUNS):
        probe = _IMPORT_PROBE.format(statement=statement, benchmarks=str(BENCHMARKS))
        output = subprocess.run(
            [python, "-c", probe], capture_output=True, text=True, check=True, timeout=120
        ).stdout
        runs.append(json.loads(output.strip().splitlines()[-1]))
    return {
        "seconds": statistics.median(run["seconds"] for run in runs),
        "rss_bytes": statistics.median(run["rss_bytes"] for run in runs),
    }


async def rss_over_calls(total: int, *, samples: int = 10, concurrency: int = 64) -> dict[str, Any]:
    transport = await canned_transport()
    document = {"type": "document_url", "document_url": document_url()}
    router = Router(deployments(3), transport=transport)
    readings = [{"calls": 0, "rss_bytes": measure.rss_bytes()}]
    step = total // samples

    async def worker(count: int) -> None:
        for _ in range(count):
            await router.aocr("ocr", document)

    for done in range(step, total + 1, step):
        await asyncio.gather(*(worker(step // concurrency) for _ in range(concurrency)))
        readings.append({"calls": done, "rss_bytes": measure.rss_bytes()})
    await router.aclose()
    warm = readings[1]["rss_bytes"]
    return {
        "calls": total,
        "readings": readings,
        "growth_after_warmup_bytes": readings[-1]["rss_bytes"] - warm,
        "most_after_warmup_bytes": max(r["rss_bytes"] for r in readings[1:]) - warm,
    }


def report(results: dict[str, Any]) -> str:
    rows = [
        [name, found["seconds"], found["rss_bytes"] / 2**20]
        for name, found in results["imports"].items()
    ]
    text = table("Start-up (fresh interpreter, median of 5)", ["import", "seconds", "RSS MB"], rows)
    rss = results["rss"]
    readings = rss["readings"]
    rows = [[f"{r['calls']:,}", r["rss_bytes"] / 2**20] for r in readings]
    text += "\n" + table(
        f"RSS over {rss['calls']:,} Router calls (growth after the first tenth: "
        f"{rss['growth_after_warmup_bytes'] / 2**20:+.1f} MB)",
        ["calls", "RSS MB"],
        rows,
    )
    return text
