"""Log records as JSON lines, each with the request id (and trace ids) of the request it is about.

Every logger of ocr-router is under `ocr_router` (`ocr_router.router`, `.config`, `.state`,
`.proxy`, `.api`): configuring that one logger configures them all. A log collector wants one JSON
object per line rather than text to parse: `JsonFormatter` writes the record's time, level,
logger and message, the request id (from `extra=` or the request in progress), the trace and span
ids when a span is current, the router's own fields (deployment, group, provider, attempt, event,
error_type, ...) and a traceback if any. `ocr-router serve --log-format json` uses it for every
log line of the proxy, uvicorn's included; anywhere else:

    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    logging.getLogger("ocr_router").addHandler(handler)

Only the fields named in `FIELDS` are copied from a record: an arbitrary `extra=` of another
library never lands in the output unseen.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, Literal

from router.telemetry.scope import current_request_id

LogFormat = Literal["text", "json"]
LOG_FORMATS: tuple[LogFormat, ...] = ("text", "json")

TEXT_FORMAT = "%(levelname)s %(name)s: %(message)s"

# What the router's log lines carry besides their message (router/events.py sets them).
FIELDS = (
    "request_id",
    "event",
    "deployment_id",
    "group",
    "provider",
    "attempt",
    "error_type",
    "latency_s",
    "pages",
    "cost_usd",
    "cooldown_until",
    "reason",
)


class RequestIdFilter(logging.Filter):
    """Put the id of the request in progress on each record (`%(request_id)s`, "-" if none)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = current_request_id() or "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record (see the module docstring for its fields)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in FIELDS:
            value = getattr(record, name, None)
            if value is not None and value != "-":
                line[name] = value
        if "request_id" not in line:
            request_id = current_request_id()
            if request_id is not None:
                line["request_id"] = request_id
        line.update(_trace_ids())
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, default=str, ensure_ascii=False)


def _trace_ids() -> dict[str, str]:
    """The current span's trace and span ids (hex, as collectors show them), if one is valid."""
    trace = sys.modules.get("opentelemetry.trace")
    if trace is None:
        return {}
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return {}
    return {"trace_id": f"{context.trace_id:032x}", "span_id": f"{context.span_id:016x}"}


def logging_config(level: str, log_format: LogFormat = "text") -> dict[str, Any]:
    """A `logging.config.dictConfig` for the proxy: ocr-router's loggers and uvicorn's, text (as
    uvicorn writes its own) or JSON lines, at `level`. uvicorn applies it in every worker."""
    level = level.upper()
    ours: dict[str, Any] = (
        {"()": f"{__name__}.JsonFormatter"} if log_format == "json" else {"format": TEXT_FORMAT}
    )
    formatters: dict[str, Any] = {"ocr_router": ours}
    if log_format == "json":
        uvicorn_handler, access_handler = "stderr", "stdout"
    else:
        formatters["uvicorn"] = {
            "()": "uvicorn.logging.DefaultFormatter",
            "fmt": "%(levelprefix)s %(message)s",
        }
        formatters["uvicorn_access"] = {
            "()": "uvicorn.logging.AccessFormatter",
            "fmt": '%(levelprefix)s %(client_addr)s - "%(request_line)s" %(status_code)s',
        }
        uvicorn_handler, access_handler = "uvicorn", "uvicorn_access"
    handlers: dict[str, Any] = {
        "stderr": _handler("ocr_router", "ext://sys.stderr"),
        "stdout": _handler("ocr_router", "ext://sys.stdout"),
    }
    if log_format == "text":
        handlers["uvicorn"] = _handler("uvicorn", "ext://sys.stderr")
        handlers["uvicorn_access"] = _handler("uvicorn_access", "ext://sys.stdout")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": formatters,
        "filters": {"request_id": {"()": f"{__name__}.RequestIdFilter"}},
        "handlers": handlers,
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            "uvicorn": {"handlers": [uvicorn_handler], "level": "INFO", "propagate": False},
            "uvicorn.error": {"level": level},
            "uvicorn.access": {"handlers": [access_handler], "level": "INFO", "propagate": False},
        },
    }


def _handler(formatter: str, stream: str) -> dict[str, Any]:
    return {
        "class": "logging.StreamHandler",
        "stream": stream,
        "formatter": formatter,
        "filters": ["request_id"],
    }


__all__ = [
    "FIELDS",
    "LOG_FORMATS",
    "JsonFormatter",
    "LogFormat",
    "RequestIdFilter",
    "logging_config",
]
