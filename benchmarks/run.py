"""Every benchmark, ocr-router beside LiteLLM, in one run: `scripts/bench` (or `python
benchmarks/run.py`; `--quick` for a short smoke run, `--only router,proxy`, `--no-litellm`).

Prints each table, writes results/NAME.json per benchmark, results/summary.md (all the tables,
the targets and the machine) and results/latency_vs_concurrency.png. LiteLLM (pinned in
litellm_env.py) is installed into benchmarks/.litellm-venv on first use and run from there, so
the two never share a process or an environment; ratios compare figures of this same run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_large
import bench_memory
import bench_proxy
import bench_router
import bench_scaling
import bench_sharding
import common
from common import BENCHMARKS, KEY, RESULTS, ms, table

SECTIONS = ("router", "scaling", "proxy", "memory", "sharding", "large")


@dataclass(frozen=True)
class Sizes:
    """How much each benchmark does: the full run, or a quick smoke run."""

    rounds: int = 2_000  # sequential overhead: calls each, raw and router alternating
    calls: int = 1_500  # throughput: calls per concurrency level and run
    decisions: int = 5_000
    scaling_calls: int = 1_000
    proxy_seconds: float = 5.0
    rss_calls: int = 1_000_000
    litellm_sequential: int = 1_000
    litellm_rss_calls: int = 20_000


QUICK = Sizes(300, 300, 1_000, 200, 2.0, 50_000, 200, 2_000)


class LiteLLM:
    """LiteLLM's side: its venv's python running litellm_side.py."""

    def __init__(self) -> None:
        from litellm_env import ensure_litellm_python

        self.python = ensure_litellm_python(BENCHMARKS)

    def side(self, *arguments: str, timeout: float = 3_600) -> dict[str, Any]:
        command = [str(self.python), str(BENCHMARKS / "litellm_side.py"), *arguments]
        output = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, check=False
        )
        if output.returncode != 0:
            raise RuntimeError(f"litellm_side {arguments[0]} failed:\n{output.stderr[-3000:]}")
        return json.loads(output.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]

    def calls(self, command: str, fake_url: str, document: Path, *extra: str) -> dict[str, Any]:
        common_arguments = ["--base-url", fake_url, "--api-key", KEY]
        return self.side(command, *common_arguments, "--document-file", str(document), *extra)


def run_router(
    fake: common.ServerProcess, sizes: Sizes, litellm: LiteLLM | None, document: Path
) -> str:
    ours = asyncio.run(bench_router.run(fake, rounds=sizes.rounds, calls=sizes.calls))
    text = bench_router.report(ours)
    theirs = None
    if litellm is not None:
        levels = ",".join(str(level) for level in bench_router.CONCURRENCY)
        theirs = litellm.calls(
            "router", fake.url, document,
            "--sequential", str(sizes.litellm_sequential),
            "--concurrency", levels,
            "--calls", str(sizes.calls),
        )  # fmt: skip
        text += "\n" + compare_routers(ours, theirs)
    common.save("router", {"ocr_router": ours, "litellm": theirs})
    plot(ours, theirs)
    return text


def compare_routers(ours: dict[str, Any], theirs: dict[str, Any]) -> str:
    name = next(iter(ours["overhead"]))  # the Router's default transport
    overhead = ours["overhead"][name]
    raw_median = overhead["raw"]["median"]
    rows = [
        [
            "sequential call, median ms",
            ms(overhead["router"]["median"]),
            ms(theirs["sequential"]["median"]),
            theirs["sequential"]["median"] / overhead["router"]["median"],
        ],
        [
            "over the raw client, median ms",
            ms(overhead["difference"]["median"]),
            ms(theirs["sequential"]["median"] - raw_median),
            (theirs["sequential"]["median"] - raw_median)
            / max(overhead["difference"]["median"], 1e-9),
        ],
    ]
    levels = {level["concurrency"]: level for level in ours["throughput"][name]}
    for level in theirs["concurrent"]:
        mine = levels[level["concurrency"]]["router"]
        rows.append(
            [
                f"calls/s at {level['concurrency']} concurrent",
                mine["calls_per_s"],
                level["calls_per_s"],
                mine["calls_per_s"] / level["calls_per_s"],
            ]
        )
    rows.append(["errors (LiteLLM: retries)", 0, f"{theirs['errors']} ({theirs['retries']})", ""])
    return table(
        f"ocr-router ({name} transport) beside LiteLLM {theirs['litellm']['version']} Router",
        ["measure", "ocr-router", "LiteLLM", "ocr-router advantage (x)"],
        rows,
    )


def plot(ours: dict[str, Any], theirs: dict[str, Any] | None) -> None:
    import matplotlib

    matplotlib.use("Agg")  # no display here
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    name = next(iter(ours["throughput"]))
    levels = ours["throughput"][name]
    concurrency = [level["concurrency"] for level in levels]
    lines = {
        f"raw httpx client ({name})": [level["raw"] for level in levels],
        "ocr-router Router": [level["router"] for level in levels],
    }
    if theirs is not None:
        lines[f"LiteLLM {theirs['litellm']['version']} Router"] = theirs["concurrent"]
    for axis, statistic in zip(axes, ("median", "p99"), strict=True):
        for label, runs in lines.items():
            axis.plot(concurrency, [ms(run[statistic]) for run in runs], marker="o", label=label)
        axis.set_xscale("log", base=2)
        axis.set_yscale("log")
        axis.set_xticks(concurrency, [str(level) for level in concurrency])
        axis.set_xlabel("concurrent calls")
        axis.set_ylabel(f"{statistic} latency per call (ms)")
        axis.grid(True, which="both", alpha=0.3)
    axes[0].legend()
    figure.suptitle("Latency against concurrency, same fake server (own process), 3 deployments")
    figure.tight_layout()
    RESULTS.mkdir(exist_ok=True)
    figure.savefig(RESULTS / "latency_vs_concurrency.png", dpi=110)


def run_scaling(sizes: Sizes) -> str:
    found = asyncio.run(bench_scaling.run(decisions=sizes.decisions, calls=sizes.scaling_calls))
    common.save("scaling", found)
    return bench_scaling.report(found)


def run_proxy(fake: common.ServerProcess, sizes: Sizes, litellm: LiteLLM | None) -> str:
    extra: dict[str, tuple[bench_proxy.Starter, str]] = {}
    with contextlib.ExitStack() as stack:
        if litellm is not None:
            extra = litellm_proxies(litellm, fake, stack)
        found = bench_proxy.run(fake, duration=sizes.proxy_seconds, extra=extra)
    common.save("proxy", {"proxies": found})
    text = bench_proxy.report(found)
    by_name = {entry["name"]: entry for entry in found}
    rows = []
    for workers in (1, 2):
        plural = "s" * (workers > 1)
        mine = by_name.get(f"ocr-router serve, {workers} worker{plural}")
        theirs = by_name.get(f"LiteLLM proxy, {workers} worker{plural}")
        if mine and theirs:
            ratio = mine["max"]["requests_per_s"] / theirs["max"]["requests_per_s"]
            rows.append(
                [
                    f"{workers} worker{plural}",
                    mine["max"]["requests_per_s"],
                    theirs["max"]["requests_per_s"],
                    ratio,
                ]
            )
    if rows:
        text += "\n" + table(
            "Proxy max requests/s beside LiteLLM's proxy",
            ["workers", "ocr-router", "LiteLLM", "ocr-router advantage (x)"],
            rows,
        )
    return text


def litellm_proxies(
    litellm: LiteLLM, fake: common.ServerProcess, stack: contextlib.ExitStack
) -> dict[str, tuple[bench_proxy.Starter, str]]:
    from litellm_proxy import free_port, start_litellm_proxy, stop

    scratch = Path(stack.enter_context(tempfile.TemporaryDirectory()))
    config = scratch / "litellm.yaml"
    litellm.side(
        "proxy-config", "--base-url", fake.url, "--api-key", KEY,
        "--out", str(config), "--master-key", common.MASTER_KEY,
    )  # fmt: skip

    def starter(workers: int) -> bench_proxy.Starter:
        @contextlib.contextmanager
        def start() -> Any:
            process = start_litellm_proxy(litellm.python, config, free_port(), workers)
            try:
                yield common.ServerProcess(process, process.url)  # type: ignore[arg-type]
            finally:
                stop(process)

        return start

    return {
        f"LiteLLM proxy, {workers} worker{'s' * (workers > 1)}": (
            starter(workers),
            common.MASTER_KEY,
        )
        for workers in (1, 2)
    }


def run_memory(
    fake: common.ServerProcess, sizes: Sizes, litellm: LiteLLM | None, document: Path
) -> str:
    found: dict[str, Any] = {
        "imports": {
            "python (bare)": bench_memory.import_cost("pass"),
            "router": bench_memory.import_cost("import router"),
        },
        "rss": asyncio.run(bench_memory.rss_over_calls(sizes.rss_calls)),
    }
    theirs: dict[str, Any] = {}
    if litellm is not None:
        imported = litellm.side("import", "--repeat", "5")
        found["imports"]["litellm (+ Router)"] = {
            "seconds": imported["import_seconds"]["median"],
            "rss_bytes": imported["rss_after_import_bytes"],
        }
        theirs = litellm.calls("rss", fake.url, document, "--calls", str(sizes.litellm_rss_calls))
    common.save("memory", {"ocr_router": found, "litellm": theirs or None})
    text = bench_memory.report(found)
    if theirs:
        text += (
            f"\nLiteLLM Router RSS over {theirs['calls']:,} calls (16 concurrent): "
            f"{theirs['rss_before_bytes'] / 2**20:.1f} MB after its first call, "
            f"{theirs['rss_after_bytes'] / 2**20:.1f} MB at the end.\n"
        )
    return text


def run_sharding(quick: bool) -> str:
    result = bench_sharding.run(quick, rounds=3)
    common.save("sharding", result)
    return bench_sharding.report(result)


def run_large(quick: bool, litellm: LiteLLM | None) -> str:
    plan = bench_large.QUICK if quick else bench_large.Plan()
    with tempfile.TemporaryDirectory() as scratch:
        found = bench_large.run(plan, Path(scratch), litellm.python if litellm else None)
    common.save("large", found)
    return bench_large.report(found)


def targets(sections: list[str]) -> str:
    """The issue's targets beside this run's figures (read back from results/*.json)."""
    found = {name: json.loads((RESULTS / f"{name}.json").read_text()) for name in sections}
    rows: list[list[Any]] = []

    def row(target: str, value: float, unit: str, met: bool) -> None:
        rows.append([target, f"{value:,.3g} {unit}".strip(), "met" if met else "MISSED"])

    if "router" in found:
        ours, theirs = found["router"]["ocr_router"], found["router"]["litellm"]
        name = next(iter(ours["overhead"]))
        difference = ours["overhead"][name]["difference"]["median"]
        row("overhead over raw, median <= 0.1 ms", ms(difference), "ms", difference <= 1e-4)
        at_64 = bench_router.median_ratio(ours["throughput"][name], 64)
        row("throughput at 64 >= 0.8x raw, same transport", at_64, "x", at_64 >= 0.8)
        if theirs:
            mine = next(lv for lv in ours["throughput"][name] if lv["concurrency"] == 64)
            other = next(lv for lv in theirs["concurrent"] if lv["concurrency"] == 64)
            ratio = mine["router"]["calls_per_s"] / other["calls_per_s"]
            row("throughput at 64 >= 10x LiteLLM's Router", ratio, "x", ratio >= 10)
    if "scaling" in found:
        worst = max(
            by_size["10000"]["decision"]["median"]
            for by_size in found["scaling"].values()
            if isinstance(by_size, dict) and "10000" in by_size
        )
        row(
            "decision at 10,000 deployments < 20 us, every strategy",
            worst * 1e6,
            "us",
            worst < 2e-5,
        )
    if "proxy" in found:
        by_name = {entry["name"]: entry for entry in found["proxy"]["proxies"]}
        for workers in ("1 worker", "2 workers"):
            mine = by_name[f"ocr-router serve, {workers}"]
            theirs = by_name.get(f"LiteLLM proxy, {workers}")
            if theirs:
                ratio = mine["max"]["requests_per_s"] / theirs["max"]["requests_per_s"]
                row(f"proxy req/s >= 5x LiteLLM's, {workers}", ratio, "x", ratio >= 5)
            added = mine["added_p99"]
            row(f"proxy added p99 at half rate < 5 ms, {workers}", ms(added), "ms", added < 5e-3)
    if "sharding" in found and not found["sharding"].get("quick"):  # timing: the full run's
        sharding = found["sharding"]
        speedup = sharding["speedup"]
        row("sharded (shard_pages=30) >= 4x faster than whole", speedup, "x", speedup >= 4)
        sent = sharding["bytes_ratio"]
        row("sharded bytes upstream <= 1.2x the base64", sent, "x", sent <= 1.2)
        command = sharding["command_ratio"]
        row("ocr-router ocr <= 1.2x the Router's sharded time", command, "x", command <= 1.2)
    if "memory" in found:
        memory = found["memory"]["ocr_router"]
        imported = memory["imports"]["router"]
        row("import router < 0.3 s", imported["seconds"], "s", imported["seconds"] < 0.3)
        megabytes = imported["rss_bytes"] / 2**20
        row("import router < 40 MB RSS", megabytes, "MB", megabytes < 40)
        growth = memory["rss"]["growth_after_warmup_bytes"] / 2**20
        calls = memory["rss"]["calls"]
        row(f"no RSS growth over {calls:,} calls", growth, "MB", growth <= 1)
    if "large" in found:
        for target, value, unit, met in bench_large.targets(found["large"]):
            row(target, value, unit, met)
    return table("Targets", ["target", "this run", ""], rows)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small counts: a smoke run")
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma-separated sections")
    parser.add_argument("--no-litellm", action="store_true", help="ocr-router only")
    arguments = parser.parse_args(argv)
    sections = [name.strip() for name in arguments.only.split(",") if name.strip()]
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections {sorted(unknown)}; choose from {', '.join(SECTIONS)}")
    sizes = QUICK if arguments.quick else Sizes()
    litellm = None if arguments.no_litellm else LiteLLM()
    started = time.perf_counter()
    report = [f"Machine: {json.dumps(common.machine())}\n"]
    with tempfile.TemporaryDirectory() as scratch, common.fake_server() as fake:
        document = Path(scratch) / "document.txt"
        document.write_text(common.document_url())
        runners = {
            "router": lambda: run_router(fake, sizes, litellm, document),
            "scaling": lambda: run_scaling(sizes),
            "proxy": lambda: run_proxy(fake, sizes, litellm),
            "memory": lambda: run_memory(fake, sizes, litellm, document),
            "sharding": lambda: run_sharding(arguments.quick),
            "large": lambda: run_large(arguments.quick, litellm),
        }
        for section in sections:
            print(f"== {section} ...", file=sys.stderr, flush=True)
            text = runners[section]()
            print(text, flush=True)
            report.append(text)
    text = targets(sections)
    print(text)
    report.insert(1, text)
    took = time.perf_counter() - started
    report.append(f"Run took {took:.0f} s: python benchmarks/run.py {' '.join(argv)}\n")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "summary.md").write_text("\n".join(report))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
