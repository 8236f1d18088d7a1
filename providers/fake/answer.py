"""What a fake decides for one request (`Answer`), and what carrying it out needs of a fake
(`Answering`): the transport and the server take an `Answering`, so they depend on this module
alone, never on `providers.fake.provider` (which imports them to serve)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from providers.fake.dialects import Reply


@dataclass(frozen=True)
class Answer:
    """What the fake does to one request: a `reply`, or a connection fault (`timeout`, `reset`,
    `truncated`) that the transport performs, after waiting `delay_s`."""

    reply: Reply | None
    connection_fault: str | None = None
    delay_s: float = 0.0


class Answering(Protocol):
    """A fake as its transport and server see it (`FakeProvider` is one)."""

    provider: str
    hang_seconds: float

    def decide(
        self,
        method: str,
        path: str,
        query: Mapping[str, str],
        headers: Mapping[str, str],
        body: bytes,
    ) -> Answer: ...

    async def handle(
        self,
        method: str,
        path: str,
        query: Mapping[str, str],
        headers: Mapping[str, str],
        body: bytes,
    ) -> Answer: ...


__all__ = ["Answer", "Answering"]
