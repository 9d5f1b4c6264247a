"""OpenTelemetry: trace ids on events and events exported as OTel log records (zlog[otel])."""

from __future__ import annotations

import pytest

pytest.importorskip("opentelemetry.sdk", reason="needs the otel extra: pip install 'zlog[otel]'")

from opentelemetry._logs import SeverityNumber
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import (
    BatchLogRecordProcessor,
    InMemoryLogRecordExporter,
    SimpleLogRecordProcessor,
)
from opentelemetry.sdk.trace import TracerProvider

import zlog
from zlog import Event, Router
from zlog.otel import OTelSink, TraceContext


def exporting() -> tuple[Router, InMemoryLogRecordExporter]:
    exporter = InMemoryLogRecordExporter()
    provider = LoggerProvider()
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    router = Router()
    router.add_processor(TraceContext())
    router.route_all(OTelSink(provider))
    return router, exporter


def test_trace_context_adds_the_current_span_ids_as_lowercase_hex() -> None:
    tracer = TracerProvider().get_tracer("test")
    router = Router()
    router.add_processor(TraceContext())
    got: list[Event] = []
    router.route_all(got.append)
    router.emit("OUTSIDE", "no span")
    with tracer.start_as_current_span("job") as span:
        router.emit("INSIDE", "in a span")
    context = span.get_span_context()
    assert "trace_id" not in got[0].fields
    assert got[1].fields["trace_id"] == format(context.trace_id, "032x")
    assert got[1].fields["span_id"] == format(context.span_id, "016x")
    assert got[1].fields["trace_id"].islower() and len(got[1].fields["span_id"]) == 16


def test_events_become_log_records_with_severity_body_and_attributes() -> None:
    router, exporter = exporting()
    router.emit(
        zlog.Signal("JOB_FAILED", level="error"),
        "job failed",
        job_id="j1",
        attempt=2,
        error=ValueError("bad input"),
        payload={"a": [1, 2]},
        tags=["x", "y"],
        note=None,
    )
    router.emit("CUSTOM", "no level")
    first, second = (r.log_record for r in exporter.get_finished_logs())
    assert (first.severity_number, first.severity_text, first.body) == (SeverityNumber.ERROR, "ERROR", "job failed")
    attributes = dict(first.attributes or {})
    assert attributes["signal"] == "JOB_FAILED" and attributes["job_id"] == "j1" and attributes["attempt"] == 2
    assert attributes["exception.type"] == "ValueError" and attributes["exception.message"] == "bad input"
    tags = attributes["tags"]
    assert attributes["payload"] == '{"a":[1,2]}' and isinstance(tags, (list, tuple)) and tuple(tags) == ("x", "y")
    assert attributes["note"] == "null"
    assert first.event_name == "JOB_FAILED" and first.timestamp is not None
    assert second.severity_number == SeverityNumber.UNSPECIFIED and second.severity_text is None


def test_records_carry_the_trace_context_of_the_span_they_were_emitted_in() -> None:
    router, exporter = exporting()
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("job") as span:
        router.emit("JOB_STARTED", "started", job_id="j1")
    [record] = (r.log_record for r in exporter.get_finished_logs())
    assert record.trace_id == span.get_span_context().trace_id
    assert record.span_id == span.get_span_context().span_id


def test_flush_forces_the_provider_to_export() -> None:
    exporter = InMemoryLogRecordExporter()
    provider = LoggerProvider()
    provider.add_log_record_processor(BatchLogRecordProcessor(exporter, schedule_delay_millis=60_000))
    sink = OTelSink(provider)
    sink.handle(Event("JOB_DONE", "done"))
    assert exporter.get_finished_logs() == ()  # waiting in the batch
    assert sink.flush(timeout=5) is True
    assert [r.log_record.body for r in exporter.get_finished_logs()] == ["done"]
    provider.shutdown()
