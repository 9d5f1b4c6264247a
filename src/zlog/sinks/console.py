"""``ConsoleSink``: events as readable, colored lines for a developer's terminal."""

from __future__ import annotations

import os
import sys
from typing import IO

from zlog import _encode, _pretty
from zlog.event import Event
from zlog.sinks.base import SinkBase

__all__ = ["ConsoleSink", "use_color"]


def use_color(stream: object, color: bool | None = None) -> bool:
    """``color`` when given; otherwise True when ``stream`` is a terminal and ``NO_COLOR`` is unset."""
    if color is not None:
        return color
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if callable(isatty) else False
    except (OSError, ValueError):
        return False


class ConsoleSink(SinkBase):
    """Writes each event as one line, ``TIME LEVEL SIGNAL message key=value ...``, the same rendering
    as ``zlog tail --format pretty``. Colored when ``color`` is True, or when it is None (the default)
    and the stream is a terminal without ``NO_COLOR``. Control characters are shown escaped, so an
    event can never move the cursor or fake another line. For people, not for shippers: ship JSONSink.
    """

    def __init__(self, stream: IO[str] | None = None, *, color: bool | None = None, name: str = "console") -> None:
        super().__init__(name=name)
        self.stream = sys.stderr if stream is None else stream
        if not callable(getattr(self.stream, "write", None)):
            raise TypeError(f"ConsoleSink needs a writable text stream, got {self.stream!r}")
        self.color = use_color(self.stream, color)
        self._clock = _encode.Clock()
        flush = getattr(self.stream, "flush", None)
        self._flush = flush if callable(flush) else None

    def handle(self, event: Event) -> None:
        if self._closed:
            self._refuse()
        name, message, ns, fields, level = event
        line = _pretty.render(self._clock.stamp(ns), level, name, message, fields, color=self.color) + "\n"
        with self._lock:
            self.stream.write(line)
            if self._flush is not None:
                self._flush()

    def flush(self, timeout: float | None = None) -> bool:
        """Flush the stream (every line is flushed as it is written anyway)."""
        flush = getattr(self.stream, "flush", None)
        if callable(flush):
            flush()
        return True

    def __repr__(self) -> str:
        return f"<ConsoleSink {self.name!r} color={self.color}>"
