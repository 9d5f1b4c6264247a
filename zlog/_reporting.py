"""Counting and reporting sink and processor failures: rate-limited, never recursive."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from zlog import _encode, _fork
from zlog.event import Event
from zlog.signals import ZLOG_PROCESSOR_ERROR, ZLOG_SINK_ERROR

if TYPE_CHECKING:
    from zlog.router import Router

_LIMIT = 16384


class SinkEntry:
    """A routed sink (or a processor) with its name and failure counters."""

    __slots__ = ("errors", "handler", "last_report", "name", "obj", "suppressed")

    def __init__(self, obj: Any, handler: Callable[..., Any], name: str) -> None:
        self.obj = obj
        self.handler = handler
        self.name = name
        self.errors = 0
        self.suppressed = 0
        self.last_report = -float("inf")


class Reporter:
    """Turns a failure into a ZLOG_SINK_ERROR / ZLOG_PROCESSOR_ERROR event.

    At most one report per entry per ``interval`` seconds; the others are counted as ``suppressed``.
    A failure while a report is being delivered is counted but not reported (no recursion).
    When no other sink takes the report, it is written to stderr as one JSON line.
    """

    def __init__(self, router: Router, interval: float) -> None:
        self._router = router
        self._interval = float(interval)
        self._lock = _fork.owned_lock(self)
        self._local = threading.local()
        self.clock: Callable[[], float] = time.monotonic  # replaceable in tests

    def failed(self, entry: SinkEntry, exc: BaseException, event: Event | None, *, processor: bool) -> None:
        busy = getattr(self._local, "busy", False)
        with self._lock:
            entry.errors += 1
            now = self.clock()
            if busy or now - entry.last_report < self._interval:
                entry.suppressed += 1
                return
            entry.last_report = now
            suppressed, entry.suppressed = entry.suppressed, 0
            errors = entry.errors
        what = "processor" if processor else "sink"
        signal = ZLOG_PROCESSOR_ERROR if processor else ZLOG_SINK_ERROR
        failed_signal = event.signal if event is not None else ""
        during = f" handling {failed_signal}" if failed_signal else ""
        report = Event(
            signal,
            f"{what} {entry.name!r} raised {type(exc).__name__}{during}: {_encode.safe_repr(exc)}",
            {
                what: entry.name,
                "error": exc,
                "errors": errors,
                "suppressed": suppressed,
                "failed_signal": failed_signal,
            },
        )
        self._local.busy = True
        try:
            skip = None if processor else entry.handler
            if self._router._deliver(report, skip) == 0:
                _to_stderr(report)
        except Exception:  # pragma: no cover - reporting must never raise into emit
            pass
        finally:
            self._local.busy = False


def _to_stderr(event: Event) -> None:
    stream = sys.stderr
    if stream is None:
        return
    line = _encode.render(
        event.signal, event.message, _encode.Clock().stamp(event.time_ns), event.fields, event.level, _LIMIT
    )
    try:
        stream.write(line.decode("utf-8"))
        stream.flush()
    except Exception:
        pass
