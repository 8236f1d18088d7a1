"""`ocr-router serve --otlp`: the proxy's traces and metrics to an OpenTelemetry collector.

A library user sets OpenTelemetry's providers in their own start-up code (README
"Observability"); a proxy has none, so the flag sets them in each worker process: the SDK's
tracer provider with a batching OTLP span exporter, and its meter provider with a periodic OTLP
metric reader, both OTLP over HTTP (protobuf). The standard environment variables configure
them: `OTEL_EXPORTER_OTLP_ENDPOINT` (default http://localhost:4318), `OTEL_EXPORTER_OTLP_HEADERS`,
`OTEL_SERVICE_NAME` (default "ocr-router"), `OTEL_RESOURCE_ATTRIBUTES`,
`OTEL_BSP_SCHEDULE_DELAY`, `OTEL_METRIC_EXPORT_INTERVAL`. The SDK flushes both when the worker
exits.
"""

from __future__ import annotations

import os

from router.errors import ConfigError

# Set by `ocr-router serve --otlp` for its workers (each sets its own providers at start).
OTLP_ENV = "OCR_ROUTER_OTLP"
DEFAULT_SERVICE_NAME = "ocr-router"


def missing_otlp_packages() -> str | None:
    """The message to show when the SDK or the exporter is not installed, else None."""
    try:
        import opentelemetry.exporter.otlp.proto.http
        import opentelemetry.sdk  # noqa: F401
    except ImportError as error:
        return (
            f"--otlp needs the OpenTelemetry SDK and its OTLP exporter ({error.name} is missing): "
            "pip install 'ocr-router[otlp]'"
        )
    return None


def export_to_otlp() -> None:
    """Set this process's tracer and meter providers to export over OTLP/HTTP."""
    problem = missing_otlp_packages()
    if problem is not None:
        raise ConfigError(problem)
    from opentelemetry import metrics, trace
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    name = os.environ.get("OTEL_SERVICE_NAME") or DEFAULT_SERVICE_NAME
    resource = Resource.create({"service.name": name})
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(tracer_provider)
    reader = PeriodicExportingMetricReader(OTLPMetricExporter())
    metrics.set_meter_provider(MeterProvider(resource=resource, metric_readers=[reader]))


__all__ = ["DEFAULT_SERVICE_NAME", "OTLP_ENV", "export_to_otlp", "missing_otlp_packages"]
