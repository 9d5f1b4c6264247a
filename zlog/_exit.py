"""Flushing buffered sinks when the interpreter exits normally."""

from __future__ import annotations

import atexit
import contextlib
import threading
import weakref
from typing import Any

_sinks: weakref.WeakSet[Any] = weakref.WeakSet()
_lock = threading.Lock()
_registered = False


def flush_at_exit(sink: Any) -> None:
    """Flush ``sink`` at interpreter exit (held weakly: a collected sink is simply skipped)."""
    global _registered
    with _lock:
        _sinks.add(sink)
        if not _registered:
            atexit.register(_flush_all)
            _registered = True


def forget(sink: Any) -> None:
    with _lock:
        _sinks.discard(sink)


def _flush_all() -> None:
    with _lock:
        sinks = list(_sinks)
    for sink in sinks:
        with contextlib.suppress(Exception):
            drain = getattr(sink, "drain_at_exit", None)
            drain() if callable(drain) else sink.flush()
