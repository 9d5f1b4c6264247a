"""OpenTelemetry: trace ids on events, and events exported as OpenTelemetry log records.

Needs the optional extra: ``pip install 'zlog[otel]'`` (``opentelemetry-sdk``).
"""

from __future__ import annotations

from typing import Any

import orjson

from zlog import _encode
from zlog.event import Event
from zlog.sinks.base import SinkBase

try:
    from opentelemetry import trace
    from opentelemetry._logs import LoggerProvider, LogRecord, SeverityNumber, get_logger_provider
    from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags
except ImportError as exc:  # pragma: no cover - exercised without the extra only
    raise ImportError("zlog.otel needs OpenTelemetry: pip install 'zlog[otel]'") from exc

__all__ = ["OTelSink", "TraceContext"]

_SEVERITY = {
    "debug": SeverityNumber.DEBUG,
    "info": SeverityNumber.INFO,
    "warn": SeverityNumber.WARN,
    "error": SeverityNumber.ERROR,
    "fatal": SeverityNumber.FATAL,
}


class TraceContext:
    """A processor adding ``trace_id`` and ``span_id`` (lowercase hex) of the current span to each event.

    Events emitted outside a span, or inside a span that is not valid, are left unchanged. A field the
    event already has under those names wins.
    """

    def __call__(self, event: Event) -> Event:
        context = trace.get_current_span().get_span_context()
        if not context.is_valid:
            return event
        fields = event[3]
        if "trace_id" in fields and "span_id" in fields:
            return event
        ids = {"trace_id": format(context.trace_id, "032x"), "span_id": format(context.span_id, "016x")}
        return event.replace(fields={**ids, **fields})


def _attribute(value: Any) -> Any:
    """An OpenTelemetry attribute value: primitives as they are, anything else as its zlog JSON text."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return "null" if value is None else value
    if (
        isinstance(value, (list, tuple))
        and value
        and all(type(v) is type(value[0]) for v in value)
        and isinstance(value[0], (str, bool, int, float))
    ):
        return list(value)
    return orjson.dumps(_encode.sanitize(value, 0, frozenset()), option=orjson.OPT_NON_STR_KEYS).decode()


def _message_of(error: BaseException) -> str:
    try:
        return str(error)
    except Exception:
        return _encode.safe_repr(error)


class OTelSink(SinkBase):
    """Exports events as OpenTelemetry log records through a ``LoggerProvider`` (the global one by default).

    The body is the message, the severity comes from the signal's level, the event name and the
    ``signal`` attribute are the signal, and every field is an attribute (values that are not
    OpenTelemetry primitives are written as their zlog JSON text, never dropped). An exception in the
    ``error`` field is the record's exception. ``trace_id``/``span_id`` fields (from ``TraceContext``)
    set the record's trace context, so records stay linked to their span even from a background sink.
    ``close()`` flushes the provider and refuses later events; the provider itself is not shut down.
    """

    def __init__(self, provider: LoggerProvider | None = None, *, scope: str = "zlog", name: str = "otel") -> None:
        super().__init__(name=name)
        self.provider = provider if provider is not None else get_logger_provider()
        self._logger = self.provider.get_logger(scope)

    def handle(self, event: Event) -> None:
        if self._closed:
            self._refuse()
        name, message, ns, fields, level = event
        attributes: dict[str, Any] = {"signal": name}
        error: BaseException | None = None
        for key, value in fields.items():
            if key == "error" and isinstance(value, BaseException):
                error = value
                attributes["exception.type"] = type(value).__name__
                attributes["exception.message"] = _message_of(value)
                continue
            attributes[key] = _attribute(value)
        context = None
        trace_id, span_id = fields.get("trace_id"), fields.get("span_id")
        if isinstance(trace_id, str) and isinstance(span_id, str):
            try:
                span = SpanContext(
                    int(trace_id, 16), int(span_id, 16), is_remote=False, trace_flags=TraceFlags(TraceFlags.SAMPLED)
                )
                context = trace.set_span_in_context(NonRecordingSpan(span))
            except ValueError:
                context = None
        self._logger.emit(
            LogRecord(
                timestamp=ns,
                observed_timestamp=ns,
                context=context,
                severity_number=_SEVERITY.get(level or "", SeverityNumber.UNSPECIFIED),
                severity_text=level.upper() if level else None,
                body=message,
                attributes=attributes,
                event_name=name,
                exception=error,
            )
        )

    def flush(self, timeout: float | None = None) -> bool:
        """Flush the provider's processors (``force_flush``); False if they did not finish in time."""
        force = getattr(self.provider, "force_flush", None)
        if not callable(force):
            return True
        return force() is not False if timeout is None else force(max(1, int(timeout * 1000))) is not False
