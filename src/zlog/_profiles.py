"""Shipper profiles for ``JSONSink(profile=...)``: the same event in the keys ECS, Google Cloud
Logging, Datadog or OpenTelemetry (OTLP/JSON) expect (the way back is ``zlog._readback``).

Every profile keeps the signal. A user field whose name the profile reserves is written as
``fields.<name>`` (like the native format's reserved keys), so it can never change the level, the
time or the message a backend sees.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from zlog._encode import FIELD_PREFIX, exception_dict, sanitize

__all__ = ["FROM_UPPER", "GCP_NAMES", "KEEP", "PROFILES", "any_value", "builder"]

ECS_VERSION = "8.11.0"
_MASK64 = (1 << 64) - 1
_GCP_SEVERITY = {"debug": "DEBUG", "info": "INFO", "warn": "WARNING", "error": "ERROR", "fatal": "CRITICAL"}
_OTEL_SEVERITY = {"debug": 5, "info": 9, "warn": 13, "error": 17, "fatal": 21}
#: The upper-case level names of other writers, as zlog's levels.
FROM_UPPER = {
    "DEBUG": "debug",
    "INFO": "info",
    "NOTICE": "info",
    "WARN": "warn",
    "WARNING": "warn",
    "ERROR": "error",
    "CRITICAL": "fatal",
    "ALERT": "fatal",
    "EMERGENCY": "fatal",
    "FATAL": "fatal",
}
#: Google Cloud Logging's LogSeverity names.
GCP_NAMES = frozenset({"DEFAULT", "DEBUG", "INFO", "NOTICE", "WARNING", "ERROR", "CRITICAL", "ALERT", "EMERGENCY"})

Builder = Callable[[str, str, int, str, Mapping[str, Any], "str | None"], dict[str, Any]]


def _place(out: dict[str, Any], reserved: frozenset[str], key: Any, value: Any) -> None:
    """Put a user field in ``out``; a reserved or taken name goes to ``fields.<name>``. A key that is not
    a str keeps its type (the encoder writes it as text)."""
    if not isinstance(key, str):
        while key in out:  # a key equal to a taken one (a str subclass, say): kept apart, never overwriting
            key = FIELD_PREFIX + str(key)
        out[key] = value
        return
    if key in reserved or key in out or key.startswith(FIELD_PREFIX):
        key = FIELD_PREFIX + key
        while key in out:
            key = FIELD_PREFIX + key
    out[key] = value


def _split(fields: Mapping[str, Any]) -> tuple[dict[str, str] | None, str | None, str | None, list[tuple[str, Any]]]:
    """(the error as a dict when ``error`` is an exception, trace id, span id, the other fields)."""
    error = fields.get("error")
    error_dict = exception_dict(error) if isinstance(error, BaseException) else None
    trace_id, span_id = fields.get("trace_id"), fields.get("span_id")
    ids = isinstance(trace_id, str) and isinstance(span_id, str)
    rest = [
        (k, v)
        for k, v in fields.items()
        if not (k == "error" and error_dict is not None) and not (ids and k in ("trace_id", "span_id"))
    ]
    return error_dict, trace_id if ids else None, span_id if ids else None, rest


_ECS_RESERVED = frozenset(
    {
        "@timestamp",
        "log.level",
        "message",
        "ecs.version",
        "signal",
        "event.action",
        "error",
        "trace.id",
        "span.id",
        "log",
        "ecs",
        "event",
        "trace",
        "span",
    }
)


def _ecs(name: str, message: str, ns: int, ts: str, fields: Mapping[str, Any], level: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "@timestamp": ts,
        "log.level": level or "info",
        "message": message,
        "ecs.version": ECS_VERSION,
        "signal": name,
        "event.action": name,
    }
    error, trace_id, span_id, rest = _split(fields)
    if error is not None:
        out["error"] = error
    if trace_id is not None:
        out["trace.id"], out["span.id"] = trace_id, span_id
    for key, value in rest:
        _place(out, _ECS_RESERVED, key, value)
    return out


_GCP_RESERVED = frozenset(
    {
        "time",
        "severity",
        "message",
        "signal",
        "timestamp",
        "timestampSeconds",
        "timestampNanos",
        "httpRequest",
        "stack_trace",
        "exception",
        "error",
    }
)


def _gcp(name: str, message: str, ns: int, ts: str, fields: Mapping[str, Any], level: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "time": ts,
        "severity": _GCP_SEVERITY.get(level or "", "DEFAULT"),
        "message": message,
        "signal": name,
    }
    error, trace_id, span_id, rest = _split(fields)
    if error is not None:
        out["stack_trace"] = error["stack_trace"]  # what Error Reporting reads
        out["error"] = error
    if trace_id is not None:
        project = os.environ.get("GOOGLE_CLOUD_PROJECT")
        out["logging.googleapis.com/trace"] = f"projects/{project}/traces/{trace_id}" if project else trace_id
        out["logging.googleapis.com/spanId"] = span_id
    for key, value in rest:
        special = isinstance(key, str) and key.startswith("logging.googleapis.com/")
        _place(out, frozenset({key}) if special else _GCP_RESERVED, key, value)
    return out


_DD_RESERVED = frozenset(
    {
        "timestamp",
        "status",
        "message",
        "signal",
        "evt.name",
        "evt",
        "host",
        "service",
        "date",
        "_timestamp",
        "Timestamp",
        "eventTime",
        "published_date",
        "error",
        "dd",
        "dd.trace_id",
        "dd.span_id",
        "level",
        "severity",
        "syslog",
    }
)


def _datadog(name: str, message: str, ns: int, ts: str, fields: Mapping[str, Any], level: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "timestamp": ts,
        "status": level or "info",
        "message": message,
        "signal": name,
        "evt.name": name,
    }
    error, trace_id, span_id, rest = _split(fields)
    if error is not None:
        out["error"] = {"kind": error["type"], "message": error["message"], "stack": error["stack_trace"]}
    if trace_id is not None and span_id is not None:
        try:
            out["dd.trace_id"] = str(int(trace_id, 16) & _MASK64)
            out["dd.span_id"] = str(int(span_id, 16) & _MASK64)
        except ValueError:
            pass
        rest += [("trace_id", trace_id), ("span_id", span_id)]  # the full ids, for tools other than Datadog
    for key, value in rest:
        _place(out, _DD_RESERVED, key, value)
    return out


def any_value(value: Any) -> dict[str, Any]:
    """An OTLP/JSON AnyValue (64-bit integers as decimal strings, as the OTLP/JSON encoding requires)."""
    if isinstance(value, str):
        return {"stringValue": value}
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)} if -(1 << 63) <= value < (1 << 63) else {"stringValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value if value == value and abs(value) != float("inf") else str(value)}
    if value is None:
        return {}
    if isinstance(value, BaseException):
        value = exception_dict(value)
    if isinstance(value, Mapping):
        return {"kvlistValue": {"values": [{"key": str(k), "value": any_value(v)} for k, v in value.items()]}}
    if isinstance(value, (list, tuple)):
        return {"arrayValue": {"values": [any_value(v) for v in value]}}
    return any_value(sanitize(value, 1, frozenset()))


def _otel(name: str, message: str, ns: int, ts: str, fields: Mapping[str, Any], level: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {"timeUnixNano": str(ns), "observedTimeUnixNano": str(ns)}
    if level is not None:
        out["severityNumber"] = _OTEL_SEVERITY[level]
        out["severityText"] = level.upper()
    out["body"] = {"stringValue": message}
    out["eventName"] = name
    error, trace_id, span_id, rest = _split(fields)
    attributes = [{"key": "signal", "value": {"stringValue": name}}]
    # the exception keys are the error's: a user field of that name never passes for it
    taken = {"signal", "exception.type", "exception.message", "exception.stacktrace"}
    if error is not None:
        for key in ("type", "message", "stack_trace"):
            otel_key = "exception.stacktrace" if key == "stack_trace" else f"exception.{key}"
            attributes.append({"key": otel_key, "value": {"stringValue": error[key]}})
            taken.add(otel_key)
    for key, value in rest:
        key = key if isinstance(key, str) else str(key)
        while key in taken:
            key = FIELD_PREFIX + key
        taken.add(key)
        attributes.append({"key": key, "value": any_value(value)})
    out["attributes"] = attributes
    if trace_id is not None:
        out["traceId"], out["spanId"] = trace_id, span_id
    return out


PROFILES: dict[str, Builder] = {"ecs": _ecs, "gcp": _gcp, "datadog": _datadog, "otel": _otel}
#: The keys of each profile's line that shortening a long line never cuts or drops.
KEEP: dict[str, frozenset[str]] = {
    "ecs": frozenset({"@timestamp", "log.level", "ecs.version", "signal", "event.action", "trace.id", "span.id"}),
    "gcp": frozenset(
        {
            "time",
            "severity",
            "signal",
            "logging.googleapis.com/trace",
            "logging.googleapis.com/spanId",
            "logging.googleapis.com/trace_sampled",
        }
    ),
    "datadog": frozenset({"timestamp", "status", "signal", "evt.name", "dd.trace_id", "dd.span_id"}),
    "otel": frozenset(
        {"timeUnixNano", "observedTimeUnixNano", "severityNumber", "severityText", "eventName", "traceId", "spanId"}
    ),
}


def builder(profile: str) -> Builder:
    """The function building a profile's line object; ValueError for an unknown profile."""
    try:
        return PROFILES[profile]
    except (KeyError, TypeError):
        raise ValueError(f"unknown profile {profile!r}; expected one of {', '.join(PROFILES)}") from None
