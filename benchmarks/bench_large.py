"""Large documents: PDFs of 1, 10 and 41 MB (data URIs of 1.4 to 55 MB) at 1, 4 and 16
concurrent, through ocr-router's `Router.aocr`, LiteLLM's Router and a raw aiohttp POST of the
same body (the floor), side by side; then both proxies (1 worker) at 10 and 41 MB.

Every side runs in a process of its own against `large_fake.py` (which reads each body and
answers a fixed valid response) and serves the points one at a time (`large_points.py`): the
parent interleaves the sides point by point, `ROUNDS` times, and keeps each figure's median, so
a noisy spell on the shared machine hits all sides alike. Per point: s/call, MB/s (request body
bytes moved per second), CPU seconds per call, and copies held: (peak RSS - idle RSS) /
(concurrency x body), how many copies of the document each call in flight holds.

glibc keeps freed buffers of up to 32 MB in its heap and reuses them unseen by RSS: each worker
trims its heap before a point's idle figure, and each proxy is started afresh for each size.
(A fixed `MALLOC_MMAP_THRESHOLD_` would have shown every buffer, but halved the proxies' rate.)

    python benchmarks/bench_large.py worker ours|raw --fake URL --scratch DIR --sizes 1,10,41
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import random
import statistics
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import measure
from common import BENCHMARKS, KEY, MASTER_KEY, ServerProcess, server, table

SIZES_MB = (1, 10, 41)
CONCURRENCY = (1, 4, 16)
PROXY_SIZES_MB = (10, 41)
PROXY_CLIENTS = 4
SIDES = ("raw", "ocr-router", "litellm")


@dataclass(frozen=True)
class Plan:
    """How much the suite does: the full run, or a quick smoke run."""

    sizes: tuple[int, ...] = SIZES_MB
    concurrency: tuple[int, ...] = CONCURRENCY
    rounds: int = 3
    waves: int = 2  # calls per point = concurrency x waves (x5 for the 1 MB document)
    proxy_sizes: tuple[int, ...] = PROXY_SIZES_MB
    proxy_seconds: float = 10.0
    proxy_rounds: int = 3


QUICK = Plan(sizes=(1, 10), concurrency=(1, 4), rounds=1, waves=1, proxy_sizes=(10,),
             proxy_seconds=4.0, proxy_rounds=1)  # fmt: skip


# ------------------------------------------------------------------ documents


def make_pdf(size: int, seed: int = 17) -> bytes:
    """A valid one-page PDF of about `size` bytes: the bulk is an embedded stream of random
    (incompressible) bytes, as scans are."""
    blob = random.Random(seed).randbytes(size)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /PieceInfo << /Data 4 0 R >> >>",
        b"<< /Type /EmbeddedFile /Length %d >>\nstream\n" % len(blob) + blob + b"\nendstream",
    ]
    pdf = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(pdf))
        pdf += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(pdf)
    pdf += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    pdf += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    pdf += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(pdf)


def uri_file(scratch: Path, megabytes: int) -> Path:
    return scratch / f"uri-{megabytes}.txt"


def body_file(scratch: Path, megabytes: int, model: str) -> Path:
    return scratch / f"body-{megabytes}-{model}.json"


def write_documents(scratch: Path, sizes: tuple[int, ...]) -> dict[int, dict[str, int]]:
    """The data URI of each size, and the wire bodies (routed "ocr", direct) in files."""
    facts = {}
    for megabytes in (0, *sizes):  # 0: a 1 KB one, to warm the workers up
        pdf = make_pdf(megabytes * 1_000_000 or 1000)
        uri = "data:application/pdf;base64," + base64.b64encode(pdf).decode()
        uri_file(scratch, megabytes).write_text(uri)
        for model in ("ocr", "mistral-ocr-latest"):
            body = {"model": model, "document": {"type": "document_url", "document_url": uri}}
            body_file(scratch, megabytes, model).write_text(json.dumps(body))
        facts[megabytes] = {"pdf_bytes": len(pdf), "body_bytes": len(uri) + 90}
    return facts


# ------------------------------------------------------------------ the workers (child processes)


def worker_main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("side", choices=("ours", "raw"))
    parser.add_argument("--fake", required=True)
    parser.add_argument("--scratch", required=True, type=Path)
    parser.add_argument("--sizes", required=True)
    arguments = parser.parse_args(argv)
    sizes = [int(size) for size in arguments.sizes.split(",")]
    run = _serve_ours if arguments.side == "ours" else _serve_raw
    asyncio.run(run(arguments.fake, arguments.scratch, sizes))


async def _serve_ours(fake: str, scratch: Path, sizes: list[int]) -> None:
    import large_points

    from router import Router

    uris = {str(size): uri_file(scratch, size).read_text() for size in sizes}
    model_list = [
        {
            "model_name": "ocr",
            "litellm_params": {
                "model": "mistral/mistral-ocr-latest",
                "api_base": fake,
                "api_key": KEY,
            },
        }
        for _ in range(3)
    ]
    async with Router(model_list) as router:

        def call_for(uri: str) -> Any:
            return lambda: router.aocr("ocr", uri, timeout=600)

        small = uri_file(scratch, 0).read_text()
        calls = {size: call_for(uri) for size, uri in uris.items()}
        await large_points.serve(calls, warm=call_for(small))


async def _serve_raw(fake: str, scratch: Path, sizes: list[int]) -> None:
    import aiohttp
    import large_points

    bodies = {
        str(size): body_file(scratch, size, "mistral-ocr-latest").read_bytes() for size in sizes
    }
    headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:

        def call_for(body: bytes) -> Any:
            async def call() -> Any:
                async with session.post(f"{fake}/v1/ocr", data=body, headers=headers) as answer:
                    answer.raise_for_status()
                    return await answer.json()

            return call

        small = body_file(scratch, 0, "mistral-ocr-latest").read_bytes()
        calls = {size: call_for(body) for size, body in bodies.items()}
        await large_points.serve(calls, warm=call_for(small))


class Worker:
    """One side's worker process: send a point, read its figures."""

    def __init__(self, command: list[str]) -> None:
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=BENCHMARKS,
        )
        if json.loads(self._line()).get("ready") is not True:
            raise RuntimeError(f"worker {command[:3]} did not start")

    def _line(self) -> str:
        """The next JSON object it prints (a library may print other lines)."""
        assert self.process.stdout is not None
        while line := self.process.stdout.readline():
            if line.startswith("{"):
                return line
        raise RuntimeError(f"a worker ended (exit {self.process.wait()})")

    def point(self, size: int, concurrency: int, calls: int) -> dict[str, Any]:
        assert self.process.stdin is not None
        request = {"size": str(size), "concurrency": concurrency, "calls": calls}
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        return json.loads(self._line())  # type: ignore[no-any-return]

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# ------------------------------------------------------------------ in-process points


