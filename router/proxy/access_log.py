"""uvicorn's access log without secrets: no query string, no configured key.

uvicorn logs each request's path *with* its query string; a client that pastes its key into a URL
(`?key=sk-...`) would leave it in the log for anyone who reads logs. The proxy's routes take no
query parameters, so a query string is replaced by a marker, and every secret the app knows (its
master keys) is scrubbed from the rest of the line. One filter per process, fed by every app.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any

from router.errors import scrub

_QUERY = re.compile(r"\?[^\s\"]*")


class AccessLogScrubber(logging.Filter):
    """Removes query strings and configured secrets from uvicorn's access log lines."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(self._clean(arg) for arg in record.args)
        record.msg = self._clean(record.msg)
        return True

    def _clean(self, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        return scrub(_QUERY.sub("?[query omitted]", value), self.secrets)


_SCRUBBER = AccessLogScrubber()


def scrub_access_log(secrets: Iterable[str]) -> None:
    """Make uvicorn's access log drop query strings and `secrets` (installed once per process)."""
    _SCRUBBER.secrets.update(secrets)
    access = logging.getLogger("uvicorn.access")
    if _SCRUBBER not in access.filters:
        access.addFilter(_SCRUBBER)


__all__ = ["AccessLogScrubber", "scrub_access_log"]
