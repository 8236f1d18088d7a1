"""Sharding: one long PDF through `Router.aocr` whole and sharded, and through `ocr-router ocr`.

A 600-page PDF of about 40 MB made in code (every page its own 66 KB image), three fake Mistral
deployments, each a process of its own charging OCR time per page (`ocr-router fake-server
--latency-per-page 0.02`). Measured in one run, medians of `--rounds`:

- `Router.aocr(..., shard_pages=None)`: the document goes whole to one deployment;
- `Router.aocr(..., shard_pages=30)`: 20 sub-PDFs across the three deployments;
- `ocr-router ocr doc.pdf --shard-pages 30` (its `main()`, in this process: the Router built from
  a config file, the result written to disk);
- bytes sent upstream by the sharded call (request bodies, counted at the transport) against the
  document's size as base64 (what the unsharded call sends);
- the check: a 100-page PDF over a group whose deployments take 30 pages is served, every
  upstream request holds 30 pages or fewer, and the answer holds pages 0-99 in order.

Targets: sharded at least 4x faster than whole; bytes at most 1.2x the base64 size; the command
within 1.2x of the Router's sharded time.

    .venv/bin/python benchmarks/bench_sharding.py [--quick]

`--quick`: 120 pages (about 8 MB), 0.01 s per page, one round.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import io
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from common import KEY, save, server, table

from providers.samples import make_pdf
from router import Router
from router.cli import main as cli_main
from router.pdf import count_pages
from router.pools import DEFAULT_POOL_LIMITS
from router.transport import fast_transport

SHARD_PAGES = 30
IMAGE_BYTES = 66_000  # per page: 600 pages make about 40 MB


class CountingTransport(httpx.AsyncBaseTransport):
    """The router's transport, counting the bytes of each request body (and, when asked, the
    pages of the PDF each request carries)."""

    def __init__(self, inner: httpx.AsyncBaseTransport, *, count_pages: bool = False) -> None:
        self._inner = inner
        self._count_pages = count_pages
        self.body_bytes = 0
        self.pages: list[int] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.body_bytes += int(request.headers.get("content-length", 0))
        if self._count_pages:
            body = json.loads(await request.aread())
            uri = body["document"]["document_url"]
            self.pages.append(count_pages(base64.b64decode(uri.split(",", 1)[1])))
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def transport() -> httpx.AsyncBaseTransport:
    return fast_transport(DEFAULT_POOL_LIMITS) or httpx.AsyncHTTPTransport()


@contextlib.contextmanager
def fakes(count: int, seconds_per_page: float) -> Iterator[list[str]]:
    command = [sys.executable, "-m", "router.cli", "fake-server", "--provider", "mistral"]
    arguments = [*command, "--port", "0", "--api-key", KEY]
    arguments += ["--latency-per-page", str(seconds_per_page)]
    with contextlib.ExitStack() as stack:
        processes = [
            stack.enter_context(server(arguments, "fake mistral listening on "))
            for _ in range(count)
        ]
        yield [process.url for process in processes]


def model_list(urls: list[str], **options: Any) -> list[dict[str, Any]]:
    return [
        {
            "model_name": "ocr",
            "model": "mistral/mistral-ocr-latest",
            "id": f"fake-{number}",
            "api_base": url,
            "api_key": KEY,
            **options,
        }
        for number, url in enumerate(urls)
    ]


async def router_call(
    urls: list[str], document: bytes, shard_pages: int | None
) -> tuple[float, int, int]:
    """(seconds, bytes sent upstream, pages answered) of one Router.aocr call."""
    counting = CountingTransport(transport())
    async with Router(model_list(urls), transport=counting, timeout=600) as router:
        started = time.perf_counter()
        response = await router.aocr("ocr", document, shard_pages=shard_pages)
        elapsed = time.perf_counter() - started
    assert [page.index for page in response.pages] == list(range(len(response.pages)))
    return elapsed, counting.body_bytes, len(response.pages)


def command_call(urls: list[str], path: Path, folder: Path) -> float:
    """Seconds of `ocr-router ocr PATH --shard-pages 30`, config and all."""
    config = folder / "router.yaml"
    config.write_text(json.dumps({"model_list": model_list(urls)}))  # JSON is YAML
    config.chmod(0o600)  # it holds the fakes' key
    out = folder / "out"
    arguments = ["ocr", str(path), "--config", str(config), "--out", str(out)]
    arguments += ["--shard-pages", str(SHARD_PAGES), "--format", "json"]
    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):  # its summary table
        code = cli_main(arguments)
    elapsed = time.perf_counter() - started
    assert code == 0, "ocr-router ocr failed"
    return elapsed


async def hundred_pages_check(urls: list[str]) -> dict[str, Any]:
    """A 100-page PDF over deployments that take 30 pages: served, each request <= 30 pages."""
    counting = CountingTransport(transport(), count_pages=True)
    entries = model_list(urls, max_pages_per_request=30)
    async with Router(entries, transport=counting, timeout=120) as router:
        response = await router.aocr("ocr", make_pdf(100))
    indexes = [page.index for page in response.pages]
    in_place = all(f"Page {page.index + 1} of 100" in page.markdown for page in response.pages)
    return {
        "served": True,
        "requests": len(counting.pages),
        "largest_request_pages": max(counting.pages),
        "pages_in_order": indexes == list(range(100)) and in_place,
    }


def run(quick: bool, rounds: int) -> dict[str, Any]:
    pages = 120 if quick else 600
    seconds_per_page = 0.01 if quick else 0.02
    rounds = 1 if quick else rounds
    document = make_pdf(pages, "Sharding benchmark", image_bytes=IMAGE_BYTES)
    base64_bytes = len(base64.b64encode(document))
    whole: list[float] = []
    sharded: list[float] = []
    command: list[float] = []
    sent: list[int] = []
    with fakes(3, seconds_per_page) as urls, tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "long.pdf"
        path.write_bytes(document)
        check = asyncio.run(hundred_pages_check(urls))
        for _ in range(rounds):
            # Alternating, so a slow moment of the shared machine hits each alike.
            seconds, _, answered = asyncio.run(router_call(urls, document, None))
            assert answered == pages
            whole.append(seconds)
            seconds, body_bytes, answered = asyncio.run(router_call(urls, document, SHARD_PAGES))
            assert answered == pages
            sharded.append(seconds)
            sent.append(body_bytes)
            command.append(command_call(urls, path, Path(folder)))
    result = {
        "quick": quick,
        "pages": pages,
        "document_bytes": len(document),
        "base64_bytes": base64_bytes,
        "seconds_per_page": seconds_per_page,
        "deployments": 3,
        "shard_pages": SHARD_PAGES,
        "rounds": rounds,
        "whole_s": statistics.median(whole),
        "sharded_s": statistics.median(sharded),
        "command_s": statistics.median(command),
        "sharded_bytes_sent": statistics.median(sent),
        "check_100_pages": check,
    }
    result["speedup"] = result["whole_s"] / result["sharded_s"]
    result["bytes_ratio"] = result["sharded_bytes_sent"] / base64_bytes
    result["command_ratio"] = result["command_s"] / result["sharded_s"]
    return result


def report(result: dict[str, Any]) -> str:
    check = result["check_100_pages"]
    # A quick run's 4 shards cannot be 4x faster, and the command's fixed costs weigh more on
    # 0.6 s: its timing targets are the full run's.
    timed = _met if not result.get("quick") else (lambda _ok: "full run only")
    speedup, sent, command = result["speedup"], result["bytes_ratio"], result["command_ratio"]
    rows = [
        ["Router.aocr, whole (one deployment)", result["whole_s"], ""],
        [f"Router.aocr, shard_pages={result['shard_pages']}", result["sharded_s"], ""],
        [f"ocr-router ocr --shard-pages {result['shard_pages']}", result["command_s"], ""],
        ["sharded / whole speed-up (x), target >= 4", speedup, timed(speedup >= 4)],
        ["bytes sent / document as base64, target <= 1.2", f"{sent:.4f}", _met(sent <= 1.2)],
        ["command / Router sharded time, target <= 1.2", command, timed(command <= 1.2)],
        [
            "100 pages over 30-page deployments: requests, largest, in order",
            f"{check['requests']}, {check['largest_request_pages']} pages, "
            f"{check['pages_in_order']}",
            _met(check["largest_request_pages"] <= 30 and check["pages_in_order"]),
        ],
    ]
    title = (
        f"Sharding: {result['pages']} pages, {result['document_bytes'] / 1e6:.1f} MB, "
        f"{result['deployments']} deployments at {result['seconds_per_page'] * 1000:g} ms a page "
        f"(seconds, median of {result['rounds']})"
    )
    return table(title, ["measure", "value", "target"], rows)


def _met(ok: bool) -> str:
    return "met" if ok else "MISSED"


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="120 pages, one round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    result = run(args.quick, args.rounds)
    print(report(result))
    save("sharding", result)


if __name__ == "__main__":
    cli()
