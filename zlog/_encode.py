"""Turning an event into exactly one valid JSON line, whatever its field values are."""

from __future__ import annotations

import dataclasses
import enum
import math
import os
import time
import traceback
from collections.abc import Mapping
from datetime import timedelta
from decimal import Decimal
from typing import Any

import orjson

from zlog import _truncate

#: orjson options for every line: trailing newline, ``Z`` for UTC, naive datetimes taken as UTC.
OPTIONS = orjson.OPT_APPEND_NEWLINE | orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC
#: Keys the event itself writes; a field with one of these names is written as ``fields.<name>``.
RESERVED = ("time", "level", "signal", "message")
FIELD_PREFIX = "fields."
_MAX_DEPTH = 64
_INT_MIN, _INT_MAX = -(2**63), 2**64 - 1
_T3 = tuple(f"{i:03d}" for i in range(1000))


class Clock:
    """RFC 3339 UTC stamps with six fractional digits, cached per millisecond."""

    __slots__ = ("_cache",)

    def __init__(self) -> None:
        self._cache: tuple[int, str] = (-1, "")

    def stamp(self, ns: int) -> str:
        ms, us = divmod(ns // 1000, 1000)
        cached = self._cache
        if cached[0] != ms:
            sec, msec = divmod(ms, 1000)
            cached = (ms, time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(sec)) + _T3[msec])
            self._cache = cached
        return cached[1] + _T3[us] + "Z"


def default(obj: Any) -> Any:
    """orjson's fallback for types it does not encode natively (see docs/format.md)."""
    if isinstance(obj, BaseException):
        return exception_dict(obj)
    if isinstance(obj, timedelta):
        return obj.total_seconds()
    if isinstance(obj, Decimal):
        return str(obj)
    if isinstance(obj, os.PathLike):
        return os.fspath(obj) if isinstance(os.fspath(obj), str) else repr(obj)
    if isinstance(obj, (set, frozenset)):
        try:
            return sorted(obj)
        except TypeError:
            return list(obj)
    if isinstance(obj, (bytes, bytearray, memoryview)):
        return bytes(obj).decode("utf-8", "backslashreplace")
    if isinstance(obj, Mapping):
        return dict(obj)
    if isinstance(obj, (tuple, list)):  # subclasses orjson refuses
        return list(obj)
    if isinstance(obj, enum.Enum):
        return obj.value
    return safe_repr(obj)


def safe_repr(obj: object) -> str:
    try:
        return repr(obj)
    except Exception:
        return f"<unrepresentable {type(obj).__qualname__}>"


def exception_dict(exc: BaseException) -> dict[str, str]:
    """``{"type", "message", "stack_trace"}``; the stack trace is Python's full traceback text."""
    cls = type(exc)
    name = cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"
    try:
        message = str(exc)
    except Exception:
        message = safe_repr(exc)
    try:
        stack = "".join(traceback.format_exception(cls, exc, exc.__traceback__)).rstrip("\n")
    except Exception:
        stack = f"{name}: {message}"
    return {"type": name, "message": message, "stack_trace": stack}


def sanitize(obj: Any, depth: int = 0, path: frozenset[int] = frozenset()) -> Any:
    """A JSON-safe copy of ``obj``: the slow path taken only when orjson refuses a value."""
    if obj is None or obj is True or obj is False:
        return obj
    if isinstance(obj, str):
        return _clean_str(obj)
    if isinstance(obj, int):
        if _INT_MIN <= obj <= _INT_MAX:
            return int(obj)
        try:
            return str(obj)
        except ValueError:  # more digits than int->str allows
            return f"<int of {obj.bit_length()} bits>"
    if isinstance(obj, float):
        return float(obj) if math.isfinite(obj) else None
    if depth >= _MAX_DEPTH:
        return "<max depth>"
    if id(obj) in path:
        return "<circular>"
    inner = path | {id(obj)}
    if isinstance(obj, dict):
        return {_key(k): sanitize(v, depth + 1, inner) for k, v in list(obj.items())}
    if isinstance(obj, (list, tuple)):
        return [sanitize(v, depth + 1, inner) for v in list(obj)]
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        try:
            return sanitize({f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}, depth + 1, inner)
        except Exception:
            return safe_repr(obj)
    try:
        converted = orjson.loads(orjson.dumps(obj, default=default, option=orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC))
    except Exception:
        try:
            converted = default(obj)
        except Exception:
            converted = safe_repr(obj)
        if converted is obj:
            return safe_repr(obj)
    return sanitize(converted, depth + 1, inner)


def _clean_str(s: str) -> str:
    try:
        s.encode("utf-8")
        return str(s)
    except UnicodeEncodeError:  # lone surrogates become visible \udcxx escapes
        return s.encode("utf-8", "backslashreplace").decode("utf-8")


def _key(k: object) -> str:
    if isinstance(k, str):
        return _clean_str(k)
    if k is None or isinstance(k, bool):
        return orjson.dumps(k).decode()
    if isinstance(k, (int, float)):
        out = sanitize(k)
        return out if isinstance(out, str) else orjson.dumps(out).decode()
    if isinstance(k, enum.Enum):
        return _key(k.value)
    return _clean_str(safe_repr(k) if not isinstance(k, (Decimal, os.PathLike)) else str(k))


def dumps(obj: dict[str, Any]) -> bytes:
    """One JSON line (with ``\\n``) for ``obj``; never raises."""
    try:
        return orjson.dumps(obj, default=default, option=OPTIONS)
    except Exception:
        pass
    try:
        return orjson.dumps(sanitize(obj), option=OPTIONS)
    except Exception as exc:  # pragma: no cover - sanitize output is always encodable
        return orjson.dumps({"zlog_encode_error": safe_repr(exc)}, option=OPTIONS)


def with_fields(core: dict[str, Any], fields: Mapping[str, Any]) -> dict[str, Any]:
    """``core`` followed by ``fields``; a field named like a core key goes to ``fields.<name>``."""
    out = dict(core)
    for key, value in fields.items():
        if key in RESERVED:
            key = FIELD_PREFIX + key
            while key in out or key in fields:
                key = FIELD_PREFIX + key
        out[key] = value
    return out


def event_dict(name: str, message: str, ts: str, fields: Mapping[str, Any], level: str | None) -> dict[str, Any]:
    """The ordered line object: time, level (when set), signal, message, context and fields."""
    if level is None:
        core: dict[str, Any] = {"time": ts, "signal": name, "message": message}
    else:
        core = {"time": ts, "level": level, "signal": name, "message": message}
    return with_fields(core, fields)


def render(name: str, message: str, ts: str, fields: Mapping[str, Any], level: str | None, limit: int) -> bytes:
    """The complete line for an event, at most ``limit`` bytes (the slow, general path)."""
    line = dumps(event_dict(name, message, ts, fields, level))
    if len(line) > limit:
        line = _truncate.fit(line, limit)
    return line
