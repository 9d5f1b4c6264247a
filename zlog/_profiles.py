"""Shipper profiles for ``JSONSink(profile=...)``: the same event in the keys ECS, Google Cloud
Logging, Datadog or OpenTelemetry (OTLP/JSON) expect, and the way back for ``zlog tail``/``stats``.

Every profile keeps the signal. A user field whose name the profile reserves is written as
``fields.<name>`` (like the native format's reserved keys), so it can never change the level, the
time or the message a backend sees.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any

from zlog._encode import FIELD_PREFIX, RESERVED, exception_dict, sanitize

__all__ = ["PROFILES", "builder", "detect", "normalize"]

ECS_VERSION = "8.11.0"
_MASK64 = (1 << 64) - 1
_GCP_SEVERITY = {"debug": "DEBUG", "info": "INFO", "warn": "WARNING", "error": "ERROR", "fatal": "CRITICAL"}
_OTEL_SEVERITY = {"debug": 5, "info": 9, "warn": 13, "error": 17, "fatal": 21}
_FROM_UPPER = {"DEBUG": "debug", "INFO": "info", "NOTICE": "info", "WARN": "warn", "WARNING": "warn",
               "ERROR": "error", "CRITICAL": "fatal", "ALERT": "fatal", "EMERGENCY": "fatal", "FATAL": "fatal"}

Builder = Callable[[str, str, int, str, Mapping[str, Any], "str | None"], dict[str, Any]]


def _place(out: dict[str, Any], reserved: frozenset[str], key: str, value: Any) -> None:
    """Put a user field in ``out``; a reserved or taken name goes to ``fields.<name>``."""
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
    rest = [(k, v) for k, v in fields.items()
            if not (k == "error" and error_dict is not None) and not (ids and k in ("trace_id", "span_id"))]
    return error_dict, trace_id if ids else None, span_id if ids else None, rest


_ECS_RESERVED = frozenset({"@timestamp", "log.level", "message", "ecs.version", "signal", "event.action", "error",
                           "trace.id", "span.id", "log", "ecs", "event", "trace", "span"})


def _ecs(name: str, message: str, ns: int, ts: str, fields: Mapping[str, Any], level: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {"@timestamp": ts, "log.level": level or "info", "message": message,
                           "ecs.version": ECS_VERSION, "signal": name, "event.action": name}
    error, trace_id, span_id, rest = _split(fields)
    if error is not None:
        out["error"] = error
    if trace_id is not None:
        out["trace.id"], out["span.id"] = trace_id, span_id
    for key, value in rest:
        _place(out, _ECS_RESERVED, key, value)
    return out


_GCP_RESERVED = frozenset({"time", "severity", "message", "signal", "timestamp", "timestampSeconds",
                           "timestampNanos", "httpRequest", "stack_trace", "exception", "error"})


def _gcp(name: str, message: str, ns: int, ts: str, fields: Mapping[str, Any], level: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {"time": ts, "severity": _GCP_SEVERITY.get(level or "", "DEFAULT"), "message": message,
                           "signal": name}
    error, trace_id, span_id, rest = _split(fields)
    if error is not None:
        out["stack_trace"] = error["stack_trace"]  # what Error Reporting reads
        out["error"] = error
    if trace_id is not None:
        project = os.environ.get("GOOGLE_CLOUD_PROJECT")
        out["logging.googleapis.com/trace"] = f"projects/{project}/traces/{trace_id}" if project else trace_id
        out["logging.googleapis.com/spanId"] = span_id
    for key, value in rest:
        _place(out, _GCP_RESERVED if not key.startswith("logging.googleapis.com/") else frozenset({key}), key, value)
    return out


_DD_RESERVED = frozenset({"timestamp", "status", "message", "signal", "evt.name", "evt", "host", "service", "date",
                          "_timestamp", "Timestamp", "eventTime", "published_date", "error", "dd", "dd.trace_id",
                          "dd.span_id", "level", "severity", "syslog"})


def _datadog(name: str, message: str, ns: int, ts: str, fields: Mapping[str, Any],
             level: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {"timestamp": ts, "status": level or "info", "message": message, "signal": name,
                           "evt.name": name}
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
    taken = {"signal"}
    if error is not None:
        for key in ("type", "message", "stack_trace"):
            otel_key = "exception.stacktrace" if key == "stack_trace" else f"exception.{key}"
            attributes.append({"key": otel_key, "value": {"stringValue": error[key]}})
            taken.add(otel_key)
    for key, value in rest:
        while key in taken:
            key = FIELD_PREFIX + key
        taken.add(key)
        attributes.append({"key": key, "value": any_value(value)})
    out["attributes"] = attributes
    if trace_id is not None:
        out["traceId"], out["spanId"] = trace_id, span_id
    return out


PROFILES: dict[str, Builder] = {"ecs": _ecs, "gcp": _gcp, "datadog": _datadog, "otel": _otel}


def builder(profile: str) -> Builder:
    """The function building a profile's line object; ValueError for an unknown profile."""
    try:
        return PROFILES[profile]
    except (KeyError, TypeError):
        raise ValueError(f"unknown profile {profile!r}; expected one of {', '.join(PROFILES)}") from None


