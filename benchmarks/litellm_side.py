"""LiteLLM's side of the benchmarks: run by the LiteLLM venv's python (see litellm_env.py).

That venv has none of our packages: this script imports `measure.py` by path and nothing else
from the repo. Every subcommand prints ONE JSON object to stdout; logs go to stderr.

    python litellm_side.py import [--repeat 5]
    python litellm_side.py router --base-url URL --api-key KEY --document-file F \\
        [--deployments 3] [--sequential 1000] [--warmup 50] [--concurrency 1,16,64,256] \\
        [--calls 2000] [--strategy simple-shuffle]
    python litellm_side.py rss --base-url URL --api-key KEY --document-file F [--calls 10000] \\
        [--concurrency 16] [--deployments 3]
    python litellm_side.py proxy-config --base-url URL --api-key KEY --out FILE --master-key K \\
        [--deployments 3] [--strategy simple-shuffle]
    python litellm_side.py large --base-url URL --api-key KEY --scratch DIR --sizes 1,10,41

`--document-file` holds a `data:application/pdf;base64,...` URI. The Router keeps LiteLLM's own
defaults (retries, timeouts, cooldowns); errors are counted and retries are read off each response
(`x-litellm-attempted-retries`), so no failure hides behind a retry.

What keeps LiteLLM local and quiet (set below, before litellm is imported):
- LITELLM_LOCAL_MODEL_COST_MAP=True: the bundled cost map, never the one on GitHub.
- LITELLM_OFFLINE_MODE=true: the bundled copy of every other catalog LiteLLM would fetch itself.
- LITELLM_TELEMETRY_DISABLED=true: vetoes the proxy's usage telemetry (off by default anyway).
- LITELLM_MODE=PRODUCTION: LiteLLM reads no `.env` from the working directory.
- litellm.suppress_debug_info=True: no "Give Feedback / Get Help" banner on errors.
- No callbacks are registered (LiteLLM's default); the output's `litellm` block shows that.
  LITELLM_LOG is left unset: LiteLLM's loggers then stand at WARNING, so nothing logs per call.
"""

from __future__ import annotations

import os

# Before anything imports litellm: it reads these when its package is first imported.
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
os.environ["LITELLM_OFFLINE_MODE"] = "true"
os.environ["LITELLM_TELEMETRY_DISABLED"] = "true"
os.environ["LITELLM_MODE"] = "PRODUCTION"

import argparse
import asyncio
import gc
import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
import measure

MODEL_GROUP = "ocr"
PROVIDER_MODEL = "mistral/mistral-ocr-latest"

# Runs in a fresh interpreter: times exactly the two import statements, then RSS after them.
_IMPORT_PROBE = """
import json, sys, time
sys.path.insert(0, {here!r})
import measure
rss_before = measure.rss_bytes()
started = time.perf_counter()
import litellm
from litellm import Router
seconds = time.perf_counter() - started
rss_after = measure.rss_bytes()
print(json.dumps({{"seconds": seconds, "rss_before": rss_before, "rss_after": rss_after}}))
"""


def log(message: str) -> None:
    print(f"[litellm_side] {message}", file=sys.stderr, flush=True)


def emit(result: dict[str, Any]) -> None:
    print(json.dumps(result), flush=True)


def litellm_facts() -> dict[str, Any]:
    """Version and the settings that decide whether LiteLLM does extra work per call."""
    import litellm

    litellm.suppress_debug_info = True
    return {
        "version": _litellm_version(),
        "python": sys.version.split()[0],
        "callbacks": [
            str(callback)
            for name in ("callbacks", "success_callback", "failure_callback", "input_callback")
            for callback in getattr(litellm, name, [])
        ],
        "has_telemetry_flag": hasattr(litellm, "telemetry"),
        "suppress_debug_info": litellm.suppress_debug_info,
        "environment": {
            name: os.environ.get(name)
            for name in (
                "LITELLM_LOCAL_MODEL_COST_MAP",
                "LITELLM_OFFLINE_MODE",
                "LITELLM_TELEMETRY_DISABLED",
                "LITELLM_MODE",
                "LITELLM_LOG",
            )
        },
    }


def _litellm_version() -> str:
    from importlib.metadata import version

    return version("litellm")


# ---------------------------------------------------------------------------------------- import


