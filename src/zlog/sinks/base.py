"""The bases of zlog's own sinks, the sink decorator, and the error of a closed sink.

The contract every sink keeps is in :mod:`zlog.typing` and docs/sinks/writing.md. ``SinkBase`` gives a
sink its name, a lock that a forked child re-creates, the closed state (``handle`` after ``close``
raises :class:`SinkClosedError`, counted in ``refused``), the reporter the router attaches, and
``stats()``. ``Wrapper`` adds inner sinks that are attached, flushed and closed with it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, NoReturn

from zlog import _fork, _reporting
from zlog._deadline import Deadline
from zlog._sinkcalls import Target, check, close_all, flush_all, key_of, sink_name
from zlog.event import Event
from zlog.typing import Reporter, SinkLike

__all__ = ["NamedSink", "SinkBase", "SinkClosedError", "Wrapper", "sink"]


class SinkClosedError(RuntimeError):
    """An event was handed to a sink after its ``close()``: counted by the sink and reported by the router."""


class SinkBase:
    """A name, a fork-safe lock (``_lock``), the closed state, an attached reporter and ``stats()``.

    Subclasses define ``handle(event)``, check ``self._closed`` in it (``self._refuse()`` raises), and
    override ``flush(timeout)`` and ``_release(timeout)`` (what ``close`` does after marking the sink
    closed; by default a flush) when they hold anything. ``_after_fork()`` resets what a forked child
    must not share with its parent.
    """

    name: str

    def __init__(self, *, name: str) -> None:
        if not isinstance(name, str) or not name:
            raise TypeError(f"a sink name must be a non-empty str, got {name!r}")
        self.name = name
        self._lock = threading.Lock()
        self._closed = False
        self.refused = 0
        self._reporter: Reporter = _reporting.standalone()
        _fork.after_fork_in_child(self, SinkBase._forked)

    def _forked(self) -> None:
        self._lock = threading.Lock()
        self._after_fork()

    def _after_fork(self) -> None:
        """In a forked child, before anything else runs: reset per-process state (nothing by default)."""

    def attach(self, reporter: Reporter, /) -> None:
        """Report trouble through ``reporter`` (the router calls this when the sink is routed)."""
        self._reporter = reporter

    @property
    def closed(self) -> bool:
        """Whether ``close()`` was called; a closed sink refuses events."""
        return self._closed

    def _refuse(self) -> NoReturn:
        self.refused += 1
        raise SinkClosedError(f"sink {self.name!r} is closed: handle() after close()")

    def flush(self, timeout: float | None = None) -> bool:
        """Push what the sink holds to its destination; False only when ``timeout`` ran out."""
        return True

    def close(self, timeout: float | None = None) -> bool:
        """Flush and release; later events are refused. Closing twice is harmless (True)."""
        with self._lock:
            if self._closed:
                return True
            self._closed = True
        try:
            return self._release(timeout)
        finally:
            self._reporter.pending_drops(sink=self.name)  # drops that rate-limiting held back: reported now

    def _release(self, timeout: float | None) -> bool:
        """What ``close`` does once the sink is marked closed: flush, by default."""
        return self.flush(timeout)

    def stats(self) -> dict[str, Any]:
        """Counters and state, as plain data (subclasses add theirs)."""
        return {"name": self.name, "closed": self._closed, "refused": self.refused}

    def __repr__(self) -> str:
        state = " closed" if self._closed else ""
        return f"<{type(self).__name__} {self.name!r}{state}>"


class Wrapper(SinkBase):
    """A sink that hands events to ``inner`` sinks (``Background``, the resilience and filter wrappers).

    ``attach`` passes the reporter on, so inner sinks report as the routed wrapper; ``flush`` and
    ``close`` reach every inner sink under the one deadline given (a blocked inner sink cannot hold the
    caller past it). Flush and close failures of an inner sink are reported under its own name.
    """

    #: Whether the inner sinks may be async (only ``AsyncSink``, which awaits them, says yes).
    _takes_async = False

    def __init__(self, *inner: SinkLike, name: str) -> None:
        super().__init__(name=name)
        if not inner:
            raise TypeError(f"{type(self).__name__} needs a sink to wrap")
        self.inner = tuple(inner)
        self._handlers = tuple(check(s, async_ok=self._takes_async) for s in inner)

    def attach(self, reporter: Reporter, /) -> None:
        super().attach(reporter)
        for inner in self.inner:
            attach = getattr(inner, "attach", None)
            if callable(attach):
                attach(reporter)

    def _targets(self) -> list[Target]:
        return [Target(key_of(s), s, sink_name(s)) for s in self.inner]

    def _inner_failed(self, target: Target, error: BaseException) -> None:
        self._reporter.failed(error, None, sink=target.name)

    def flush(self, timeout: float | None = None) -> bool:
        """Flush every inner sink, under one deadline; False if ``timeout`` ran out first."""
        return flush_all([self._targets()], timeout, self._inner_failed)

    def _release(self, timeout: float | None) -> bool:
        deadline = Deadline(timeout)
        own = self._stop(deadline.remaining())
        return close_all([self._targets()], deadline.remaining(), self._inner_failed) and own

    def _stop(self, timeout: float | None) -> bool:
        """What the wrapper itself does at close, before its inner sinks are closed (nothing by default)."""
        return True


class NamedSink:
    """A function sink with a name, made by ``@zlog.sink("name")``; still callable as before."""

    __slots__ = ("func", "handle", "name")

    def __init__(self, name: str, func: Callable[[Event], Any]) -> None:
        self.name = name
        self.func = func
        self.handle = func  # the router calls the function itself: no extra call per event

    def __call__(self, event: Event) -> None:
        self.func(event)

    def __repr__(self) -> str:
        return f"<sink {self.name!r}>"


def sink(name: str) -> Callable[[Callable[[Event], Any]], NamedSink]:
    """Name a function sink; the name is used in error reports and ``Router.sink_errors()``."""
    if not isinstance(name, str) or not name:
        raise TypeError(f"sink name must be a non-empty str, got {name!r}")

    def decorate(func: Callable[[Event], Any]) -> NamedSink:
        if not callable(func):
            raise TypeError(f"@zlog.sink({name!r}) decorates a callable, got {func!r}")
        return NamedSink(name, func)

    return decorate
