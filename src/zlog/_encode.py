"""Turning an event into exactly one valid JSON line, whatever its field values are."""

from __future__ import annotations

import dataclasses
import enum
import functools
import math
import os
import time
import traceback
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from datetime import time as dtime
from decimal import Decimal
from typing import Any

import orjson

from zlog import _truncate

#: orjson options for every line: trailing newline, ``Z`` for UTC, naive datetimes taken as UTC.
OPTIONS = orjson.OPT_APPEND_NEWLINE | orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC
_VALUE_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC
#: Keys the event itself writes; a field with one of these names is written as ``fields.<name>``.
RESERVED = ("time", "level", "signal", "message")
FIELD_PREFIX = "fields."
_MAX_DEPTH = 64
_INT_MIN, _INT_MAX = -(2**63), 2**64 - 1
#: Ints with more decimal digits than this are written as ``"<int of N bits>"``: converting them
#: costs quadratic time, and such a line would be truncated anyway.
_MAX_INT_DIGITS = 20_000
_LOG10_2 = math.log10(2)
#: ``"000"`` to ``"999"``: the fraction digits of a timestamp, by table lookup.
DIGITS3 = tuple(f"{i:03d}" for i in range(1000))
#: A UTF-8 character takes at most this many bytes.
_UTF8_MAX = 4
#: Bytes values at least this long are decoded in C passes that cost nothing per invalid byte.
_LONG_BYTES = 1024

#: orjson's ``default``: the JSON-native stand-in for a value orjson does not encode itself.
Default = Callable[[Any], Any]


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
            cached = (ms, time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(sec)) + DIGITS3[msec])
            self._cache = cached
        return cached[1] + DIGITS3[us] + "Z"


def default(obj: Any) -> Any:
    """orjson's fallback for types it does not encode natively (see docs/format.md)."""
    if isinstance(obj, BaseException):
        return exception_dict(obj)
    if isinstance(obj, (datetime, date, dtime)):  # subclasses (freezegun, pendulum) orjson refuses
        return _plain_datetime(obj)
    if isinstance(obj, timedelta):
        return obj.total_seconds()
    if isinstance(obj, Decimal):
        return str(obj)
    if isinstance(obj, os.PathLike):
        return os.fspath(obj) if isinstance(os.fspath(obj), str) else repr(obj)
    if isinstance(obj, (set, frozenset)):
        try:
            return sorted(obj)
        except Exception:  # unorderable items, or a __lt__ that raises
            return list(obj)
    if isinstance(obj, (bytes, bytearray, memoryview)):
        data = bytes(obj)
        return data.decode("utf-8", "backslashreplace") if len(data) < _LONG_BYTES else _utf8_text(data)
    if isinstance(obj, Mapping):
        return dict(obj)
    if isinstance(obj, (tuple, list)):  # subclasses orjson refuses
        return list(obj)
    if isinstance(obj, enum.Enum):
        return obj.value
    return safe_repr(obj)


@functools.lru_cache(maxsize=64)
def default_for(limit: int) -> Default:
    """``default`` for a line of at most ``limit`` bytes: a bytes value longer than that is decoded only as
    far as the line could hold it, so its cost follows the limit, not its size (see docs/format.md)."""
    cap = limit + _UTF8_MAX  # past the limit however the bytes decode: the line is always cut and marked

    def limited_default(obj: Any) -> Any:
        if isinstance(obj, (bytes, bytearray, memoryview)):
            return bytes_text(obj, cap)
        return default(obj)

    return limited_default


def bytes_text(obj: bytes | bytearray | memoryview, cap: int | None = None) -> str:
    """``obj`` decoded as UTF-8 with each invalid byte as ``\\xNN`` (what ``backslashreplace`` gives).

    With ``cap`` (at least 4), a value longer than ``cap`` bytes is decoded only up to about ``cap``
    bytes, never splitting a character, and ends with ``...[truncated]``.
    """
    data: bytes | bytearray | memoryview = obj
    if isinstance(data, memoryview) and (data.ndim != 1 or data.format != "B"):
        try:
            data = data.cast("B")
        except TypeError:  # not C-contiguous
            data = data.tobytes()
    if cap is None or len(data) <= cap:
        return _utf8_text(bytes(data))
    cut = cap
    if 0x80 <= data[cap] < 0xC0:  # a continuation byte: the cap may fall inside a character
        for back in (1, 2, 3):  # its first byte is at most 3 bytes before
            lead = data[cap - back]
            if not 0x80 <= lead < 0xC0:
                if lead >= 0xC0 and back < (2 if lead < 0xE0 else 3 if lead < 0xF0 else 4):
                    cut = cap - back
                break
    return _utf8_text(bytes(data[:cut])) + _truncate.SUFFIX


