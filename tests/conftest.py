"""Fixtures shared by every test directory.

- `fake_server`: start a `FakeProvider` on a real socket: `url = await fake_server(fake)`; every
  server started this way is stopped when the test ends.
- `pdf_bytes` (a real 3-page PDF) and `png_bytes` (a real 8x8 PNG), made in code.
- `spec`: Mistral's OpenAPI document as a dict: the project's copy beside the repository
  (`../shared/spec/mistral-ocr-openapi.yaml`) when it is there, else the copy vendored in
  `tests/spec/` (so a clone alone, CI's, still checks conformance; a test keeps them equal).
- `validate_spec(instance, "OCRResponse")`: raise `jsonschema.ValidationError` unless `instance`
  conforms to that schema of the spec (needs `spec`, so it skips the same way).
- `spans`: an OpenTelemetry SDK tracer provider set globally for the test, exporting to the
  SDK's in-memory exporter it yields (`spans.get_finished_spans()`); unset after.
- `metric_reader`: the same for a meter provider and its in-memory metric reader.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from providers.fake import FakeProvider
from providers.samples import make_pdf, make_png

SHARED_SPEC_PATH = Path(__file__).parents[2] / "shared/spec/mistral-ocr-openapi.yaml"
VENDORED_SPEC_PATH = Path(__file__).parent / "spec/mistral-ocr-openapi.yaml"
SPEC_PATH = SHARED_SPEC_PATH if SHARED_SPEC_PATH.is_file() else VENDORED_SPEC_PATH

FakeServerFactory = Callable[[FakeProvider], Awaitable[str]]
SpecValidator = Callable[[Any, str], None]


@pytest.fixture
async def fake_server() -> AsyncIterator[FakeServerFactory]:
    """`url = await fake_server(FakeProvider("mistral"))` -> "http://127.0.0.1:PORT"."""
    async with contextlib.AsyncExitStack() as servers:

        async def start(fake: FakeProvider) -> str:
            return await servers.enter_async_context(fake.serve())

        yield start


@pytest.fixture
def spans(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The spans ended during the test, from a tracer provider set for this test only."""
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.util._once import Once

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    # The API lets a process set its provider once; these are the globals its own test
    # utilities reset, restored by monkeypatch after the test.
    monkeypatch.setattr(trace, "_TRACER_PROVIDER_SET_ONCE", Once())
    monkeypatch.setattr(trace, "_TRACER_PROVIDER", None)
    trace.set_tracer_provider(provider)
    yield exporter
    provider.shutdown()


@pytest.fixture
def metric_reader(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """An OpenTelemetry SDK meter provider set globally for the test; yields its in-memory
    reader (`otel_helpers.metric_points(reader)` reads it); unset after."""
    from opentelemetry.metrics import _internal as metrics_api
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.util._once import Once

    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    monkeypatch.setattr(metrics_api, "_METER_PROVIDER_SET_ONCE", Once())
    monkeypatch.setattr(metrics_api, "_METER_PROVIDER", None)
    metrics_api.set_meter_provider(provider)
    yield reader
    provider.shutdown()


@pytest.fixture(scope="session")
def pdf_bytes() -> bytes:
    """A valid 3-page PDF."""
    return make_pdf(3)


@pytest.fixture(scope="session")
def png_bytes() -> bytes:
    """A valid 8x8 RGB PNG."""
    return make_png()


@pytest.fixture(scope="session")
def spec() -> dict[str, Any]:
    """Mistral's OCR OpenAPI document (the shared copy, else the vendored one)."""
    import yaml

    loaded: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(scope="session")
def validate_spec(spec: dict[str, Any]) -> SpecValidator:
    """`validate_spec(instance, "OCRResponse")`: raises `jsonschema.ValidationError` if wrong."""
    import jsonschema

    validators: dict[str, jsonschema.Draft202012Validator] = {}

    def validate(instance: Any, schema_name: str) -> None:
        if schema_name not in spec["components"]["schemas"]:
            raise KeyError(f"the spec has no schema named {schema_name!r}")
        if schema_name not in validators:
            # OpenAPI 3.1 schemas are JSON Schema 2020-12; "components" at the root resolves refs.
            schema = {
                "$ref": f"#/components/schemas/{schema_name}",
                "components": spec["components"],
            }
            validators[schema_name] = jsonschema.Draft202012Validator(schema)
        validators[schema_name].validate(instance)

    return validate
