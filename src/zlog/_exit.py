"""Draining sinks when the interpreter exits normally, under one deadline.

Sinks that hold events register here (``Background`` and the stream sinks, buffered ``JSONSink`` and
``AuditSink``, ...). At exit, the ones with ``drain_at_exit`` (they write what they queued, and count
and report what they cannot) go first, then the others are flushed, all within the longest
``exit_timeout`` of them (5 seconds by default), plus ``REPORT_GRACE`` for the sinks that ran out of
time to count and report what they could not write; a sink that blocks cannot hold the exit past it.
"""

from __future__ import annotations

import atexit
import threading
import weakref
from typing import Any

from zlog import _reporting
from zlog._deadline import Deadline
from zlog._sinkcalls import Target, key_of, run, sink_name

__all__ = ["DEFAULT_EXIT_TIMEOUT", "REPORT_GRACE", "default_timeout", "drain", "flush_at_exit", "forget"]

DEFAULT_EXIT_TIMEOUT = 5.0
#: Seconds past the longest ``exit_timeout`` in which sinks report what they could not write.
REPORT_GRACE = 0.5
_sinks: weakref.WeakSet[Any] = weakref.WeakSet()
_lock = threading.Lock()
_registered = False


def flush_at_exit(sink: Any) -> None:
    """Drain or flush ``sink`` at interpreter exit (held weakly: a collected sink is simply skipped)."""
    global _registered
    with _lock:
        _sinks.add(sink)
        if not _registered:
            atexit.register(drain)
            _registered = True


def forget(sink: Any) -> None:
    with _lock:
        _sinks.discard(sink)


def _failed(target: Target, error: BaseException) -> None:
    _reporting.standalone().failed(error, None, sink=target.name)


def default_timeout() -> float:
    """The time the exit drain takes at most: the longest ``exit_timeout`` of the registered sinks
    (``DEFAULT_EXIT_TIMEOUT`` for a sink without one, or when none is registered), plus ``REPORT_GRACE``."""
    with _lock:
        sinks = list(_sinks)
    longest = max(
        (float(getattr(s, "exit_timeout", DEFAULT_EXIT_TIMEOUT)) for s in sinks), default=DEFAULT_EXIT_TIMEOUT
    )
    return longest + REPORT_GRACE


def drain(timeout: float | None = None) -> bool:
    """Drain every registered sink, at most ``timeout`` seconds (default: :func:`default_timeout`).

    The sinks write until ``timeout`` less a grace (``REPORT_GRACE``, at most a quarter of ``timeout``),
    and count and report in the grace what they could not write, before this returns."""
    with _lock:
        sinks = list(_sinks)
    if not sinks:
        return True
    grace = REPORT_GRACE if timeout is None else min(REPORT_GRACE, timeout / 4)  # to count and report
    if timeout is None:
        timeout = default_timeout()
    deadline = Deadline(timeout)
    first = [Target(key_of(s), s, sink_name(s)) for s in sinks if callable(getattr(s, "drain_at_exit", None))]
    rest = [Target(key_of(s), s, sink_name(s)) for s in sinks if not callable(getattr(s, "drain_at_exit", None))]
    drained = run([first], "drain_at_exit", deadline.remaining(), _failed, grace=grace)
    return run([rest], "flush", deadline.remaining(), _failed) and drained