# -- reading back ---------------------------------------------------------------------------------------


def detect(obj: Mapping[str, Any]) -> str | None:
    """Which profile wrote ``obj`` (None for zlog's native line)."""
    if "@timestamp" in obj and "log.level" in obj:
        return "ecs"
    if "timeUnixNano" in obj and "body" in obj:
        return "otel"
    if "severity" in obj and "time" in obj and "signal" in obj:
        return "gcp"
    if "status" in obj and "timestamp" in obj and "evt.name" in obj:
        return "datadog"
    return None


def _from_any(value: Any) -> Any:
    if not isinstance(value, dict) or not value:
        return None
    kind, inner = next(iter(value.items()))
    if kind == "intValue":
        try:
            return int(inner)
        except (TypeError, ValueError):
            return inner
    if kind == "arrayValue":
        return [_from_any(v) for v in (inner or {}).get("values", [])]
    if kind == "kvlistValue":
        return {kv.get("key"): _from_any(kv.get("value")) for kv in (inner or {}).get("values", [])}
    return inner


def _ns_to_rfc3339(text: Any) -> str | None:
    try:
        ns = int(text)
    except (TypeError, ValueError):
        return None
    when = datetime.fromtimestamp(ns // 1000 / 1e6, tz=timezone.utc)
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def normalize(obj: dict[str, Any]) -> tuple[str | None, str | None, Any, Any, dict[str, Any]]:
    """``(time, level, signal, message, fields)`` of a line written natively or by any profile."""
    profile = detect(obj)
    if profile is None:
        fields = {k: v for k, v in obj.items() if k not in RESERVED}
        return obj.get("time"), obj.get("level"), obj.get("signal"), obj.get("message"), fields
    if profile == "otel":
        attributes: dict[str, Any] = {str(a.get("key")): _from_any(a.get("value"))
                                      for a in obj.get("attributes") or [] if isinstance(a, dict)}
        signal = attributes.pop("signal", obj.get("eventName"))
        error = {k: attributes.pop(f"exception.{k}") for k in ("type", "message") if f"exception.{k}" in attributes}
        if error:
            error["stack_trace"] = attributes.pop("exception.stacktrace", "")
            attributes["error"] = error
        if "traceId" in obj:
            attributes["trace_id"], attributes["span_id"] = obj.get("traceId"), obj.get("spanId")
        text = obj.get("severityText")
        level = _FROM_UPPER.get(text.upper()) if isinstance(text, str) else None
        return _ns_to_rfc3339(obj.get("timeUnixNano")), level, signal, _from_any(obj.get("body")), attributes
    if profile == "ecs":
        skip = {"@timestamp", "log.level", "message", "ecs.version", "signal", "event.action", "trace.id", "span.id"}
        fields = {k: v for k, v in obj.items() if k not in skip}
        if "trace.id" in obj:
            fields["trace_id"], fields["span_id"] = obj.get("trace.id"), obj.get("span.id")
        return obj.get("@timestamp"), obj.get("log.level"), obj.get("signal"), obj.get("message"), fields
    if profile == "gcp":
        skip = {"time", "severity", "message", "signal", "stack_trace", "logging.googleapis.com/trace",
                "logging.googleapis.com/spanId"}
        fields = {k: v for k, v in obj.items() if k not in skip}
        trace = obj.get("logging.googleapis.com/trace")
        if isinstance(trace, str):
            fields["trace_id"], fields["span_id"] = trace.rpartition("/")[2], obj.get("logging.googleapis.com/spanId")
        severity = obj.get("severity")
        level = _FROM_UPPER.get(severity) if isinstance(severity, str) else None
        return obj.get("time"), level, obj.get("signal"), obj.get("message"), fields
    skip = {"timestamp", "status", "message", "signal", "evt.name", "dd.trace_id", "dd.span_id"}
    fields = {k: v for k, v in obj.items() if k not in skip}
    dd_error: Any = fields.get("error")
    if isinstance(dd_error, dict) and "kind" in dd_error:
        fields["error"] = {"type": dd_error.get("kind"), "message": dd_error.get("message"),
                           "stack_trace": dd_error.get("stack")}
    status = obj.get("status")
    level = status if status in _OTEL_SEVERITY else None
    return obj.get("timestamp"), level, obj.get("signal"), obj.get("message"), fields
