"""Helpers for the Router tests: fake fleets in-process, a fake clock.

`fleet({"a": FakeProvider("mistral"), ...}, group="ocr", a={"weight": 2})` gives model_list
entries (one per fake, with id = its name) plus one transport that sends each request to the
fake named by its host (`https://a.fake`): `providers.fake.FakeFleet`, as the tests use it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from providers.fake import FakeFleet, FakeProvider, HostTransport
from providers.fake.fleet import FLEET_KEY, MODELS, fleet_entry

KEY = FLEET_KEY
entry = fleet_entry

__all__ = ["KEY", "MODELS", "FakeClock", "HostTransport", "entry", "fleet"]


def fleet(
    fakes: Mapping[str, FakeProvider], *, group: str = "ocr", **per_fake: dict[str, Any]
) -> tuple[list[dict[str, Any]], HostTransport]:
    fakes_fleet = FakeFleet(fakes)
    return fakes_fleet.model_list(group=group, **per_fake), fakes_fleet.transport


class FakeClock:
    """A clock that moves only when told to (for cooldowns measured in seconds)."""

    def __init__(self, start: float = 1_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
