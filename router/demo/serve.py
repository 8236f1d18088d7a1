"""`ocr-router demo --serve`: the proxy in front of the demo's fakes, for a Mistral client to try.

The same four misbehaving fakes and the same Router as the stream demo, but the requests come
from the user: the proxy listens on 127.0.0.1 with a demo key (printed, with a curl command to
copy), the live table shows what each deployment does with them, and Ctrl-C (or `--duration`)
stops the server gracefully and prints the same summary.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from rich.console import Console

from providers.samples import make_pdf
from router.config import GeneralSettings
from router.demo.process import DEFAULT_PORT, stop_on_signals
from router.demo.run import (
    DemoOptions,
    DemoSummary,
    StopSignal,
    print_summary,
    router_settings,
    showing,
    snapshots,
    summarise,
)
from router.demo.scenario import GROUP, Clock, make_deployments, outage_of, serving
from router.demo.tally import Tally
from router.errors import OCRRouterError
from router.proxy.app import create_app
from router.proxy.server import server_config
from router.router import Router
from router.types import OCRResponse

DEMO_PROXY_KEY = "sk-demo"  # printed on screen: the demo proxy guards nothing of value
# Without --duration the server runs until Ctrl-C; mistral-2's outage is then placed as if the
# run lasted this long (from 18 s to 36 s), so a user trying it sees it within a minute.
OUTAGE_CYCLE_S = 60.0
SHUTDOWN_GRACE_S = 10.0  # requests in flight when the server stops get this long to finish


@dataclass(frozen=True)
class ServeOptions:
    """Where the demo proxy listens and for how long (None: until Ctrl-C)."""

    port: int = DEFAULT_PORT
    duration_s: float | None = None
    seed: int = 1
    live: bool | None = None  # None: a live table when the console is a terminal


class TalliedRouter(Router):
    """A Router that also counts each request's outcome for the display (the proxy calls aocr)."""

    def __init__(self, *args: Any, tally: Tally, **kwargs: Any) -> None:
        super().__init__(*args, hooks=[tally], **kwargs)
        self._tally = tally

    async def aocr(self, model: str, document: Any, **kwargs: Any) -> OCRResponse:
        self._tally.request_sent()
        try:
            response = await super().aocr(model, document, **kwargs)
        except OCRRouterError as error:
            self._tally.request_failed(type(error).__name__)
            raise
        except asyncio.CancelledError:
            self._tally.request_failed("stopped")
            raise
        self._tally.request_succeeded(response)
        return response


def example_request() -> dict[str, Any]:
    """A request to try: a two-page sample PDF, inline as Mistral takes it."""
    content = base64.b64encode(make_pdf(2, title="ocr-router demo")).decode("ascii")
    return {
        "model": GROUP,
        "document": {
            "type": "document_url",
            "document_url": f"data:application/pdf;base64,{content}",
        },
    }


def curl_example(url: str, body_path: Path) -> str:
    """The curl command that sends the request saved at `body_path` through the proxy."""
    return (
        f"curl -s {url}/v1/ocr -H 'Authorization: Bearer {DEMO_PROXY_KEY}' "
        f"-H 'Content-Type: application/json' -d @{body_path}"
    )


async def run_serve_demo(
    options: ServeOptions, console: Console, stop: StopSignal | None = None
) -> DemoSummary:
    """Serve the proxy over the demo's fakes until `stop` (or the duration); returns (and prints)
    the summary of what the requests it received did."""
    stop = stop or StopSignal()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind(("127.0.0.1", options.port))
    except OSError as error:
        listener.close()
        raise OSError(f"cannot listen on 127.0.0.1:{options.port}: {error.strerror}") from None
    with listener, tempfile.TemporaryDirectory(prefix="ocr-router-demo-") as scratch:
        body_path = Path(scratch) / "request.json"
        body_path.write_text(json.dumps(example_request()), encoding="utf-8")
        return await _serve(options, console, stop, listener, body_path)


async def _serve(
    options: ServeOptions,
    console: Console,
    stop: StopSignal,
    listener: socket.socket,
    body_path: Path,
) -> DemoSummary:
    demo = DemoOptions(duration_s=options.duration_s or OUTAGE_CYCLE_S, seed=options.seed)
    clock = Clock()
    deployments = make_deployments(demo.duration_s, options.seed, clock)
    troubles = {deployment.deployment_id: deployment.trouble for deployment in deployments}
    tally = Tally([deployment.deployment_id for deployment in deployments], clock.elapsed)
    live = console.is_terminal if options.live is None else options.live
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    async with (
        serving(deployments) as model_list,
        TalliedRouter(model_list, tally=tally, **router_settings(demo)) as router,
    ):
        general = GeneralSettings.model_validate({"master_key": DEMO_PROXY_KEY})
        app = create_app(router, general)
        config = server_config(
            app,
            general,
            lifespan="on",
            log_level="warning",  # the live table is the output; uvicorn's lines would break it
            access_log=False,
            timeout_graceful_shutdown=int(SHUTDOWN_GRACE_S),
        )
        server = uvicorn.Server(config)
        server_task = asyncio.create_task(server.serve(sockets=[listener]))
        # uvicorn sets a flag, not an event, once it accepts connections: poll it briefly.
        while not server.started and not server_task.done():  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        if server_task.done():
            server_task.result()  # raises why the server did not start
        heading = f"ocr-router demo --serve: the proxy over {len(deployments)} fake deployments"
        console.print(f"{heading} on {url} (key {DEMO_PROXY_KEY}, model {GROUP!r}).")
        console.print("Point any Mistral client at it, or try:", highlight=False)
        console.print(curl_example(url, body_path), markup=False, highlight=False, soft_wrap=True)
        console.print("Ctrl-C stops the server and prints the summary.\n")

        snapshot = snapshots(tally, router, troubles, clock, options.duration_s, heading)
        clock.start()
        with showing(console, snapshot, live):
            interrupted = await _until_stopped(server_task, stop, options.duration_s)
            server.should_exit = True  # stop accepting; requests in flight finish
            await asyncio.wait_for(server_task, SHUTDOWN_GRACE_S + 5)
        elapsed = clock.elapsed() or 0.0
    summary = summarise(tally, troubles, elapsed, interrupted, outage_of(deployments))
    print_summary(console, summary, tally, troubles)
    return summary


async def _until_stopped(
    server_task: asyncio.Task[None], stop: StopSignal, duration_s: float | None
) -> bool:
    """Until Ctrl-C, the duration, or the server ending by itself (uvicorn took the signal);
    whether it was stopped before its duration."""
    stopped = asyncio.create_task(stop.stop.wait())
    try:
        await asyncio.wait(
            [stopped, server_task], timeout=duration_s, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        stopped.cancel()
    return stop.stop.is_set() or server_task.done()


def run_serve_command(args: argparse.Namespace, console: Console) -> int:
    """`ocr-router demo --serve`: exits 0 after Ctrl-C or `--duration`, 1 if it cannot listen."""
    options = ServeOptions(port=args.port, duration_s=args.duration, seed=args.seed)

    async def serve() -> None:
        stop = StopSignal()
        with stop_on_signals(asyncio.get_running_loop(), stop.request):
            await run_serve_demo(options, console, stop)

    try:
        asyncio.run(serve())
    except OSError as error:
        console.print(f"ocr-router demo --serve: {error}", markup=False, highlight=False)
        return 1
    return 0


__all__ = [
    "DEMO_PROXY_KEY",
    "ServeOptions",
    "TalliedRouter",
    "curl_example",
    "run_serve_command",
    "run_serve_demo",
]
