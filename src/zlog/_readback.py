"""Reading a line back: ``(time, level, signal, message, fields)`` of a line written by zlog natively or
with any ``JSONSink`` profile, whatever else the line holds (for ``zlog tail`` and ``zlog stats``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from zlog._encode import FIELD_PREFIX, RESERVED
from zlog._profiles import FROM_UPPER, GCP_NAMES

__all__ = ["detect", "normalize"]


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_DOUBLE_TEXT = frozenset({"NaN", "Infinity", "-Infinity", "nan", "inf", "-inf"})
#: AnyValues nested deeper than this are kept as they are in the line (no deep recursion on hostile input).
_MAX_ANY_DEPTH = 64
_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1
#: zlog's level for each band of four OTel severity numbers (1-4 TRACE, 5-8 DEBUG, ..., 21-24 FATAL).
_OTEL_BANDS = ("debug", "debug", "info", "warn", "error", "fatal")
#: The keys each profile's writer puts on a line: read back into the event, or kept as fields when they are
#: not what the writer made them (a lone ``stack_trace``, an ``evt.name`` that is not the signal).
_OTEL_KEYS = frozenset(
    {
        "timeUnixNano",
        "observedTimeUnixNano",
        "severityNumber",
        "severityText",
        "body",
        "eventName",
        "attributes",
        "traceId",
        "spanId",
    }
)
_ECS_KEYS = frozenset(
    {"@timestamp", "log.level", "message", "ecs.version", "signal", "event.action", "trace.id", "span.id"}
)
_GCP_KEYS = frozenset(
    {
        "time",
        "severity",
        "message",
        "signal",
        "stack_trace",
        "logging.googleapis.com/trace",
        "logging.googleapis.com/spanId",
    }
)
_DD_KEYS = frozenset({"timestamp", "status", "message", "signal", "evt.name", "dd.trace_id", "dd.span_id"})


def detect(obj: Mapping[str, Any]) -> str | None:
    """Which profile wrote ``obj`` (None for zlog's native line); a user field never decides it.

    Only an OTel record has no top-level ``signal``. ECS and Datadog lines repeat the signal
    (``event.action``, ``evt.name``). A native and a GCP line both
    start with ``time``, and only GCP's second key is ``severity``; in a line whose keys were
    reordered (by a shipper, or ``jq -S``) a GCP severity name without a ``level`` key says GCP.
    """
    if "signal" not in obj:
        return "otel" if "timeUnixNano" in obj or "body" in obj or "eventName" in obj else None
    if "severity" not in obj and "@timestamp" not in obj and "timestamp" not in obj:
        return None  # none of the keys a profile is told by: the common native line, decided at once
    keys = iter(obj)
    if next(keys) == "time":  # in the order zlog writes: native, or gcp when severity comes next
        return "gcp" if next(keys, None) == "severity" else None
    signal = obj["signal"]
    named = isinstance(signal, str)  # compared only as a string: no deep comparison of nested values
    if "@timestamp" in obj and "log.level" in obj and named and obj.get("event.action") == signal:
        return "ecs"
    if "timestamp" in obj and "status" in obj and named and obj.get("evt.name") == signal:
        return "datadog"
    severity = obj.get("severity")
    if "time" in obj and "level" not in obj and isinstance(severity, str) and severity in GCP_NAMES:
        return "gcp"
    return None


def _level_name(value: Any) -> Any:
    """zlog's level for a profile's level name in any case (``DEFAULT`` is none); other values as they are."""
    if isinstance(value, str):
        return FROM_UPPER.get(value.upper(), None if value == "DEFAULT" else value)
    return value


def _from_any(value: Any, depth: int = 0) -> Any:
    """The plain value of an OTLP/JSON AnyValue (``{}`` is None). A value that is not a well-formed
    AnyValue (a bare string, an unknown or mistyped kind, an int beyond 64 bits, a malformed array or
    kvlist) is kept as it is. Per attribute of every line: the common kinds are tested first."""
    if not isinstance(value, dict):
        return value
    if len(value) != 1 or depth >= _MAX_ANY_DEPTH:
        return value if value else None
    ((kind, inner),) = value.items()
    if kind == "stringValue":
        return inner if inner.__class__ is str else value
    if kind == "intValue":  # a JSON integer or its decimal text (as the OTLP/JSON encoding writes it)
        if inner.__class__ is str:
            try:
                number = int(inner)
            except ValueError:
                return value
        elif inner.__class__ is int:
            number = inner
        else:
            return value
        return number if _INT64_MIN <= number <= _INT64_MAX else value
    if kind == "doubleValue":
        cls = inner.__class__
        return inner if cls is float or cls is int or (cls is str and inner in _DOUBLE_TEXT) else value
    if kind == "boolValue":
        return inner if inner.__class__ is bool else value
    if kind == "bytesValue":
        return inner if inner.__class__ is str else value
    if kind != "arrayValue" and kind != "kvlistValue":
        return value
    items = inner.get("values", []) if isinstance(inner, dict) and len(inner) <= 1 else None
    if not isinstance(items, list):
        return value
    if kind == "arrayValue":
        return [_from_any(item, depth + 1) for item in items]
    out: dict[str, Any] = {}
    for item in items:
        key = item.get("key") if isinstance(item, dict) else None
        if not isinstance(key, str) or key in out or not (len(item) == 1 or (len(item) == 2 and "value" in item)):
            return value
        out[key] = _from_any(item.get("value"), depth + 1)
    return out


def _ns_to_rfc3339(value: Any) -> str | None:
    """RFC 3339 UTC, six fractional digits, of a count of nanoseconds since the epoch (a JSON integer or
    its decimal text); None when ``value`` is not one or falls outside the years 1 to 9999."""
    if isinstance(value, str):
        digits = value[1:] if value[:1] == "-" else value
        if not (0 < len(digits) <= 30 and digits.isascii() and digits.isdigit()):
            return None
        ns = int(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        ns = value
    elif isinstance(value, float) and value.is_integer():
        ns = int(value)
    else:
        return None
    try:
        when = _EPOCH + timedelta(microseconds=ns // 1000)
    except OverflowError:
        return None
    return when.isoformat(timespec="microseconds")[:-6] + "Z"


def _keep(fields: dict[str, Any], key: str, value: Any) -> None:
    """Add a field; a name already taken goes to ``fields.<name>`` (as the writers do), so nothing is lost."""
    while key in fields:
        key = FIELD_PREFIX + key
    fields[key] = value


def normalize(obj: dict[str, Any]) -> tuple[Any, Any, Any, Any, dict[str, Any]]:
    """``(time, level, signal, message, fields)`` of a line written natively or by any profile.

    Never raises. The values are as read (``zlog.cli._read`` turns them into text): a time, level or
    message a profile wrote is mapped back to zlog's; one that cannot be is given as it is.
    """
    profile = detect(obj)
    if profile is None:
        fields = {k: v for k, v in obj.items() if k not in RESERVED}
        return obj.get("time"), obj.get("level"), obj.get("signal"), obj.get("message"), fields
    if profile == "otel":
        return _from_otel(obj)
    signal = obj.get("signal")
    if profile == "ecs":
        fields = {k: v for k, v in obj.items() if k not in _ECS_KEYS}
        _rename(fields, obj, "trace.id", "trace_id")
        _rename(fields, obj, "span.id", "span_id")
        _keep_differing(fields, obj, "event.action", signal)
        return obj.get("@timestamp"), _level_name(obj.get("log.level")), signal, obj.get("message"), fields
    if profile == "gcp":
        fields = {k: v for k, v in obj.items() if k not in _GCP_KEYS}
        error = obj.get("error")
        if "stack_trace" in obj and not (isinstance(error, dict) and "stack_trace" in error):
            _keep(fields, "stack_trace", obj["stack_trace"])  # not a copy of the error's: keep it
        trace = obj.get("logging.googleapis.com/trace")
        if isinstance(trace, str):
            _keep(fields, "trace_id", trace.rpartition("/")[2])
            _keep(fields, "span_id", obj.get("logging.googleapis.com/spanId"))
        else:
            for key in ("logging.googleapis.com/trace", "logging.googleapis.com/spanId"):
                if key in obj:
                    _keep(fields, key, obj[key])
        return obj.get("time"), _level_name(obj.get("severity")), signal, obj.get("message"), fields
    fields = {k: v for k, v in obj.items() if k not in _DD_KEYS}
    if "trace_id" not in obj:  # the decimal ids are only a copy when the hex ids are there
        for key in ("dd.trace_id", "dd.span_id"):
            if key in obj:
                _keep(fields, key, obj[key])
    dd_error: Any = fields.get("error")
    if isinstance(dd_error, dict) and "kind" in dd_error:
        rest = {k: v for k, v in dd_error.items() if k not in ("kind", "message", "stack")}
        fields["error"] = {
            "type": dd_error.get("kind"),
            "message": dd_error.get("message"),
            "stack_trace": dd_error.get("stack"),
            **rest,
        }
    _keep_differing(fields, obj, "evt.name", signal)
    return obj.get("timestamp"), _level_name(obj.get("status")), signal, obj.get("message"), fields


def _rename(fields: dict[str, Any], obj: Mapping[str, Any], key: str, name: str) -> None:
    """Keep the profile's ``key`` as the field ``name`` (``trace.id`` is ``trace_id``)."""
    if key in obj:
        _keep(fields, name, obj[key])


def _keep_differing(fields: dict[str, Any], obj: Mapping[str, Any], key: str, signal: Any) -> None:
    """Keep ``key``, which the writer makes a copy of the signal, as a field when it holds something else."""
    if key in obj and not (isinstance(signal, str) and obj[key] == signal):
        _keep(fields, key, obj[key])


def _from_otel(obj: dict[str, Any]) -> tuple[Any, Any, Any, Any, dict[str, Any]]:
    """``normalize`` for an OTLP/JSON LogRecord; what does not fit its shape is kept as fields."""
    fields: dict[str, Any] = {}
    malformed: list[Any] = []
    items = obj.get("attributes")
    if isinstance(items, list):
        for item in items:
            key = item.get("key") if isinstance(item, dict) else None
            if isinstance(key, str) and key not in fields and ((len(item) == 2 and "value" in item) or len(item) == 1):
                fields[key] = _from_any(item.get("value"))
            else:
                malformed.append(item)
    elif items is not None:
        malformed.append(items)
    name, event_name = fields.get("signal"), obj.get("eventName")
    if isinstance(name, str) and name:
        del fields["signal"]
        signal: Any = name
    else:
        signal = event_name
    if "eventName" in obj and not (isinstance(signal, str) and event_name == signal):
        _keep(fields, "eventName", event_name)
    if "exception.type" in fields or "exception.message" in fields:
        error = {k: fields.pop(f"exception.{k}") for k in ("type", "message") if f"exception.{k}" in fields}
        error["stack_trace"] = fields.pop("exception.stacktrace", "")
        _keep(fields, "error", error)
    if "traceId" in obj:
        _keep(fields, "trace_id", obj["traceId"])
    if "spanId" in obj:
        _keep(fields, "span_id", obj["spanId"])
    if not _OTEL_KEYS.issuperset(obj):  # keys of another OTel writer: kept as fields, in their order
        for key, value in obj.items():
            if key not in _OTEL_KEYS:
                _keep(fields, key, value)
    if malformed:
        _keep(fields, "attributes", malformed if isinstance(items, list) else items)
    raw_time = obj.get("timeUnixNano")
    if raw_time is None or raw_time == 0 or raw_time == "0":  # 0 is "unknown" in OTLP: the observed time
        raw_time = obj.get("observedTimeUnixNano")
    when = _ns_to_rfc3339(raw_time)
    text = obj.get("severityText")
    if isinstance(text, str) and text:
        level = _level_name(text)
    else:
        number = obj.get("severityNumber")
        if isinstance(number, int) and not isinstance(number, bool) and 1 <= number <= 24:
            level = _OTEL_BANDS[(number - 1) // 4]
        else:
            level = text
    return raw_time if when is None else when, level, signal, _from_any(obj.get("body")), fields
