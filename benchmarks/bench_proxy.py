"""The proxy: requests/s and added latency of `ocr-router serve` (1 and 2 workers) over a call
straight to the fake, with the load generator (`loadgen.py`) in a process of its own.

For each proxy: its maximum rate (closed loop, `CLOSED_WORKERS` back to back), then an open loop
at half that rate through the proxy and straight to the fake, alternating, `HALF_RATE_RUNS`
times; added latency is the proxy's p50/p99 minus the direct ones at that same rate, from the
pair with the median added p99. Every process shares the machine's cores (the
fake, the proxy's workers and the load generator): the same for every proxy measured.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from common import BENCHMARKS, KEY, MASTER_KEY, ServerProcess, ms, server, table, wire_body

CLOSED_WORKERS = 64
HALF_RATE_RUNS = 3
Starter = Callable[[], contextlib.AbstractContextManager[ServerProcess]]


def ocr_router_config(fake_url: str, directory: Path) -> Path:
    """Three deployments of the fake in group "ocr", behind a master key (JSON is YAML)."""
    config = {
        "model_list": [
            {
                "model_name": "ocr",
                "litellm_params": {
                    "model": "mistral/mistral-ocr-latest",
                    "api_base": fake_url,
                    "api_key": KEY,
                },
            }
            for _ in range(3)
        ],
        "general_settings": {"master_key": MASTER_KEY},
    }
    path = directory / "ocr-router.yaml"
    path.write_text(json.dumps(config, indent=2))
    return path


def ocr_router_proxy(
    config: Path, workers: int
) -> contextlib.AbstractContextManager[ServerProcess]:
    command = [sys.executable, "-m", "router.cli", "serve", "--config", str(config)]
    command += ["--port", "0", "--workers", str(workers), "--log-level", "warning"]
    return server(command, "ocr-router proxy listening on ")


def load(url: str, key: str, body: Path, *, duration: float, **mode: float) -> dict[str, Any]:
    """One run of the load generator (`closed=N` or `rate=R`), in its own process."""
    flags = [f"--{name}={value}" for name, value in mode.items()]
    command = [sys.executable, str(BENCHMARKS / "loadgen.py"), url, "--key", key]
    command += ["--body", str(body), "--duration", str(duration), *flags]
    output = subprocess.run(
        command, capture_output=True, text=True, check=True, timeout=duration + 120
    ).stdout
    return json.loads(output.strip().splitlines()[-1])  # type: ignore[no-any-return]


def measure_proxy(
    name: str, start: Starter, key: str, fake: ServerProcess, *, duration: float
) -> dict[str, Any]:
    """Max rate, then latency at half of it through the proxy and direct."""
    with tempfile.TemporaryDirectory() as scratch:
        routed = Path(scratch) / "routed.json"
        routed.write_bytes(wire_body("ocr"))
        direct = Path(scratch) / "direct.json"
        direct.write_bytes(wire_body("mistral-ocr-latest"))
        with start() as proxy:
            endpoint = f"{proxy.url}/v1/ocr"
            fake.mark()
            most = load(endpoint, key, routed, duration=duration, closed=CLOSED_WORKERS)
            fake_cores = fake.cpu_share()
            half = max(most["requests_per_s"] / 2, 1.0)
            pairs = []
            for _ in range(HALF_RATE_RUNS):  # alternating, so a noisy spell hits both sides
                through = load(endpoint, key, routed, duration=duration, rate=half)
                straight = load(f"{fake.url}/v1/ocr", KEY, direct, duration=duration, rate=half)
                pairs.append((through, straight))
    # The run with the median added p99 (a tail over a few seconds moves with machine noise).
    pairs.sort(key=lambda pair: pair[0]["p99"] - pair[1]["p99"])
    through, straight = pairs[len(pairs) // 2]
    return {
        "name": name,
        "max": most,
        "fake_cpu_cores_at_max": fake_cores,
        "half_rate": half,
        "through_proxy": through,
        "direct": straight,
        "added_p50": through["p50"] - straight["p50"],
        "added_p99": through["p99"] - straight["p99"],
        "added_p99_runs": [t["p99"] - d["p99"] for t, d in pairs],
    }


@contextlib.contextmanager
def our_proxies(fake: ServerProcess) -> Iterator[dict[str, Starter]]:
    with tempfile.TemporaryDirectory() as scratch:
        config = ocr_router_config(fake.url, Path(scratch))
        yield {
            f"ocr-router serve, {workers} worker{'s' * (workers > 1)}": (
                lambda workers=workers: ocr_router_proxy(config, workers)  # type: ignore[misc]
            )
            for workers in (1, 2)
        }


def run(
    fake: ServerProcess, *, duration: float, extra: dict[str, tuple[Starter, str]] | None = None
) -> list[dict[str, Any]]:
    """Every proxy in turn: ours (1 and 2 workers), then `extra` (name: (start, its key))."""
    results = []
    with our_proxies(fake) as ours:
        for name, start in ours.items():
            results.append(measure_proxy(name, start, MASTER_KEY, fake, duration=duration))
    for name, (start, key) in (extra or {}).items():
        results.append(measure_proxy(name, start, key, fake, duration=duration))
    return results


def report(results: list[dict[str, Any]]) -> str:
    rows = [
        [
            found["name"],
            found["max"]["requests_per_s"],
            sum(found["max"]["errors"].values()),
            found["half_rate"],
            ms(found["through_proxy"]["p50"]),
            ms(found["through_proxy"]["p99"]),
            ms(found["added_p50"]),
            ms(found["added_p99"]),
            found["fake_cpu_cores_at_max"],
        ]
        for found in results
    ]
    return table(
        "Proxy: max requests/s, and latency at half of it (ms; added = proxy - direct)",
        [
            "proxy",
            "max req/s",
            "errors",
            "at req/s",
            "p50",
            "p99",
            "added p50",
            "added p99",
            "fake cores",
        ],
        rows,
    )