def command_import(args: argparse.Namespace) -> dict[str, Any]:
    """`import litellm` + `from litellm import Router`, each time in a fresh child interpreter."""
    probe = _IMPORT_PROBE.format(here=str(Path(__file__).parent))
    runs = []
    for attempt in range(args.repeat + 1):
        started = time.perf_counter()
        child = subprocess.run(
            [sys.executable, "-c", probe],
            capture_output=True,
            text=True,
            env=os.environ,
            timeout=300,
            check=False,
        )
        process_seconds = time.perf_counter() - started
        if child.returncode != 0:
            raise SystemExit(f"import probe failed ({child.returncode}):\n{child.stderr[-3000:]}")
        run = json.loads(child.stdout.strip().splitlines()[-1])
        run["process_seconds"] = process_seconds
        if attempt == 0:
            continue  # the first child warms the OS file cache: every later one finds it warm
        runs.append(run)
        log(f"import {run['seconds'] * 1000:.0f} ms, rss {run['rss_after'] / 2**20:.0f} MiB")
    return {
        "side": "litellm",
        "command": "import",
        "version": _litellm_version(),
        "import_seconds": measure.summary([run["seconds"] for run in runs]),
        "process_seconds": measure.summary([run["process_seconds"] for run in runs]),
        "rss_before_import_bytes": min(run["rss_before"] for run in runs),
        "rss_after_import_bytes": int(
            sorted(run["rss_after"] for run in runs)[len(runs) // 2]
        ),  # the median run's
        "runs": runs,
    }


# ---------------------------------------------------------------------------------------- router


class Calls:
    """`router.aocr` wrapped for the timing loops: counts errors, retries and fallbacks."""

    def __init__(self, router: Any, document_url: str) -> None:
        self.router = router
        self.document = {"type": "document_url", "document_url": document_url}
        self.calls = 0
        self.errors: Counter[str] = Counter()
        self.retries = 0
        self.fallbacks = 0

    async def __call__(self) -> Any:
        self.calls += 1
        try:
            response = await self.router.aocr(model=MODEL_GROUP, document=self.document)
        except Exception as error:  # counted and reported: a benchmark with errors is void
            self.errors[f"{type(error).__name__}: {str(error)[:200]}"] += 1
            return None
        headers = response._hidden_params.get("additional_headers") or {}
        # LiteLLM retries failed calls itself (2 retries by default): count them, never hide them.
        self.retries += int(headers.get("x-litellm-attempted-retries") or 0)
        self.fallbacks += int(headers.get("x-litellm-attempted-fallbacks") or 0)
        return response

    def counts(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "errors": sum(self.errors.values()),
            "retries": self.retries,
            "fallbacks": self.fallbacks,
            "error_kinds": dict(self.errors.most_common(5)),
        }


def build_router(args: argparse.Namespace) -> Any:
    from litellm import Router

    model_list = [
        {
            "model_name": MODEL_GROUP,
            "litellm_params": {
                "model": PROVIDER_MODEL,
                "api_base": args.base_url,
                "api_key": args.api_key,
            },
        }
        for _ in range(args.deployments)
    ]
    return Router(model_list=model_list, routing_strategy=args.strategy)


async def verified_first_call(calls: Calls) -> dict[str, Any]:
    """Make one call and fail loudly unless it is a real OCR response with pages."""
    response = await calls()
    pages = getattr(response, "pages", None)
    if not pages or not getattr(pages[0], "markdown", None):
        raise SystemExit(
            f"LiteLLM's first OCR call gave no pages: {response!r:.500}; errors {calls.counts()}"
        )
    return {"pages": len(pages), "model": getattr(response, "model", None)}


async def run_router(args: argparse.Namespace, document_url: str) -> dict[str, Any]:
    router = build_router(args)
    calls = Calls(router, document_url)
    first = await verified_first_call(calls)
    log(f"first response ok: {first}")

    cpu = measure.cpu_seconds()
    timings = await measure.sequential(calls, args.sequential, warmup=args.warmup)
    sequential = measure.summary(timings)
    sequential["cpu_seconds"] = measure.cpu_seconds() - cpu
    log(f"sequential median {sequential['median'] * 1e3:.3f} ms over {args.sequential} calls")

    levels = []
    for concurrency in args.concurrency:
        cpu = measure.cpu_seconds()
        level = await measure.concurrent(calls, concurrency, args.calls)
        level["cpu_seconds"] = measure.cpu_seconds() - cpu
        levels.append(level)
        log(f"concurrency {concurrency}: {level['calls_per_s']:.0f} calls/s")
    return {
        "side": "litellm",
        "command": "router",
        "litellm": litellm_facts(),
        "deployments": args.deployments,
        "strategy": args.strategy,
        "first_response": first,
        "sequential": sequential,
        "concurrent": levels,
        "rss_bytes": measure.rss_bytes(),
        **calls.counts(),
    }


def command_router(args: argparse.Namespace) -> dict[str, Any]:
    return asyncio.run(run_router(args, Path(args.document_file).read_text().strip()))


# ------------------------------------------------------------------------------------------- rss


async def run_rss(args: argparse.Namespace, document_url: str) -> dict[str, Any]:
    rss_after_import = measure.rss_bytes()
    router = build_router(args)
    calls = Calls(router, document_url)
    await verified_first_call(calls)
    rss_before = measure.rss_bytes()
    every = max(args.calls // 10, 1)
    samples: list[dict[str, int]] = []
    issued = 0
    done = 0

    async def worker() -> None:
        nonlocal issued, done
        while issued < args.calls:
            issued += 1
            await calls()
            done += 1
            if done % every == 0:
                samples.append({"calls": done, "rss_bytes": measure.rss_bytes()})

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(args.concurrency)))
    seconds = time.perf_counter() - started
    rss_after = measure.rss_bytes()
    gc.collect()
    return {
        "side": "litellm",
        "command": "rss",
        "litellm": litellm_facts(),
        "concurrency": args.concurrency,
        "seconds": seconds,
        "rss_after_import_bytes": rss_after_import,
        "rss_before_bytes": rss_before,
        "samples": samples,
        "rss_after_bytes": rss_after,
        "rss_after_gc_bytes": measure.rss_bytes(),
        **calls.counts(),
    }