def large_fake() -> contextlib.AbstractContextManager[ServerProcess]:
    return server([sys.executable, str(BENCHMARKS / "large_fake.py")], "large fake listening on ")


def run_points(
    plan: Plan, fake: ServerProcess, scratch: Path, litellm_python: Path | None
) -> list[dict[str, Any]]:
    sizes = ",".join(str(size) for size in plan.sizes)
    here = [sys.executable, str(BENCHMARKS / "bench_large.py"), "worker"]
    where = ["--fake", fake.url, "--scratch", str(scratch), "--sizes", sizes]
    commands = {"raw": [*here, "raw", *where], "ocr-router": [*here, "ours", *where]}
    if litellm_python is not None:
        commands["litellm"] = [
            str(litellm_python), str(BENCHMARKS / "litellm_side.py"), "large",
            "--base-url", fake.url, "--api-key", KEY, "--scratch", str(scratch), "--sizes", sizes,
        ]  # fmt: skip
    workers = {}
    try:
        for side, command in commands.items():
            workers[side] = Worker(command)
        runs: dict[tuple[int, int, str], list[dict[str, Any]]] = {}
        for number in range(plan.rounds):
            for size in plan.sizes:
                for concurrency in plan.concurrency:
                    calls = concurrency * plan.waves * (5 if size == 1 else 1)
                    for side, worker in workers.items():
                        print(
                            f"   round {number + 1}: {size} MB x {concurrency}, {side}",
                            file=sys.stderr,
                            flush=True,
                        )
                        fake.mark()
                        found = worker.point(size, concurrency, calls)
                        found["fake_cores"] = fake.cpu_share()
                        runs.setdefault((size, concurrency, side), []).append(found)
    finally:
        for worker in workers.values():
            worker.close()
    return [_median_point(size, conc, side, found) for (size, conc, side), found in runs.items()]


