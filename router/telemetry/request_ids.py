"""Request ids: the one name that ties a request's events, log lines, spans and error together.

A failure, the retry that followed and the success on another deployment are three events of one
request; without a shared id nobody reading logs or hooks can tell them from other requests'.
Every Router request gets one: the caller's (`Router.aocr(request_id=...)`, checked), or a new
random 32-hex-digit id. The proxy takes a client's `x-request-id` header, bounded and stripped of
anything outside `[A-Za-z0-9._:-]` (it lands in log lines and headers: no control characters,
no log forging), or makes one, and returns it.

New ids come from `random.getrandbits` (as OpenTelemetry's own trace ids do): an id needs to be
unique, not secret, and that costs a fraction of `os.urandom`'s system call on the hot path.
"""

from __future__ import annotations

import random
import re

from router.errors import InvalidRequestError

MAX_LENGTH = 128
HEADER = "x-request-id"

_VALID = re.compile(rf"[A-Za-z0-9._:\-]{{1,{MAX_LENGTH}}}")
_UNSAFE = re.compile(r"[^A-Za-z0-9._:\-]+")


def new_request_id() -> str:
    """A fresh id: 32 hex digits (128 random bits)."""
    return f"{random.getrandbits(128):032x}"


def checked_request_id(value: object) -> str:
    """A caller's id, as given; `InvalidRequestError` if it is not 1 to 128 characters of
    `[A-Za-z0-9._:-]`."""
    if isinstance(value, str) and _VALID.fullmatch(value):
        return value
    raise InvalidRequestError(
        f"request_id must be 1 to {MAX_LENGTH} characters of letters, digits and . _ : -",
        field="request_id",
    )


def request_id_from_header(value: str | None) -> str:
    """The id for a request whose client sent `value` (None: no header): its safe characters,
    at most 128 of them, or a fresh id when none is left."""
    if value:
        cleaned = _UNSAFE.sub("", value[: 4 * MAX_LENGTH])[:MAX_LENGTH]
        if cleaned:
            return cleaned
    return new_request_id()


__all__ = [
    "HEADER",
    "MAX_LENGTH",
    "checked_request_id",
    "new_request_id",
    "request_id_from_header",
]