def command_rss(args: argparse.Namespace) -> dict[str, Any]:
    import litellm  # noqa: F401  # loaded before the first sample, like `router`'s process

    return asyncio.run(run_rss(args, Path(args.document_file).read_text().strip()))


# ----------------------------------------------------------------------------------------- large


async def run_large(args: argparse.Namespace) -> None:
    """Serve the large-document points (large_points.py) through LiteLLM's Router."""
    import large_points

    router = build_router(args)
    scratch = Path(args.scratch)

    def call_for(size: str) -> Any:
        document = {
            "type": "document_url",
            "document_url": (scratch / f"uri-{size}.txt").read_text(),
        }

        async def call() -> Any:
            response = await router.aocr(model=MODEL_GROUP, document=document)
            if not getattr(response, "pages", None):
                raise RuntimeError("an OCR answer without pages")
            headers = response._hidden_params.get("additional_headers") or {}
            if int(headers.get("x-litellm-attempted-retries") or 0):
                raise RuntimeError("LiteLLM retried the call")  # no failure hides behind a retry
            return response

        return call

    calls = {size: call_for(size) for size in args.sizes.split(",")}
    await large_points.serve(calls, warm=call_for("0"))


def command_large(args: argparse.Namespace) -> dict[str, Any]:
    asyncio.run(run_large(args))
    return {"side": "litellm", "command": "large", "litellm": litellm_facts()}


# ---------------------------------------------------------------------------------- proxy-config


def command_proxy_config(args: argparse.Namespace) -> dict[str, Any]:
    """Write the proxy's config: model group `ocr` over N deployments at the fake, all local."""
    if not args.master_key.startswith("sk-"):
        raise SystemExit("LiteLLM requires the master key to start with 'sk-'")
    config = {
        "model_list": [
            {
                "model_name": MODEL_GROUP,
                "litellm_params": {
                    "model": PROVIDER_MODEL,
                    "api_base": args.base_url,
                    "api_key": args.api_key,
                },
            }
            for _ in range(args.deployments)
        ],
        "router_settings": {"routing_strategy": args.strategy},
        "litellm_settings": {"suppress_debug_info": True},
        # No database_url: keys are checked against the master key only, nothing is stored.
        "general_settings": {
            "master_key": args.master_key,
            "store_model_in_db": False,
            "disable_spend_logs": True,
            "disable_error_logs": True,
            "background_health_checks": False,
        },
    }
    out = Path(args.out)
    # JSON is YAML too: LiteLLM reads it with yaml.safe_load, litellm_proxy.py with json.
    out.write_text(json.dumps(config, indent=2) + "\n")
    return {
        "side": "litellm",
        "command": "proxy-config",
        "config": str(out.resolve()),
        "model_group": MODEL_GROUP,
        "deployments": args.deployments,
    }


# ------------------------------------------------------------------------------------------- cli


def parse_levels(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = top.add_subparsers(dest="command", required=True)

    probe = commands.add_parser("import", help="import time and RSS in fresh processes")
    probe.add_argument("--repeat", type=int, default=5)

    def target(command: argparse.ArgumentParser) -> None:
        command.add_argument("--base-url", required=True)
        command.add_argument("--api-key", required=True)
        command.add_argument("--deployments", type=int, default=3)
        command.add_argument("--strategy", default="simple-shuffle")

    router = commands.add_parser("router", help="sequential and concurrent Router.aocr calls")
    target(router)
    router.add_argument("--document-file", required=True)
    router.add_argument("--sequential", type=int, default=1000)
    router.add_argument("--warmup", type=int, default=50)
    router.add_argument("--concurrency", type=parse_levels, default=[1, 16, 64, 256])
    router.add_argument("--calls", type=int, default=2000)

    rss = commands.add_parser("rss", help="RSS over N Router.aocr calls")
    target(rss)
    rss.add_argument("--document-file", required=True)
    rss.add_argument("--calls", type=int, default=10000)
    rss.add_argument("--concurrency", type=int, default=16)

    large = commands.add_parser("large", help="serve large-document points (large_points.py)")
    target(large)
    large.add_argument("--scratch", required=True)
    large.add_argument("--sizes", required=True)

    config = commands.add_parser("proxy-config", help="write the LiteLLM proxy config")
    target(config)
    config.add_argument("--out", required=True)
    config.add_argument("--master-key", required=True)
    return top


def main() -> None:
    args = parser().parse_args()
    handlers = {
        "import": command_import,
        "router": command_router,
        "rss": command_rss,
        "proxy-config": command_proxy_config,
        "large": command_large,
    }
    emit(handlers[args.command](args))


if __name__ == "__main__":
    main()