def _utf8_text(data: bytes) -> str:
    """``data.decode("utf-8", "backslashreplace")``; a long value in a few C passes, however many bytes are
    invalid (that error handler is called once per invalid byte)."""
    if len(data) < _LONG_BYTES:
        return data.decode("utf-8", "backslashreplace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    # surrogateescape turns each invalid byte into U+DC80..U+DCFF, which backslashreplace then writes as
    # \udcNN, to become \xNN. The text's own backslashes are set aside as U+D800 meanwhile (a code point
    # the decoder never produces), so none of them can be taken for the start of such an escape.
    text = data.decode("utf-8", "surrogateescape").replace("\\", "\ud800")
    raw = text.encode("utf-8", "backslashreplace").replace(b"\\udc", b"\\x").replace(b"\\ud800", b"\\")
    return raw.decode("utf-8")


def _plain_datetime(obj: date | dtime) -> date | dtime:
    if isinstance(obj, datetime):
        day = date(obj.year, obj.month, obj.day)
        clock = dtime(obj.hour, obj.minute, obj.second, obj.microsecond, fold=obj.fold)
        return datetime.combine(day, clock, obj.tzinfo)
    if isinstance(obj, date):
        return date(obj.year, obj.month, obj.day)
    return dtime(obj.hour, obj.minute, obj.second, obj.microsecond, obj.tzinfo, fold=obj.fold)


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


def sanitize(obj: Any, depth: int = 0, path: frozenset[int] = frozenset(), default: Default = default) -> Any:
    """A JSON-safe copy of ``obj``: the slow path taken only when orjson refuses a value.

    Never raises: a value that cannot be converted becomes its ``repr`` (or ``<unrepresentable T>``).
    ``default`` converts the values JSON has no type for (``default_for`` a line limit, say).
    """
    try:
        return _sanitize(obj, depth, path, default)
    except Exception:
        return _clean_str(safe_repr(obj))


def _sanitize(obj: Any, depth: int, path: frozenset[int], default: Default) -> Any:
    if obj is None or obj is True or obj is False:
        return obj
    if isinstance(obj, str):
        return _clean_str(obj)
    if isinstance(obj, int):
        return _int(obj)
    if isinstance(obj, float):
        return float(obj) if math.isfinite(obj) else None
    if depth >= _MAX_DEPTH:
        return "<max depth>"
    if id(obj) in path:
        return "<circular>"
    inner = path | {id(obj)}
    if isinstance(obj, dict):
        return {_key(k): sanitize(v, depth + 1, inner, default) for k, v in list(dict.items(obj))}
    if isinstance(obj, (list, tuple)):
        return [sanitize(v, depth + 1, inner, default) for v in list(obj)]
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        try:
            fields = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
            return sanitize(fields, depth + 1, inner, default)
        except Exception:
            return _clean_str(safe_repr(obj))
    if isinstance(obj, (bytes, bytearray, memoryview)):  # always text: no round trip through orjson
        return default(obj)
    try:
        converted = orjson.loads(orjson.dumps(obj, default=default, option=_VALUE_OPTIONS))
    except Exception:
        try:
            converted = default(obj)
        except Exception:
            converted = safe_repr(obj)
        if converted is obj:
            return _clean_str(safe_repr(obj))
    return sanitize(converted, depth + 1, inner, default)


def _int(value: int) -> int | str:
    """An int orjson can write as a number, else its decimal string (no int->str digit limit)."""
    value = int.__index__(value)
    if _INT_MIN <= value <= _INT_MAX:
        return value
    if value.bit_length() * _LOG10_2 > _MAX_INT_DIGITS:
        return f"<int of {value.bit_length()} bits>"
    return str(Decimal(value))  # exact; unlike str(int), not limited by sys.get_int_max_str_digits()


def _clean_str(s: str) -> str:
    s = str.__str__(s)  # the plain value of a str subclass, whatever its __str__ does
    try:
        s.encode("utf-8")
        return s
    except UnicodeEncodeError:  # lone surrogates become visible \udcxx escapes
        return s.encode("utf-8", "backslashreplace").decode("utf-8")


def _key(k: object) -> str:
    try:
        return _key_text(k)
    except Exception:
        return _clean_str(safe_repr(k))


def _key_text(k: object) -> str:
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


def dumps(obj: dict[str, Any], default: Default = default) -> bytes:
    """One JSON line (with ``\\n``) for ``obj``; never raises. ``default`` as for ``sanitize``."""
    try:
        return orjson.dumps(obj, default=default, option=OPTIONS)
    except Exception:
        pass
    try:
        return orjson.dumps(_sanitize_line(obj, default), option=OPTIONS)
    except Exception as exc:  # pragma: no cover - sanitize output is always encodable
        return orjson.dumps({"zlog_encode_error": safe_repr(exc)}, option=OPTIONS)


def _sanitize_line(obj: dict[str, Any], default: Default) -> dict[str, Any]:
    """Sanitize the line object; a key that becomes equal to an earlier one (``1`` and ``"1"``, or an
    enum key whose value is ``"time"``) gets the ``fields.`` prefix instead of overwriting it.

    A value orjson accepts is written as orjson writes it, and only the values it refuses are walked."""
    out: dict[str, Any] = {}
    path = frozenset((id(obj),))
    for k, v in list(dict.items(obj)):
        key = _key(k)
        while key in out:
            key = FIELD_PREFIX + key
        try:
            out[key] = orjson.Fragment(orjson.dumps(v, default=default, option=_VALUE_OPTIONS))
        except Exception:
            out[key] = sanitize(v, 1, path, default)
    return out


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


def render(
    name: str,
    message: str,
    ts: str,
    fields: Mapping[str, Any],
    level: str | None,
    limit: int,
    default: Default | None = None,
) -> bytes:
    """The complete line for an event, at most ``limit`` bytes (the slow, general path).

    ``default`` is ``default_for(limit)`` unless given (by a sink that cuts another form of the line)."""
    line = dumps(event_dict(name, message, ts, fields, level), default_for(limit) if default is None else default)
    if len(line) > limit:
        line = _truncate.fit(line, limit)
    return line
