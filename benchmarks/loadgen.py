"""A load generator for the proxy benchmark, run in a process of its own (aiohttp client).

    python benchmarks/loadgen.py URL --key K --body FILE --closed 64 --duration 5
    python benchmarks/loadgen.py URL --key K --body FILE --rate 400 --duration 5

`--closed N`: N workers send back to back (the maximum rate the server sustains). `--rate R`: an
open loop, one request every 1/R s whatever the answers do, and each latency counted from when
its request was due (so a stalled server cannot hide its queue: no coordinated omission).
Prints one JSON object: requests, errors, requests/s, p50 and p99 latency in seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
import measure  # by path: this script runs on its own


async def main(arguments: argparse.Namespace, body: bytes) -> dict[str, object]:
    headers = {"Authorization": f"Bearer {arguments.key}", "Content-Type": "application/json"}
    latencies: list[float] = []
    errors: dict[str, int] = {}
    connector = aiohttp.TCPConnector(limit=1024)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def send(due: float, record: bool) -> None:
            try:
                async with session.post(arguments.url, data=body, headers=headers) as response:
                    await response.read()
                    status = response.status
            except (aiohttp.ClientError, OSError) as error:
                status = type(error).__name__  # type: ignore[assignment]
            if not record:
                return
            if status == 200:
                latencies.append(time.perf_counter() - due)
            else:
                errors[str(status)] = errors.get(str(status), 0) + 1

        warming = (send(time.perf_counter(), False) for _ in range(arguments.warmup))
        await asyncio.gather(*warming)
        started = time.perf_counter()
        stop = started + arguments.duration
        if arguments.closed:

            async def worker() -> None:
                while time.perf_counter() < stop:
                    await send(time.perf_counter(), True)

            await asyncio.gather(*(worker() for _ in range(arguments.closed)))
        else:
            interval = 1.0 / arguments.rate
            pending = set()
            due = started
            while due < stop:
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                task = asyncio.ensure_future(send(due, True))
                pending.add(task)
                task.add_done_callback(pending.discard)
                due += interval
            await asyncio.gather(*pending)
        elapsed = time.perf_counter() - started
    return {
        "requests": len(latencies),
        "errors": errors,
        "requests_per_s": len(latencies) / elapsed,
        "p50": measure.percentile(latencies, 0.50),
        "p99": measure.percentile(latencies, 0.99),
    }


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--key", required=True)
    parser.add_argument("--body", required=True, help="file holding the JSON request body")
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--closed", type=int, help="workers sending back to back")
    mode.add_argument("--rate", type=float, help="requests per second, open loop")
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--warmup", type=int, default=32, help="requests sent before timing")
    return parser.parse_args(argv)


if __name__ == "__main__":
    import uvloop  # the client's own event-loop lag counts in every latency: keep it small

    arguments = parse(sys.argv[1:])
    print(json.dumps(uvloop.run(main(arguments, Path(arguments.body).read_bytes()))))
