"""Fake OCR providers, for testing failover without a network or a real key.

Each fake speaks one provider's dialect (routes, auth, body checks, error envelopes) and answers
with realistic pages that follow the request. Faults come from a script and from seeded random
rates. Two ways to run one, with identical answers:

```python
import httpx
from providers.fake import FakeProvider

fake = FakeProvider("azure_ai", api_key="fake-key", script=["ok", "503", "429:2", "timeout"],
                    faults={"500": 0.1}, seed=7, latency=(0.01, 0.03))

# in-process: no socket; connection faults raise what httpx raises over a network
client = httpx.AsyncClient(transport=fake.mock_transport(), base_url="http://fake")

# over real HTTP on 127.0.0.1 (port 0 = a free port)
async with fake.serve() as base_url:          # "http://127.0.0.1:PORT"
    ...
with fake.serve_in_thread() as base_url:      # the same, for synchronous code
    ...

fake.request_count        # every request received, refused ones included
fake.requests             # [ReceivedRequest(method, path, query, headers, json, outcome, ...)]
fake.outcomes             # Counter: {"ok": 3, "503": 1, "429": 1, "timeout": 1, ...}
fake.reset()              # forget requests and counters, restart the script and the seeds
```

Several fakes behind one Router, in-process (`providers.fake.fleet`):

```python
fleet = FakeFleet({"a": FakeProvider("mistral"), "b": FakeProvider("azure_ai", script=["503"])})
async with fleet.router() as router:
    response = await router.aocr("ocr", make_pdf(2))   # from providers.samples
```

From a shell: `ocr-router fake-server --provider mistral --port 0 --script ok,500 --fault 503=0.1`.

Fault entries (script items and rate keys): `ok`, any status `"400"`-`"599"` (in the dialect's
envelope), `"429:<s>"` (Retry-After), `"429ms:<ms>"` (retry-after-ms), `timeout`, `reset`,
`garbage`, `null`, `empty`, `truncated`, `slow:<s>`; see `providers.fake.faults`.
The order of checks (route, credential, fault, body) is described in `providers.fake.provider`.
The real server needs the `fake` extra (aiohttp; pypdf for PDF page counts).
"""

from __future__ import annotations

from providers.fake.dialects import DIALECT_NAMES, NEW_REQUEST_FIELDS, Reply
from providers.fake.faults import DEFAULT_RETRY_AFTER_S, Fault, FaultPlan, parse_fault
from providers.fake.fleet import FakeFleet, HostTransport
from providers.fake.latency import Latency
from providers.fake.provider import (
    DEFAULT_HANG_SECONDS,
    Answer,
    FakeProvider,
    ReceivedRequest,
)
from providers.fake.responses import DEFAULT_ECHO_MODEL, PAGE_DIMENSIONS

__all__ = [
    "DEFAULT_ECHO_MODEL",
    "DEFAULT_HANG_SECONDS",
    "DEFAULT_RETRY_AFTER_S",
    "DIALECT_NAMES",
    "NEW_REQUEST_FIELDS",
    "PAGE_DIMENSIONS",
    "Answer",
    "FakeFleet",
    "FakeProvider",
    "Fault",
    "FaultPlan",
    "HostTransport",
    "Latency",
    "ReceivedRequest",
    "Reply",
    "parse_fault",
]
