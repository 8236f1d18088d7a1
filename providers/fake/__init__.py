"""Fake OCR providers, for testing failover without a network or a real key.

```python
from providers.fake import FakeProvider

fake = FakeProvider("mistral", api_key="fake-key", script=["ok", "503", "429:2"], seed=7)
client = httpx.AsyncClient(transport=fake.mock_transport())   # in-process
async with fake.serve() as base_url: ...                        # real HTTP on 127.0.0.1
```

Each fake speaks one provider's dialect (routes, auth, error envelopes, body checks) and answers
with realistic pages that follow the request. Faults come from a script and from seeded random
rates; see `providers.fake.faults` for the entries. The real server needs the `fake` extra
(aiohttp; pypdf for PDF page counts).
"""

from __future__ import annotations

from providers.fake.dialects import DIALECT_NAMES, NEW_REQUEST_FIELDS, Reply
from providers.fake.faults import DEFAULT_RETRY_AFTER_S, Fault, FaultPlan, parse_fault
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
    "FakeProvider",
    "Fault",
    "FaultPlan",
    "Latency",
    "ReceivedRequest",
    "Reply",
    "parse_fault",
]
