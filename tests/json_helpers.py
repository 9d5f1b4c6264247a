"""Shared helpers for the JSON sink tests."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable
from typing import Any

import zlog
from zlog.event import Event

T0 = 1_795_357_815_000_000_000  # 2026-11-22T14:30:15Z
LIMIT = 16384


def strict_loads(line: bytes | str) -> Any:
    """json.loads that rejects NaN/Infinity, as Go's encoding/json and serde_json do."""

    def reject(constant: str) -> Any:
        raise ValueError(f"non-standard JSON constant {constant}")

    return json.loads(line, parse_constant=reject)


def lines_of(data: bytes | str) -> list[dict[str, Any]]:
    """Every line parsed strictly; the data must end with a newline."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    assert data.endswith(b"\n"), data[-200:]
    return [strict_loads(line) for line in data.split(b"\n")[:-1]]


def handle(sink: zlog.JSONSink, signal: str = "JOB_QUEUED", message: str = "msg", **kwargs: Any) -> None:
    fields = kwargs.pop("fields", {})
    sink.handle(Event(signal, message, fields, time_ns=kwargs.pop("time_ns", T0), **kwargs))


def one_line(fields: dict[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
    out = io.BytesIO()
    handle(zlog.JSONSink(out), fields=fields or {}, **kwargs)
    [obj] = lines_of(out.getvalue())
    return obj


def line_for(fields: dict[Any, Any], *, signal: str = "SIG", message: str = "msg") -> bytes:
    out = io.BytesIO()
    zlog.JSONSink(out).handle(zlog.Event(signal, message, fields, time_ns=T0))
    return out.getvalue()


def parsed(fields: dict[Any, Any], **kwargs: str) -> dict[str, Any]:
    line = line_for(fields, **kwargs)
    assert line.endswith(b"\n") and line.count(b"\n") == 1, line
    obj = strict_loads(line)
    assert isinstance(obj, dict)
    return obj


def encode(value: object) -> Any:
    """How ``value`` appears in the line as the field ``v``."""
    return parsed({"v": value})["v"]


def encode_slow(value: object) -> Any:
    """The same, forced through the sanitizing path (a 2**70 field makes orjson refuse the event)."""
    return parsed({"v": value, "force_slow_path": 2**70})["v"]


def python_calls(fn: Callable[[], object]) -> int:
    """How many Python functions ``fn()`` runs (calls into C not counted): work done per item in Python
    shows up here, whatever the machine's speed."""
    calls = 0

    def count(frame: object, event: str, arg: object) -> None:
        nonlocal calls
        if event == "call":
            calls += 1

    sys.setprofile(count)
    try:
        fn()
    finally:
        sys.setprofile(None)
    return calls


TYPES: dict[str, type | tuple[type, ...]] = {
    "string": str,
    "integer": int,
    "number": (int, float),
    "boolean": bool,
    "object": dict,
    "array": list,
    "null": type(None),
}


def valid(value: Any, schema: dict[str, Any]) -> bool:
    """The part of JSON Schema that zlog's schemas use: type, const, enum, anyOf, properties, required, items,
    additionalProperties (jsonschema is not a dependency of the tests)."""
    if "const" in schema and value != schema["const"]:
        return False
    if "enum" in schema and value not in schema["enum"]:
        return False
    if "anyOf" in schema and not any(valid(value, s) for s in schema["anyOf"]):
        return False
    kinds = schema.get("type")
    if kinds is not None and not any(
        isinstance(value, TYPES[kind]) and (kind == "boolean" or not isinstance(value, bool))
        for kind in ([kinds] if isinstance(kinds, str) else kinds)
    ):
        return False
    if isinstance(value, list):
        return all(valid(item, schema.get("items", {})) for item in value)
    if isinstance(value, dict):
        if any(key not in value for key in schema.get("required", [])):
            return False
        properties = schema.get("properties", {})
        others = schema.get("additionalProperties", {})
        return all(valid(v, properties.get(k, others)) for k, v in value.items())
    return True


def signals_by_job(lines: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Each job's ``JOB_*`` signals, attempt after attempt, in order within an attempt (an event without an
    attempt, such as ``JOB_QUEUED``, first). Where several workers run a job's attempts, the next attempt
    may start before the failed one's ``JOB_RETRYING`` is written (Celery sends the retry's message before
    it reports the retry)."""
    out: dict[str, list[tuple[int, str]]] = {}
    for line in lines:
        if str(line["signal"]).startswith("JOB_"):
            out.setdefault(str(line["job_id"]), []).append((int(line.get("attempt", 0)), str(line["signal"])))
    return {job: [sig for _, sig in sorted(events, key=lambda e: e[0])] for job, events in out.items()}
