"""What a fake provider does to each request: the fault plan.

Failover can only be tested against failures that happen on demand and reproducibly. A plan is a
*script* (one entry per request, consumed in order: "ok", "500", "429:2", "timeout", ...) followed,
once the script is used up, by seeded random *rates* per fault kind (`{"500": 0.1}` fails about one
request in ten, in the same order for the same seed). Entries are validated when the plan is built,
so a typo in a test fails at once with a `ValueError` naming the entry, not as a puzzling outcome.

Fault kinds:

- `ok`: a normal answer.
- `"<status>"` (e.g. `"500"`, `"503"`, `"401"`, `"408"`): that status in the dialect's envelope.
- `"429:<seconds>"`: 429 with `Retry-After: <seconds>`; a plain `"429"` uses 1 s.
- `"429ms:<ms>"`: 429 with `retry-after-ms: <ms>` (the header OpenAI-style clients send).
- `timeout`: no answer until the client gives up (bounded by the fake's `hang_seconds`).
- `reset`: the TCP connection is reset before any byte of the answer.
- `garbage`, `null`, `empty`: a 200 whose body is not JSON, is `null`, or is empty.
- `truncated`: a 200 whose Content-Length promises more bytes than are sent.
- `slow:<seconds>`: a normal answer after that many extra seconds.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

DEFAULT_RETRY_AFTER_S = 1.0  # what a bare "429" advertises: the shortest wait real services ask for

# Kinds that need no argument; status codes and "kind:arg" forms are parsed separately.
_PLAIN_KINDS = frozenset({"ok", "timeout", "reset", "garbage", "null", "empty", "truncated"})


@dataclass(frozen=True)
class Fault:
    """One decided outcome. `kind` is the entry's family ("ok", "status", "timeout", ...)."""

    label: str  # the entry as written ("429:2"), used for counting outcomes
    kind: str
    status: int = 200
    retry_after_s: float | None = None
    retry_after_ms: int | None = None
    delay_s: float = 0.0  # extra wait of a "slow:<s>" answer

    @property
    def counter_key(self) -> str:
        """The key under which this outcome is counted: "429:2" and "429" both count as "429"."""
        if self.kind == "status":
            return str(self.status)
        return self.kind


OK = Fault(label="ok", kind="ok")


def parse_fault(entry: str) -> Fault:
    """Parse one script entry or rate key, raising `ValueError` that names a bad one."""
    if not isinstance(entry, str):
        raise ValueError(f"fault entry {entry!r} must be a string such as 'ok', '500' or '429:2'")
    text = entry.strip().lower()
    if text in _PLAIN_KINDS:
        return Fault(label=text, kind=text)
    name, separator, argument = text.partition(":")
    try:
        if name == "429ms" and separator:
            milliseconds = int(argument)
            if milliseconds < 0:
                raise ValueError
            return Fault(label=text, kind="status", status=429, retry_after_ms=milliseconds)
        if name == "slow" and separator:
            seconds = float(argument)
            if not 0 <= seconds < math.inf:  # also refuses NaN; infinity would hang the fake
                raise ValueError
            return Fault(label=text, kind="slow", delay_s=seconds)
        if name.isdigit() and 400 <= int(name) <= 599:
            status = int(name)
            if separator and status != 429:
                raise ValueError
            retry_after = float(argument) if separator else None
            if retry_after is not None and not 0 <= retry_after < math.inf:
                raise ValueError
            if status == 429 and retry_after is None:
                retry_after = DEFAULT_RETRY_AFTER_S
            return Fault(label=text, kind="status", status=status, retry_after_s=retry_after)
    except ValueError:
        pass
    raise ValueError(
        f"unknown fault entry {entry!r}: expected ok, a status 400-599, 429:<seconds>, "
        "429ms:<ms>, timeout, reset, garbage, null, empty, truncated or slow:<seconds>"
    )


class FaultPlan:
    """Decides the fault of each request: the script first, then the seeded random rates."""

    def __init__(
        self,
        script: Iterable[str] = (),
        rates: Mapping[str, float] | None = None,
        seed: int | None = None,
    ) -> None:
        if isinstance(script, str):  # "ok,500,429:2", as the command line takes it
            script = [entry for entry in script.split(",") if entry.strip()]
        self._script = [parse_fault(entry) for entry in script]
        self._rates: list[tuple[Fault, float]] = []
        for entry, rate in (rates or {}).items():
            fault = parse_fault(entry)
            if not isinstance(rate, (int, float)) or not 0.0 <= rate <= 1.0:
                raise ValueError(f"the rate of fault {entry!r} must be between 0 and 1")
            self._rates.append((fault, float(rate)))
        if sum(rate for _, rate in self._rates) > 1.0 + 1e-9:
            raise ValueError("the fault rates add up to more than 1")
        self._seed = seed
        self.reset()

    def reset(self) -> None:
        """Start the script over and reseed the random draws."""
        self._position = 0
        self._random = random.Random(self._seed)

    @property
    def script_remaining(self) -> int:
        return len(self._script) - self._position

    def next_fault(self) -> Fault:
        if self._position < len(self._script):
            fault = self._script[self._position]
            self._position += 1
            return fault
        if not self._rates:
            return OK  # no draw at all, so a plan without rates never consumes randomness
        draw = self._random.random()
        for fault, rate in self._rates:
            if draw < rate:
                return fault
            draw -= rate
        return OK


__all__ = ["DEFAULT_RETRY_AFTER_S", "OK", "Fault", "FaultPlan", "parse_fault"]