def _median_point(size: int, concurrency: int, side: str, runs: list[dict[str, Any]]) -> dict:
    body = _body_bytes(size)
    per_run = []
    for run in runs:
        per_run.append(
            {
                "s_per_call": run["seconds"] / run["calls"] * concurrency,
                "mb_per_s": body * run["calls"] / run["seconds"] / 1e6,
                "cpu_per_call": run["cpu_seconds"] / run["calls"],
                "copies": (run["peak_rss"] - run["idle_rss"]) / (concurrency * body),
                "fake_cores": run["fake_cores"],
                "errors": run["errors"],
            }
        )
    point: dict[str, Any] = {"size_mb": size, "concurrency": concurrency, "side": side}
    for key in ("s_per_call", "mb_per_s", "cpu_per_call", "copies", "fake_cores"):
        point[key] = statistics.median(run[key] for run in per_run)
    point["errors"] = sum(run["errors"] for run in per_run)
    point["error_kinds"] = [run.get("error_kinds") for run in runs if run["errors"]]
    point["runs"] = per_run
    return point


_BODY_BYTES: dict[int, int] = {}


def _body_bytes(size: int) -> int:
    return _BODY_BYTES[size]


# ------------------------------------------------------------------ proxies


def group_pids(group: int) -> list[str]:
    """The processes of a process group (a proxy and its workers)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                if int(stat.read().rsplit(")", 1)[1].split()[2]) == group:
                    found.append(entry)
        except (OSError, ValueError, IndexError):
            continue  # it ended meanwhile
    return found


def group_rss(pids: list[str]) -> int:
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            total += measure.rss_bytes(pid)
    return total


def group_cpu(pids: list[str]) -> float:
    total = 0.0
    for pid in pids:
        with contextlib.suppress(OSError):
            total += measure.cpu_seconds(pid)
    return total


class GroupPeakRss:
    """Idle and peak RSS summed over a proxy's processes, sampled every 10 ms."""

    def __init__(self, pids: list[str]) -> None:
        self.pids = pids
        self.idle = group_rss(pids)
        self.peak = self.idle
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, group_rss(self.pids))

    def __enter__(self) -> GroupPeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def load(url: str, key: str, body: Path, seconds: float) -> dict[str, Any]:
    command = [sys.executable, str(BENCHMARKS / "loadgen.py"), url, "--key", key]
    command += ["--body", str(body), "--duration", str(seconds), "--warmup", "1"]
    command += [f"--closed={PROXY_CLIENTS}"]
    output = subprocess.run(
        command, capture_output=True, text=True, check=True, timeout=seconds + 300
    ).stdout
    return json.loads(output.strip().splitlines()[-1])  # type: ignore[no-any-return]


def ocr_router_proxy(fake: ServerProcess, scratch: Path) -> Any:
    config = {
        "model_list": [
            {
                "model_name": "ocr",
                "litellm_params": {
                    "model": "mistral/mistral-ocr-latest",
                    "api_base": fake.url,
                    "api_key": KEY,
                },
            }
            for _ in range(3)
        ],
        "general_settings": {"master_key": MASTER_KEY},
    }
    path = scratch / "ocr-router.yaml"
    path.write_text(json.dumps(config))
    command = [sys.executable, "-m", "router.cli", "serve", "--config", str(path)]
    command += ["--port", "0", "--workers", "1", "--log-level", "warning"]

    @contextlib.contextmanager
    def start() -> Iterator[tuple[str, int]]:
        with server(command, "ocr-router proxy listening on ") as proxy:
            yield proxy.url, proxy.process.pid

    return start


