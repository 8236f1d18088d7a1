"""The demo's little world: four fake deployments, each misbehaving in its own way, and the
sample documents sent to them.

A newcomer should see every kind of trouble the router handles within one short run, without a
key or a network, so each fake is given one:

- `mistral-1`: healthy, the steady reference.
- `mistral-2`: goes through an OUTAGE (every request answered 503) from 30% to 60% of the run;
  the router cools it after `allowed_fails` failures, probes it, and takes it back afterwards.
- `azure`: fails about 15% of requests with a 503; retries hide them from the caller.
- `vertex`: rate-limited about 10% of the time (429 with `Retry-After: 1`), cheaper but slower;
  each 429 keeps it out for the second it asked for.

All of them are `providers.fake.FakeProvider` servers on 127.0.0.1 speaking their provider's real
dialect, so the router does exactly what it would do against the real services.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

from providers.fake import Answer, FakeProvider
from router.mime import sniff_mime

DEMO_KEY = "demo-key"  # what the fakes expect: nothing in the demo is a real credential
GROUP = "ocr"
# Where mistral-2's outage falls, as fractions of the run: late enough that the viewer first sees
# it healthy, early enough that its recovery is seen before the end.
OUTAGE_START_FRACTION = 0.3
OUTAGE_END_FRACTION = 0.6
OUTAGE_ANSWER_DELAY_S = 0.02  # a service that is down answers its 503 quickly
AZURE_FAILURE_RATE = 0.15
VERTEX_RATE_LIMIT_RATE = 0.10
VERTEX_RETRY_AFTER_S = 1  # short enough that the viewer sees Vertex come back within a run
SAMPLE_PACKAGE = "providers.sample_documents"
SAMPLE_SUFFIXES = (".pdf", ".png", ".jpg", ".jpeg")


@dataclass(frozen=True)
class SampleDocument:
    """One shipped sample: its file name, bytes and sniffed MIME type."""

    name: str
    content: bytes
    mime_type: str

    def __repr__(self) -> str:  # the bytes are document content: never in a repr
        return f"SampleDocument({self.name!r}, {len(self.content)} bytes, {self.mime_type})"


def load_sample_documents() -> list[SampleDocument]:
    """The sample documents shipped in `providers/sample_documents/`, sorted by name."""
    samples = []
    for entry in files(SAMPLE_PACKAGE).iterdir():
        if entry.is_file() and entry.name.lower().endswith(SAMPLE_SUFFIXES):
            content = entry.read_bytes()
            mime_type = sniff_mime(content)
            if mime_type is None:  # a stray file: the fakes would refuse it, so never send it
                continue
            samples.append(SampleDocument(entry.name, content, mime_type))
    if not samples:
        raise FileNotFoundError(f"no sample documents found in the package {SAMPLE_PACKAGE}")
    return sorted(samples, key=lambda sample: sample.name)


class Clock:
    """Seconds since the demo started sending (None before), shared by the outage and display."""

    def __init__(self, now: Callable[[], float] = time.monotonic) -> None:
        self._now = now
        self._started: float | None = None

    def start(self) -> None:
        self._started = self._now()

    def elapsed(self) -> float | None:
        return None if self._started is None else self._now() - self._started


@dataclass(frozen=True)
class Outage:
    """A window of the run, in seconds since the start, during which a fake is down."""

    start_s: float
    end_s: float

    def covers(self, elapsed: float | None) -> bool:
        return elapsed is not None and self.start_s <= elapsed < self.end_s


class OutageFake(FakeProvider):
    """A fake that answers every request with a 503 while its `outage` covers the clock.

    Down is down: the route and the credential are not even looked at, as when a load balancer
    has no backend left. Outside the window it is an ordinary `FakeProvider`.
    """

    def __init__(self, provider: str, *, outage: Outage, clock: Clock, **options: Any) -> None:
        super().__init__(provider, **options)
        self.outage = outage
        self.clock = clock
        self.outage_answers = 0

    async def handle(
        self,
        method: str,
        path: str,
        query: Mapping[str, str],
        headers: Mapping[str, str],
        body: bytes,
    ) -> Answer:
        if self.outage.covers(self.clock.elapsed()):
            self.outage_answers += 1
            await asyncio.sleep(OUTAGE_ANSWER_DELAY_S)
            return Answer(self.dialect.error(503, "service unavailable (demo outage)"))
        return await super().handle(method, path, query, headers, body)


@dataclass(frozen=True)
class FakeDeployment:
    """One deployment of the demo: its id, what it does wrong (said on screen) and its fake."""

    deployment_id: str
    model: str
    trouble: str
    fake: FakeProvider
    settings: Mapping[str, Any]


def make_deployments(duration_s: float, seed: int, clock: Clock) -> list[FakeDeployment]:
    """The four fakes of the module docstring, their faults seeded by `seed`."""
    outage = Outage(duration_s * OUTAGE_START_FRACTION, duration_s * OUTAGE_END_FRACTION)
    azure_percent = round(AZURE_FAILURE_RATE * 100)
    vertex_percent = round(VERTEX_RATE_LIMIT_RATE * 100)
    return [
        FakeDeployment(
            "mistral-1",
            "mistral/mistral-ocr-latest",
            "healthy",
            FakeProvider(
                "mistral",
                api_key=DEMO_KEY,
                seed=seed,
                latency=(0.05, 0.15),
                record_requests=False,  # `demo --serve` runs for as long as it is left
            ),
            {},
        ),
        FakeDeployment(
            "mistral-2",
            "mistral/mistral-ocr-latest",
            f"outage {outage.start_s:.3g}-{outage.end_s:.3g}s",
            OutageFake(
                "mistral",
                outage=outage,
                clock=clock,
                api_key=DEMO_KEY,
                seed=seed + 1,
                latency=(0.05, 0.15),
                record_requests=False,
            ),
            {},
        ),
        FakeDeployment(
            "azure",
            "azure_ai/mistral-ocr-4-0",
            f"{azure_percent}% 503",
            FakeProvider(
                "azure_ai",
                api_key=DEMO_KEY,
                seed=seed + 2,
                latency=(0.08, 0.25),
                faults={"503": AZURE_FAILURE_RATE},
                record_requests=False,
            ),
            {},
        ),
        FakeDeployment(
            "vertex",
            "vertex_ai/mistral-ocr-2505",
            f"{vertex_percent}% 429, slow",
            FakeProvider(
                "vertex_ai",
                api_key=DEMO_KEY,
                seed=seed + 3,
                latency=(0.15, 0.30),
                faults={f"429:{VERTEX_RETRY_AFTER_S}": VERTEX_RATE_LIMIT_RATE},
                record_requests=False,
            ),
            {"vertex_project": "ocr-router-demo", "vertex_location": "europe-west4"},
        ),
    ]


def outage_of(deployments: list[FakeDeployment]) -> tuple[str, Outage] | None:
    """The deployment that goes through an outage, and when."""
    for deployment in deployments:
        if isinstance(deployment.fake, OutageFake):
            return deployment.deployment_id, deployment.fake.outage
    return None


@contextlib.asynccontextmanager
async def serving(deployments: list[FakeDeployment]) -> AsyncIterator[list[dict[str, Any]]]:
    """Serve every fake on 127.0.0.1; yields the Router's `model_list` over them."""
    async with contextlib.AsyncExitStack() as stack:
        model_list = []
        for deployment in deployments:
            base_url = await stack.enter_async_context(deployment.fake.serve())
            model_list.append(
                {
                    "model_name": GROUP,
                    "id": deployment.deployment_id,
                    "model": deployment.model,
                    "api_base": base_url,
                    "api_key": DEMO_KEY,
                    **deployment.settings,
                }
            )
        yield model_list


__all__ = [
    "DEMO_KEY",
    "GROUP",
    "Clock",
    "FakeDeployment",
    "Outage",
    "OutageFake",
    "SampleDocument",
    "load_sample_documents",
    "make_deployments",
    "outage_of",
    "serving",
]
