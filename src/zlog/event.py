"""The immutable event that the router hands to every sink."""

from __future__ import annotations

import time as _time
from collections.abc import Mapping
from operator import itemgetter
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from datetime import datetime

__all__ = ["Event"]

_new = tuple.__new__


class Event(tuple):  # type: ignore[type-arg]
    """One thing that happened: a signal, a message, a UTC time and fields.

    Events are immutable. ``fields`` is a read-only mapping that includes the bound context.
    Build one yourself (to test a sink) with ``Event("JOB_QUEUED", "queued", {"job_id": "j1"})``.
    """

    __slots__ = ()

    signal: str = property(itemgetter(0), doc="The signal's name.")  # type: ignore[assignment]
    message: str = property(itemgetter(1), doc="The message, plain text.")  # type: ignore[assignment]
    time_ns: int = property(itemgetter(2), doc="Nanoseconds since the Unix epoch (UTC).")  # type: ignore[assignment]
    level: str | None = property(itemgetter(4), doc="The signal's level, or None.")  # type: ignore[assignment]

    def __new__(
        cls,
        signal: object,
        message: str,
        fields: Mapping[str, object] | None = None,
        *,
        level: str | None = None,
        time_ns: int | None = None,
    ) -> Event:
        from zlog.signals import Signal, normalize_level

        if isinstance(signal, Signal):
            name = signal.name
            level = signal.level if level is None else normalize_level(level)
        elif isinstance(signal, str) and signal:
            name = str.__str__(signal)  # a str subclass (a str Enum, say) becomes its plain value
            level = normalize_level(level)
        else:
            raise TypeError(f"signal must be a non-empty str or zlog.Signal, not {signal!r}")
        if time_ns is None:
            time_ns = _time.time_ns()
        elif not isinstance(time_ns, int) or not 0 <= time_ns < 253402300800 * 10**9:
            raise ValueError(f"time_ns must be an int between year 1970 and 9999, got {time_ns!r}")
        return _new(cls, (name, _text(message), time_ns, dict(fields or {}), level))

    @property
    def fields(self) -> Mapping[str, Any]:
        """The event's fields (bound context first), read-only."""
        return MappingProxyType(self[3])

    @property
    def time(self) -> datetime:
        """When the event was emitted, as an aware UTC datetime (microsecond precision)."""
        from datetime import datetime, timedelta, timezone

        return datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=self[2] // 1000)

    def replace(self, *, message: str | None = None, fields: Mapping[str, object] | None = None) -> Event:
        """Return a copy with a new message and/or new fields (used by processors)."""
        return _new(
            Event,
            (
                self[0],
                self[1] if message is None else _text(message),
                self[2],
                self[3] if fields is None else dict(fields),
                self[4],
            ),
        )

    def __repr__(self) -> str:
        level = f", level={self[4]!r}" if self[4] else ""
        return f"Event({self[0]!r}, {self[1]!r}, {self[3]!r}{level}, time={self.time.isoformat()!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_restore, (tuple(self),))


def _restore(values: tuple[Any, ...]) -> Event:
    return _new(Event, values)


def _text(message: object) -> str:
    """The message as a plain str: a str subclass keeps its value, anything else goes through ``str()``."""
    return str.__str__(message) if isinstance(message, str) else str(message)


def make_event(name: str, message: str, time_ns: int, fields: dict[str, Any], level: str | None) -> Event:
    """Build an event without validation (the router's hot path)."""
    return _new(Event, (name, message, time_ns, fields, level))
