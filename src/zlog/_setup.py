"""``enable_standard_logging``: level signals to JSON lines, in one idempotent call."""

from __future__ import annotations

import io
import sys
import threading
import weakref
from typing import IO

from zlog._api import default_router
from zlog.signals import DEBUG, ERROR, FATAL, INFO, LEVELS, WARN, normalize_level
from zlog.sinks.console import ConsoleSink
from zlog.sinks.json import JSONSink

_LEVEL_SIGNALS = (DEBUG, INFO, WARN, ERROR, FATAL)
_lock = threading.Lock()
#: The sinks this function made: their routes are the ones a later call replaces, whatever
#: ``zlog.testing.isolated`` restored in between. The user's own routes are never touched.
_made: weakref.WeakSet[JSONSink | ConsoleSink] = weakref.WeakSet()


def enable_standard_logging(
    level: str = "INFO", stream: IO[str] | IO[bytes] | None = None, *, pretty: bool = False
) -> JSONSink | ConsoleSink:
    """Route the level signals at or above ``level`` to one JSON sink on ``stream`` (stderr by default),
    or with ``pretty=True`` to a ConsoleSink (readable lines, colored on a terminal).

    Calling it again replaces the earlier setup, so lines are never doubled.
    """
    if level is None:
        raise ValueError("enable_standard_logging needs a level such as 'INFO', got None")
    name = normalize_level(level)
    assert name is not None
    threshold = LEVELS.index(name)
    target = sys.stderr if stream is None else stream
    sink: JSONSink | ConsoleSink
    if pretty:
        if isinstance(target, (io.RawIOBase, io.BufferedIOBase)):
            raise TypeError("enable_standard_logging(pretty=True) needs a text stream")
        sink = ConsoleSink(target, name="standard")  # type: ignore[arg-type]
    else:
        sink = JSONSink(target, name="standard")
    with _lock:
        for old in default_router.routes():
            if any(any(s is m for m in _made) for s in old.sinks):
                old.remove()
        _made.add(sink)
        for sig in _LEVEL_SIGNALS:
            if sig.level is not None and LEVELS.index(sig.level) >= threshold:
                default_router.route(sig, sink)
    return sink