def litellm_proxy(litellm_python: Path, fake: ServerProcess, scratch: Path) -> Any:
    from litellm_proxy import free_port, start_litellm_proxy, stop

    config = scratch / "litellm.yaml"
    subprocess.run(
        [
            str(litellm_python), str(BENCHMARKS / "litellm_side.py"), "proxy-config",
            "--base-url", fake.url, "--api-key", KEY, "--out", str(config),
            "--master-key", MASTER_KEY,
        ],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip

    @contextlib.contextmanager
    def start() -> Iterator[tuple[str, int]]:
        process = start_litellm_proxy(litellm_python, config, free_port(), 1)
        try:
            yield process.url, process.pid
        finally:
            stop(process)

    return start


def run_proxies(
    plan: Plan, fake: ServerProcess, scratch: Path, litellm_python: Path | None
) -> list[dict[str, Any]]:
    starters = {"ocr-router serve": ocr_router_proxy(fake, scratch)}
    if litellm_python is not None:
        starters["LiteLLM proxy"] = litellm_proxy(litellm_python, fake, scratch)
    runs: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for _ in range(plan.proxy_rounds):
        for size in plan.proxy_sizes:
            body = body_file(scratch, size, "ocr")
            for name, start in starters.items():
                # Started afresh for each size: its idle RSS holds no buffer of an earlier run.
                with start() as (url, group):
                    print(f"   proxy {name}, {size} MB", file=sys.stderr, flush=True)
                    pids = group_pids(group)
                    cpu = group_cpu(pids)
                    fake.mark()
                    with GroupPeakRss(pids) as memory:
                        found = load(f"{url}/v1/ocr", MASTER_KEY, body, plan.proxy_seconds)
                    found["fake_cores"] = fake.cpu_share()
                    found["cpu_per_request"] = (group_cpu(pids) - cpu) / max(found["requests"], 1)
                    found["copies"] = (memory.peak - memory.idle) / (
                        PROXY_CLIENTS * _body_bytes(size)
                    )
                    runs.setdefault((name, size), []).append(found)
    results = []
    for (name, size), found in runs.items():
        results.append(
            {
                "name": name,
                "size_mb": size,
                "clients": PROXY_CLIENTS,
                "requests_per_s": statistics.median(run["requests_per_s"] for run in found),
                "cpu_per_request": statistics.median(run["cpu_per_request"] for run in found),
                "copies": statistics.median(run["copies"] for run in found),
                "fake_cores": statistics.median(run["fake_cores"] for run in found),
                "errors": sum(sum(run["errors"].values()) for run in found),
                "runs": found,
            }
        )
    return results


# ------------------------------------------------------------------ the suite


def run(plan: Plan, scratch: Path, litellm_python: Path | None) -> dict[str, Any]:
    documents = write_documents(scratch, tuple(sorted({*plan.sizes, *plan.proxy_sizes})))
    _BODY_BYTES.update({size: facts["body_bytes"] for size, facts in documents.items()})
    with large_fake() as fake:
        points = run_points(plan, fake, scratch, litellm_python)
        proxies = run_proxies(plan, fake, scratch, litellm_python)
    return {"plan": plan.__dict__, "documents": documents, "points": points, "proxies": proxies}


def _at(points: list[dict[str, Any]], size: int, concurrency: int, side: str) -> dict | None:
    for point in points:
        if (point["size_mb"], point["concurrency"], point["side"]) == (size, concurrency, side):
            return point
    return None


def report(found: dict[str, Any]) -> str:
    points = found["points"]
    sides = [side for side in SIDES if any(point["side"] == side for point in points)]
    plan = found["plan"]
    speed_rows, cost_rows = [], []
    for size in plan["sizes"]:
        for concurrency in plan["concurrency"]:
            at = {side: _at(points, size, concurrency, side) for side in sides}
            ours, raw, theirs = at.get("ocr-router"), at.get("raw"), at.get("litellm")
            assert ours is not None and raw is not None
            row: list[Any] = [f"{size} MB", concurrency]
            row += [
                f"{at[side]['mb_per_s']:,.0f} ({at[side]['s_per_call']:.3g} s)" for side in sides
            ]
            row.append(ours["mb_per_s"] / raw["mb_per_s"])
            row.append(ours["mb_per_s"] / theirs["mb_per_s"] if theirs else float("nan"))
            row.append(max(point["fake_cores"] for point in at.values() if point))
            speed_rows.append(row)
            cost_rows.append(
                [f"{size} MB", concurrency]
                + [at[side]["cpu_per_call"] for side in sides]
                + [at[side]["copies"] for side in sides]
                + [sum(at[side]["errors"] for side in sides)]
            )
    names = {"raw": "raw aiohttp", "ocr-router": "ocr-router", "litellm": "LiteLLM"}
    text = table(
        "Large documents: MB/s (s/call), median of the rounds",
        ["PDF", "concurrent", *(names[side] for side in sides), "ocr-router / raw",
         "ocr-router / LiteLLM", "fake cores"],
        speed_rows,
    )  # fmt: skip
    text += "\n" + table(
        "Large documents: CPU seconds per call, and copies of the document held per call",
        ["PDF", "concurrent", *(f"CPU {names[side]}" for side in sides),
         *(f"copies {names[side]}" for side in sides), "errors"],
        cost_rows,
    )  # fmt: skip
    proxy_rows = []
    for size in plan["proxy_sizes"]:
        entries = {e["name"]: e for e in found["proxies"] if e["size_mb"] == size}
        ours, theirs = entries.get("ocr-router serve"), entries.get("LiteLLM proxy")
        assert ours is not None
        proxy_rows.append(
            [
                f"{size} MB",
                ours["requests_per_s"],
                theirs["requests_per_s"] if theirs else float("nan"),
                ours["requests_per_s"] / theirs["requests_per_s"] if theirs else float("nan"),
                ours["cpu_per_request"],
                theirs["cpu_per_request"] if theirs else float("nan"),
                ours["copies"],
                theirs["copies"] if theirs else float("nan"),
                ours["errors"] + (theirs["errors"] if theirs else 0),
            ]
        )
    text += "\n" + table(
        f"Proxies, 1 worker, {PROXY_CLIENTS} clients back to back: requests/s, CPU s/request "
        "(all its processes), copies held per request",
        ["PDF", "ocr-router req/s", "LiteLLM req/s", "advantage (x)", "CPU ocr-router",
         "CPU LiteLLM", "copies ocr-router", "copies LiteLLM", "errors"],
        proxy_rows,
    )  # fmt: skip
    return text


def targets(found: dict[str, Any]) -> list[tuple[str, float, str, bool]]:
    """(target, value, unit, met) for issue 17's targets this run measured."""
    points, plan = found["points"], found["plan"]
    rows: list[tuple[str, float, str, bool]] = []

    def ratio(size: int, concurrency: int, other: str) -> float | None:
        ours, theirs = (
            _at(points, size, concurrency, "ocr-router"),
            _at(points, size, concurrency, other),
        )
        if ours is None or theirs is None:
            return None
        return float(ours["mb_per_s"] / theirs["mb_per_s"])

    one = ratio(41, 1, "litellm")
    if one is not None:
        rows.append(("Router MB/s >= 3x LiteLLM's, 41 MB, 1 concurrent", one, "x", one >= 3))
    others = [
        value
        for size in (10, 41)
        for concurrency in (1, 4)
        if (size, concurrency) != (41, 1)
        and (value := ratio(size, concurrency, "litellm")) is not None
    ]
    if others:
        worst = min(others)
        rows.append(
            ("Router MB/s >= 2x LiteLLM's, 10/41 MB at 1/4 concurrent", worst, "x", worst >= 2)
        )
    floor = [
        value
        for size in plan["sizes"]
        for concurrency in plan["concurrency"]
        if (value := ratio(size, concurrency, "raw")) is not None
    ]
    if floor:
        rows.append(
            ("Router MB/s >= 0.5x raw POST, every point", min(floor), "x", min(floor) >= 0.5)
        )
    cpu = [
        _at(points, 41, concurrency, "ocr-router")["cpu_per_call"]  # type: ignore[index]
        / _at(points, 41, concurrency, "raw")["cpu_per_call"]  # type: ignore[index]
        for concurrency in plan["concurrency"]
        if _at(points, 41, concurrency, "raw") is not None
    ]
    if cpu:
        rows.append(("CPU per 41 MB call <= 2x raw POST's", max(cpu), "x", max(cpu) <= 2))
    copies = [
        point["copies"]
        for point in points
        if point["side"] == "ocr-router" and point["size_mb"] >= 10
    ]
    if copies:
        rows.append(
            ("copies held in-process <= 2, 10 and 41 MB", max(copies), "", max(copies) <= 2)
        )
    mine = [e for e in found["proxies"] if e["name"] == "ocr-router serve"]
    if mine:
        most = max(entry["copies"] for entry in mine)
        rows.append(("copies held in a proxy worker <= 3", most, "", most <= 3))
    for entry in mine:
        theirs = next(
            (e for e in found["proxies"]
             if e["name"] == "LiteLLM proxy" and e["size_mb"] == entry["size_mb"]),
            None,
        )  # fmt: skip
        if theirs is not None and entry["size_mb"] == 41:
            value = entry["requests_per_s"] / theirs["requests_per_s"]
            rows.append(
                ("proxy req/s >= 2.5x LiteLLM's, 1 worker, 41 MB", value, "x", value >= 2.5)
            )
    return rows


if __name__ == "__main__":
    if sys.argv[1:2] == ["worker"]:
        sys.path.insert(0, str(BENCHMARKS))
        worker_main(sys.argv[2:])
