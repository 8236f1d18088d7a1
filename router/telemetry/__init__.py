"""What ocr-router shows the outside world about each request: ids, log lines, spans, metrics.

- `request_ids`: every request's id (the caller's, a client's `x-request-id`, or a new one).
- `scope`: the request in progress (its id and span) in a context variable while it is served.
- `tracing`: OpenTelemetry spans (the optional extra `otel`); `shard_span` and `child_span` for
  callers that split a request into pieces.
- `metrics`: the metrics, defined once for Prometheus (the proxy) and OpenTelemetry.
- `logs`: JSON log lines with the request id; the proxy's logging configuration.
- `export`: `ocr-router serve --otlp`, the SDK's providers exporting over OTLP/HTTP.

Nothing here imports OpenTelemetry: it is used only once the program has imported it and set a
provider (see `tracing`).
"""

from router.telemetry.request_ids import new_request_id
from router.telemetry.scope import current_request_id
from router.telemetry.tracing import child_span, shard_span

__all__ = ["child_span", "current_request_id", "new_request_id", "shard_span"]
