"""One place for trouble: failures, drops and state changes become events, counted per name.

Every part of zlog that fails or drops something reports it here: the router (a sink or processor that
raised, a flush that failed), ``Background`` and the stream sinks (full queues, events left at close or
exit), the resilience wrappers (state changes, rate-limit drops) and the alert notifier. A report is an
event (``ZLOG_SINK_ERROR``, ``ZLOG_PROCESSOR_ERROR``, ``ZLOG_EVENTS_DROPPED``, ``ZLOG_SINK_STATE``)
delivered through the router's routes, except to the sink it is about; with no router, or when no sink
takes it, it is written to stderr as one JSON line. Nothing is lost silently.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Hashable

from zlog import _fork
from zlog.event import Event
from zlog.signals import ZLOG_EVENTS_DROPPED, ZLOG_PROCESSOR_ERROR, ZLOG_SINK_ERROR, ZLOG_SINK_STATE

__all__ = ["Deliver", "Reporter", "SinkReporter", "standalone"]

_LINE_LIMIT = 16384
#: ``deliver(report, origin)``: hand a report to every routed sink but ``origin``; how many took it.
Deliver = Callable[[Event, "Hashable | None"], int]


class Reporter:
    """Counts and reports trouble for one router (or, with ``deliver=None``, for stderr only).

    Failures and drops are rate-limited per name: at most one report per ``interval`` seconds, the
    rest counted in the next report's ``suppressed`` (failures) or ``dropped`` (drops). A failure while
    a report is being delivered is counted but not reported (no recursion).
    """

    def __init__(self, deliver: Deliver | None, interval: float = 1.0) -> None:
        self._deliver = deliver
        self.interval = float(interval)
        self._lock = _fork.owned_lock(self)
        self._local = threading.local()
        self.errors: dict[str, int] = {}
        self.dropped: dict[str, int] = {}
        self._suppressed: dict[str, int] = {}
        self._unreported_drops: dict[str, int] = {}
        self._drop_reason: dict[str, tuple[str, str]] = {}  # name -> (reason, policy) of its latest drop
        self._last: dict[tuple[str, str], float] = {}
        self.clock: Callable[[], float] = time.monotonic  # replaceable in tests

    def bound(self, origin: Hashable | None) -> SinkReporter:
        """The reporter a sink gets from ``attach``: its reports skip ``origin`` (the routed sink)."""
        return SinkReporter(self, origin)

    def _due(self, kind: str, name: str) -> bool:
        """Under the lock: whether a report of ``kind`` for ``name`` may go out now."""
        now = self.clock()
        key = (kind, name)
        if now - self._last.get(key, -float("inf")) < self.interval:
            return False
        self._last[key] = now
        return True

    def failed(
        self,
        name: str,
        error: BaseException,
        event: Event | None,
        *,
        origin: Hashable | None = None,
        processor: bool = False,
    ) -> None:
        """Count a failure of the sink or processor ``name``; report it unless rate-limited."""
        busy = getattr(self._local, "busy", False)
        kind = "processor" if processor else "sink"
        with self._lock:
            errors = self.errors[name] = self.errors.get(name, 0) + 1
            if busy or not self._due(kind, name):
                self._suppressed[name] = self._suppressed.get(name, 0) + 1
                return
            suppressed = self._suppressed.pop(name, 0)
        from zlog._encode import safe_repr

        failed_signal = event[0] if event is not None else ""
        during = f" handling {failed_signal}" if failed_signal else ""
        report = Event(
            ZLOG_PROCESSOR_ERROR if processor else ZLOG_SINK_ERROR,
            f"{kind} {name!r} raised {type(error).__name__}{during}: {safe_repr(error)}",
            {kind: name, "error": error, "errors": errors, "suppressed": suppressed, "failed_signal": failed_signal},
        )
        self._send(report, None if processor else origin)

    def dropped_events(
        self, name: str, count: int, reason: str, *, policy: str = "", origin: Hashable | None = None
    ) -> None:
        """Count ``count`` events that ``name`` dropped; report them (with any not yet reported) unless
        rate-limited: a drop is always counted, and reported at the latest with the next report."""
        if count <= 0:
            return
        busy = getattr(self._local, "busy", False)
        with self._lock:
            total = self.dropped[name] = self.dropped.get(name, 0) + count
            pending = self._unreported_drops[name] = self._unreported_drops.get(name, 0) + count
            self._drop_reason[name] = (reason, policy)
            if busy or not self._due("dropped", name):
                return
            del self._unreported_drops[name]
        report = Event(
            ZLOG_EVENTS_DROPPED,
            f"{name} dropped {pending} events: {reason}",
            {"sink": name, "dropped": pending, "total_dropped": total, "policy": policy, "reason": reason},
        )
        self._send(report, origin)

    def flush_drops(self, name: str, *, origin: Hashable | None = None) -> None:
        """Report the drops of ``name`` that rate-limiting held back (at close and exit)."""
        with self._lock:
            pending = self._unreported_drops.pop(name, 0)
            total = self.dropped.get(name, 0)
            reason, policy = self._drop_reason.get(name, ("", ""))
        if pending:
            report = Event(
                ZLOG_EVENTS_DROPPED,
                f"{name} dropped {pending} events: {reason}",
                {"sink": name, "dropped": pending, "total_dropped": total, "policy": policy, "reason": reason},
            )
            self._send(report, origin)

    def state(self, name: str, state: str, previous: str, reason: str, *, origin: Hashable | None = None) -> None:
        """Report that ``name`` (a wrapper) changed state; never rate-limited, never recursive."""
        if getattr(self._local, "busy", False):
            return
        report = Event(
            ZLOG_SINK_STATE,
            f"{name}: {previous} -> {state}: {reason}",
            {"sink": name, "state": state, "previous": previous, "reason": reason},
        )
        self._send(report, origin)

    def _send(self, report: Event, origin: Hashable | None) -> None:
        self._local.busy = True
        try:
            taken = 0 if self._deliver is None else self._deliver(report, origin)
            if taken == 0:
                write_stderr(report)
        except Exception:  # pragma: no cover - delivery counts its own failures; reporting never raises
            pass
        finally:
            self._local.busy = False


class SinkReporter:
    """A ``Reporter`` bound to the routed sink that reports through it (``zlog.typing.Reporter``)."""

    __slots__ = ("_origin", "_reporter")

    def __init__(self, reporter: Reporter, origin: Hashable | None) -> None:
        self._reporter = reporter
        self._origin = origin

    def failed(self, error: BaseException, event: Event | None = None, *, sink: str) -> None:
        self._reporter.failed(sink, error, event, origin=self._origin)

    def dropped(self, count: int, reason: str, *, sink: str, policy: str = "") -> None:
        self._reporter.dropped_events(sink, count, reason, policy=policy, origin=self._origin)

    def pending_drops(self, *, sink: str) -> None:
        """Report drops that rate-limiting held back (called at close and at exit)."""
        self._reporter.flush_drops(sink, origin=self._origin)

    def state(self, state: str, previous: str, reason: str, *, sink: str) -> None:
        self._reporter.state(sink, state, previous, reason, origin=self._origin)


_STANDALONE = Reporter(None)


def standalone() -> SinkReporter:
    """The reporter of a sink that no router has attached: every report goes to stderr."""
    return _STANDALONE.bound(None)


def write_stderr(event: Event) -> None:
    """One JSON line for ``event`` on stderr; silent if stderr is gone."""
    from zlog import _encode

    stream = sys.stderr
    if stream is None:
        return
    line = _encode.render(event[0], event[1], _encode.Clock().stamp(event[2]), event[3], event[4], _LINE_LIMIT)
    try:
        stream.write(line.decode("utf-8"))
        stream.flush()
    except Exception:
        pass
