"""``enable_standard_logging``: level signals to JSON lines, in one idempotent call."""

from __future__ import annotations

import sys
import threading
from typing import IO

from zlog._api import default_router
from zlog.router import Route
from zlog.signals import DEBUG, ERROR, FATAL, INFO, LEVELS, WARN, normalize_level
from zlog.sinks.json import JSONSink

_LEVEL_SIGNALS = (DEBUG, INFO, WARN, ERROR, FATAL)
_lock = threading.Lock()
_routes: list[Route] = []


def enable_standard_logging(level: str = "INFO", stream: IO[str] | IO[bytes] | None = None) -> JSONSink:
    """Route the level signals at or above ``level`` to one JSON sink on ``stream`` (stderr by default).

    Calling it again replaces the earlier setup, so lines are never doubled.
    """
    name = normalize_level(level)
    assert name is not None
    threshold = LEVELS.index(name)
    sink = JSONSink(sys.stderr if stream is None else stream, name="standard")
    with _lock:
        for old in _routes:
            old.remove()
        _routes[:] = [
            default_router.route(sig, sink)
            for sig in _LEVEL_SIGNALS
            if sig.level is not None and LEVELS.index(sig.level) >= threshold
        ]
    return sink
