"""Reading zlog JSON lines back: input files and stdin, and one normalized record per line.

Shared by ``zlog tail`` and ``zlog stats``. A line that is not a JSON object is not an error: it is
returned as ``None`` by :func:`parse` so each command can pass it through or count it.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, BinaryIO

import orjson

from zlog import _readback
from zlog._encode import FIELD_PREFIX
from zlog._pretty import json_text

__all__ = [
    "InputError",
    "Record",
    "format_time",
    "iter_lines",
    "open_inputs",
    "parse",
    "parse_time",
    "read_lines",
    "signal_of",
]

#: Bytes asked of the stream per read: large reads, few Python-level steps per megabyte.
CHUNK = 1 << 20
#: 0001-01-01T00:00:00Z and 10000-01-01T00:00:00Z in POSIX seconds: the times :func:`parse_time` gives.
_FIRST_SECOND, _END_SECOND = -62135596800.0, 253402300800.0
_LAST_SECOND = math.nextafter(_END_SECOND, 0.0)


class InputError(Exception):
    """A missing or unreadable input: reported as one line, exit code 2."""


@dataclass(slots=True)
class Record:
    """One event read back from a line. ``time``, ``level`` and ``message`` are text (a value that is not
    a string is its JSON text). ``fields`` holds the event's fields under their own names (a
    ``fields.time`` key is the field ``time``, unless the line has a field ``time`` too)."""

    raw: bytes
    time: str | None
    level: str | None
    signal: str
    message: str
    fields: dict[str, Any] = field(default_factory=dict)

    def timestamp(self) -> float | None:
        """The event time as POSIX seconds, or None when it is missing, not RFC 3339 or out of range."""
        return parse_time(self.time) if self.time else None


def parse(raw: bytes) -> Record | None:
    """The record of one line written by zlog, natively or with any ``JSONSink`` profile; None when the
    line is not a JSON object with a signal."""
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return _record(raw, obj) if isinstance(obj, dict) else None


def signal_of(raw: bytes) -> str | None:
    """Only the signal name of a line, as :func:`parse` would read it (None when parse gives None);
    cheaper, for filters that look at nothing else."""
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(obj, dict):
        return None
    if _readback.detect(obj) == "otel":  # the only profile that keeps the name elsewhere
        record = _record(raw, obj)
        return None if record is None else record.signal
    signal = obj.get("signal")
    return signal if isinstance(signal, str) and signal else None


def _record(raw: bytes, obj: dict[str, Any]) -> Record | None:
    when, level, signal, message, raw_fields = _readback.normalize(obj)
    if not isinstance(signal, str) or not signal:
        return None
    fields: dict[str, Any] = {}
    for key, value in raw_fields.items():
        if key.startswith(FIELD_PREFIX) and key[len(FIELD_PREFIX) :] not in raw_fields:
            key = key[len(FIELD_PREFIX) :]  # a user field moved off a reserved key is the field again
        fields[key] = value
    # time, level and message as text: a string as it is, anything else as its JSON text (inline: per line)
    if when is not None and not isinstance(when, str):
        when = json_text(when)
    if level is not None and not isinstance(level, str):
        level = json_text(level)
    text = "" if message is None else message if isinstance(message, str) else json_text(message)
    return Record(raw, when, level, signal, text, fields)


def parse_time(text: str) -> float | None:
    """POSIX seconds of an RFC 3339 time (``Z`` or an offset); a naive time is taken to be UTC.

    None for anything else, and for an instant outside the years 1 to 9999 in UTC (``0000-...`` and
    ``10000-...`` are not times either), so every value it gives can be formatted again."""
    if len(text) < 10 or text[4] != "-":  # not a date (a number's text, say)
        return None
    try:
        when = datetime.fromisoformat(text[:-1] + "+00:00" if text[-1] in "Zz" else text)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    seconds = when.timestamp()
    if _FIRST_SECOND <= seconds < _END_SECOND - 1:
        return seconds
    try:  # at an end of the range: exactly, as a float may round the last microsecond of 9999 up
        when.astimezone(timezone.utc)
    except OverflowError:  # an offset moves it out of the years 1 to 9999
        return None
    return min(max(seconds, _FIRST_SECOND), _LAST_SECOND)


def format_time(seconds: float, *, sep: str = "T", timespec: str = "microseconds") -> str | None:
    """``seconds`` (POSIX) as RFC 3339 UTC with ``Z``; None when no date holds it (never raises)."""
    try:
        return datetime.fromtimestamp(seconds, tz=timezone.utc).isoformat(sep, timespec)[:-6] + "Z"
    except (OverflowError, ValueError, OSError):
        return None


def open_inputs(paths: Sequence[str]) -> list[tuple[str, BinaryIO]]:
    """``(name, binary stream)`` for each path; ``-`` (or no path) is stdin. Raises InputError."""
    if not paths:
        paths = ["-"]
    opened: list[tuple[str, BinaryIO]] = []
    for path in paths:
        if path == "-":
            opened.append(("-", sys.stdin.buffer))
            continue
        if os.path.isdir(path):
            raise InputError(f"{path}: is a directory")
        try:
            opened.append((path, open(path, "rb")))  # noqa: SIM115 - closed by the caller
        except FileNotFoundError:
            raise InputError(f"{path}: no such file") from None
        except OSError as exc:
            raise InputError(f"{path}: {exc.strerror or exc}") from None
    return opened


def read_lines(stream: BinaryIO) -> Iterator[bytes]:
    """The lines of ``stream`` without their line ends; empty lines are skipped."""
    return iter_lines(stream)


def iter_lines(stream: BinaryIO, *, contains: bytes | None = None, chunk: int | None = None) -> Iterator[bytes]:
    """The non-empty lines of ``stream`` without ``\\n`` / ``\\r\\n``, read in large binary chunks.

    With ``contains``, only the lines holding those bytes are yielded: the chunk is searched for them and
    every other line is never cut out, which is what makes ``zlog tail --signal NAME`` fast. Reads with
    ``read1`` when the stream has it, so lines from a pipe arrive as soon as they are written rather
    than when a whole chunk is full.
    """
    read = getattr(stream, "read1", None) or stream.read
    size = CHUNK if chunk is None else chunk
    partial = b""
    while True:
        data = read(size)
        if not data:
            break
        end = data.rfind(b"\n")
        if end < 0:
            partial += data
            continue
        block, rest = (partial + data[: end + 1], data[end + 1 :]) if partial else (data[: end + 1], data[end + 1 :])
        partial = rest
        yield from _lines_of(block, contains)
    if partial:
        yield from _lines_of(partial + b"\n", contains)


def _lines_of(block: bytes, contains: bytes | None) -> Iterator[bytes]:
    """The lines of ``block`` (which ends with ``\\n``), optionally only those holding ``contains``."""
    if contains is None:
        for line in block.split(b"\n"):
            if line:
                if line[-1] == 13:  # "\r"
                    line = line.rstrip(b"\r")
                    if not line:
                        continue
                yield line
        return
    find, rfind = block.find, block.rfind
    pos = find(contains)
    while pos >= 0:
        start = rfind(b"\n", 0, pos) + 1
        stop = find(b"\n", pos)  # found: the block ends with a line end
        line = block[start:stop].rstrip(b"\r")
        if line:
            yield line
        pos = find(contains, stop + 1)
