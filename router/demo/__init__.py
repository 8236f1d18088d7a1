"""`ocr-router demo`: see failover happen, with no key and no network.

Fake Mistral, Azure and Vertex servers on 127.0.0.1 (one going through an outage, one failing
part of the time, one rate-limited) behind a Router, a steady stream of the sample documents
shipped in `providers/sample_documents/`, a live table of what each deployment does, and a
summary that says what the router did. `--serve` puts the proxy in front of the same fakes.

    from router.demo import DemoOptions, run_demo
    summary = await run_demo(DemoOptions(duration_s=3, rate=30), rich.console.Console())

The command is `router.demo.command` (a row of `router.cli.COMMANDS`); the rest is imported
lazily, so that `ocr-router` works without the `cli` extra (rich) installed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from router.demo.run import DemoOptions, DemoSummary, DeploymentSummary, StopSignal, run_demo

__all__ = ["DemoOptions", "DemoSummary", "DeploymentSummary", "StopSignal", "run_demo"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from router.demo import run

        return getattr(run, name)
    raise AttributeError(f"module 'router.demo' has no attribute {name!r}")
