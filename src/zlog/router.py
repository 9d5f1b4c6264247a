"""The router: which sinks get an event, processors on the way, and what happens when a sink fails."""

from __future__ import annotations

import fnmatch
import re
import sys
import threading
import time
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any

from zlog import _aio, _fork
from zlog._reporting import Reporter
from zlog._sinkcalls import Target, check, close_all, flush_all, key_of, sink_name
from zlog.context import CONTEXT
from zlog.event import Event
from zlog.signals import LEVELS, Signal, normalize_level
from zlog.sinks.base import Wrapper
from zlog.typing import Emitter, Processor, SinkLike

__all__ = ["Emitter", "Route", "Router"]

_GLOB = re.compile(r"[*?\[]")
_MAX_CACHED_SIGNALS = 4096
_NO_LEVEL_RANK = LEVELS.index("info")  # a signal without a level passes a threshold as "info" does
_RANK = {name: i for i, name in enumerate(LEVELS)}
_new = tuple.__new__


class Route:
    """A routing rule: a signal name or glob pattern, its sinks, and an optional level threshold.
    Remove it, or use it in ``with``."""

    __slots__ = ("_match", "_router", "level", "pattern", "sinks")

    def __init__(self, router: Router, pattern: str, sinks: tuple[SinkLike, ...], level: str | None) -> None:
        self._router = router
        self.pattern = pattern
        self.sinks = sinks
        self.level = level
        if _GLOB.search(pattern):
            self._match: Callable[[str], object] = re.compile(fnmatch.translate(pattern)).match
        else:
            self._match = pattern.__eq__

    def matches(self, name: str) -> bool:
        """Whether this route takes events of the signal ``name`` (at any level)."""
        return bool(self._match(name))

    def remove(self) -> None:
        """Stop routing; removing twice is harmless."""
        self._router._remove(self)

    def __enter__(self) -> Route:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.remove()

    def __repr__(self) -> str:
        names = ", ".join(sink_name(s) for s in self.sinks)
        level = f" level>={self.level}" if self.level else ""
        return f"Route({self.pattern!r}{level} -> {names})"


class _Entry:
    """A routed sink (or a processor): the object, the callable that takes events, its key and name."""

    __slots__ = ("handler", "key", "name", "obj")

    def __init__(self, obj: Any, handler: Callable[[Event], Any], key: Hashable, name: str) -> None:
        self.obj = obj
        self.handler = handler
        self.key = key
        self.name = name


class _Gated:
    """A sink reached only by routes with a level threshold: passes events at ``rank`` or above."""

    __slots__ = ("entry", "handler", "rank")

    def __init__(self, entry: _Entry, rank: int) -> None:
        self.entry = entry
        self.handler = entry.handler
        self.rank = rank

    def __call__(self, event: Event) -> None:
        level = event[4]
        if (_NO_LEVEL_RANK if level is None else _RANK[level]) >= self.rank:
            self.handler(event)


class Router:
    """Routes each emitted event to the sinks of every route that matches its signal, once each.

    ``strict=True`` makes ``emit`` raise TypeError when a typed signal's fields are wrong.
    ``report_interval`` is the least time in seconds between two error reports for one sink.
    """

    #: ``emit(signal, message, /, **fields)``: the hot path, a function built for this router by
    #: :func:`_build_emit` below (one table lookup for a signal routed nowhere).
    emit: Emitter

    @property
    def strict(self) -> bool:
        """Whether ``emit`` checks typed signals' fields; fixed when the router is made."""
        return self._strict

    def __init__(self, *, strict: bool = False, report_interval: float = 1.0) -> None:
        self._strict = bool(strict)
        self._lock = _fork.owned_lock(self, factory=threading.RLock)
        self._routes: list[Route] = []
        self._table: dict[str, tuple[Callable[[Event], Any], ...]] = {}
        self._sinks: dict[Hashable, _Entry] = {}
        self._by_handler: dict[int, _Entry] = {}  # id(handler) -> entry, for failure reports
        self._processors: tuple[_Entry, ...] = ()
        self._async: _aio.Wrapped[Hashable, Any] = _aio.Wrapped()  # the AsyncSink around each async sink
        self._reporter = Reporter(self._deliver, report_interval)
        self.emit = _build_emit(self)

    # -- routing -----------------------------------------------------------------------------
    def route(self, signal_or_pattern: str | Signal[...], *sinks: SinkLike, level: str | None = None) -> Route:
        """Send events whose signal matches (exact name or glob such as ``"JOB_*"``) to ``sinks``.

        With ``level``, only events at that level or above pass (a signal without a level counts as
        ``info``). A sink that can report its own trouble is attached to this router. An async sink
        (``async def``) is routed through one ``zlog.sinks.AsyncSink``, however many routes name it.
        """
        if isinstance(signal_or_pattern, Signal):
            pattern = signal_or_pattern.name
        elif isinstance(signal_or_pattern, str) and signal_or_pattern:
            pattern = str.__str__(signal_or_pattern)
        else:
            raise TypeError(f"route() needs a signal or a pattern string, got {signal_or_pattern!r}")
        if not sinks:
            raise TypeError(f"route({pattern!r}) needs at least one sink")
        threshold = normalize_level(level)
        with self._lock:
            sinks = tuple(_aio.wrap(obj, self._async) for obj in sinks)
        handlers = [check(obj) for obj in sinks]  # a clear TypeError now rather than at emit time
        route = Route(self, pattern, tuple(sinks), threshold)
        attach: list[tuple[Any, _Entry]] = []
        with self._lock:
            for obj, handler in zip(sinks, handlers, strict=True):
                key = key_of(obj)
                if key not in self._sinks:
                    entry = _Entry(obj, handler, key, self._unique_name(sink_name(obj)))
                    self._sinks[key] = entry
                    self._by_handler[id(handler)] = entry
                    attach.append((obj, entry))
            self._routes.append(route)
            self._table.clear()
        for obj, entry in attach:
            method = getattr(obj, "attach", None)
            if callable(method):
                method(self._reporter.bound(entry.key))
        return route

    def route_all(self, *sinks: SinkLike, level: str | None = None) -> Route:
        """Send every event to ``sinks`` (the same as ``route("*", ...)``)."""
        return self.route("*", *sinks, level=level)

    def routes(self) -> tuple[Route, ...]:
        """The current routes, oldest first."""
        with self._lock:
            return tuple(self._routes)

    def reset(self) -> None:
        """Remove every route and processor (sinks are not flushed or closed)."""
        with self._lock:
            self._routes.clear()
            self._sinks.clear()
            self._by_handler.clear()
            self._processors = ()
            self._table.clear()

    def _remove(self, route: Route) -> None:
        with self._lock:
            if route not in self._routes:
                return
            self._routes.remove(route)
            still = {key_of(s) for r in self._routes for s in r.sinks}
            for key in [k for k in self._sinks if k not in still]:
                entry = self._sinks.pop(key)
                self._by_handler.pop(id(entry.handler), None)
            self._table.clear()

    def _unique_name(self, name: str) -> str:
        taken = {e.name for e in self._sinks.values()} | {e.name for e in self._processors}
        candidate, n = name, 1
        while candidate in taken:
            n += 1
            candidate = f"{name}#{n}"
        return candidate

    def _resolve(self, name: str) -> tuple[Callable[[Event], Any], ...]:
        if not name:
            raise ValueError("emit() needs a signal; the empty string is not one")
        with self._lock:
            thresholds: dict[Hashable, int | None] = {}  # per sink: the lowest threshold of its routes
            for route in self._routes:
                if route.matches(name):
                    rank = None if route.level is None else _RANK[route.level]
                    for obj in route.sinks:
                        key = key_of(obj)
                        if key not in thresholds:
                            thresholds[key] = rank
                        else:  # the most permissive of its routes wins: no threshold beats any
                            known = thresholds[key]
                            thresholds[key] = None if rank is None or known is None else min(rank, known)
            handlers: list[Callable[[Event], Any]] = []
            for key, rank in thresholds.items():
                entry = self._sinks[key]
                handlers.append(entry.handler if rank is None else _Gated(entry, rank))
            resolved = tuple(handlers)
            if len(self._table) < _MAX_CACHED_SIGNALS:
                self._table[name] = resolved
        return resolved

    def sinks_for(self, signal: str | Signal[...]) -> tuple[SinkLike, ...]:
        """The sinks an event of ``signal`` would reach, in routing order (whatever its level)."""
        handlers = self._resolve(_name_of(signal))
        return tuple(entry.obj for entry in (self._entry_of(h) for h in handlers) if entry is not None)

    def _entry_of(self, handler: Callable[[Event], Any]) -> _Entry | None:
        if isinstance(handler, _Gated):
            return handler.entry
        with self._lock:
            return self._by_handler.get(id(handler))

    # -- processors ----------------------------------------------------------------------------
    def add_processor(self, processor: Processor, *, name: str | None = None) -> Processor:
        """Run ``processor(event) -> Event | None`` on every event before the sinks (None drops it)."""
        if not callable(processor):
            raise TypeError(f"a processor is a callable processor(event) -> Event | None, got {processor!r}")
        with self._lock:
            label = self._unique_name(name or sink_name(processor))
            self._processors = (*self._processors, _Entry(processor, processor, id(processor), label))
        return processor

    def remove_processor(self, processor: Processor) -> None:
        """Remove a processor added with ``add_processor``; removing twice is harmless."""
        with self._lock:
            self._processors = tuple(e for e in self._processors if e.obj is not processor)

    def processors(self) -> tuple[Processor, ...]:
        """The processors, in the order they run."""
        return tuple(e.obj for e in self._processors)

    def _process(self, event: Event) -> Event | None:
        for entry in self._processors:
            try:
                result = entry.handler(event)
            except BaseException as exc:
                if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                    raise
                self._reporter.failed(entry.name, exc, event, processor=True)
                continue
            if result is None:
                return None
            if not isinstance(result, Event):
                bad = TypeError(f"processor returned {type(result).__name__}, expected Event or None")
                self._reporter.failed(entry.name, bad, event, processor=True)
                continue
            event = result
        return event

    # -- failures and reports --------------------------------------------------------------------
    def _sink_failed(self, handler: Callable[[Event], Any], exc: BaseException, event: Event | None) -> None:
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise exc
        entry = self._entry_of(handler)
        if entry is None:  # the sink was unrouted while the event was in flight
            self._reporter.failed(sink_name(handler), exc, event, origin=key_of(handler))
        else:
            self._reporter.failed(entry.name, exc, event, origin=entry.key)

    def _deliver(self, report: Event, origin: Hashable | None) -> int:
        """Deliver a report event to every sink routed for it but ``origin``; how many took it."""
        if self._processors:
            processed = self._process(report)
            if processed is None:
                return 1  # a processor chose to drop it: delivered as configured
            report = processed
        delivered = 0
        for handler in self._resolve(report[0]):
            entry = self._entry_of(handler)
            if entry is not None and entry.key == origin:
                continue  # never a sink's own report: it may be the very thing that is failing
            try:
                handler(report)
                delivered += 1
            except BaseException as exc:
                self._sink_failed(handler, exc, report)
        return delivered

    def sink_errors(self) -> dict[str, int]:
        """How many times each sink (by name) has failed: raised in ``handle``, ``flush`` or ``close``,
        including inner sinks of wrappers that reported their failures."""
        with self._lock:
            names = [e.name for e in self._sinks.values()]
        errors = dict(self._reporter.errors)
        processors = {e.name for e in self._processors}
        out = {name: errors.pop(name, 0) for name in names}
        out.update({name: n for name, n in errors.items() if name not in processors})
        return out

    def dropped(self) -> dict[str, int]:
        """How many events each sink (by name) has reported dropped."""
        return dict(self._reporter.dropped)

    # -- lifecycle -----------------------------------------------------------------------------
    def _groups(self) -> list[list[Target]]:
        """The routed sinks, wrappers first: what they report at flush or close reaches the others."""
        with self._lock:
            entries = list(self._sinks.values())
        targets = [Target(e.key, e.obj, e.name) for e in entries]
        wrappers = [t for t in targets if isinstance(t.obj, Wrapper)]
        return [wrappers, [t for t in targets if not isinstance(t.obj, Wrapper)]]

    def _call_failed(self, target: Target, error: BaseException) -> None:
        self._reporter.failed(target.name, error, None, origin=target.key)

    def flush(self, timeout: float | None = None) -> bool:
        """Flush every routed sink; False only if ``timeout`` seconds ran out first.

        One deadline holds for all the sinks together, and the call returns by it whatever a sink does.
        A flush that raises is counted and reported (``sink_errors()``, ``ZLOG_SINK_ERROR``).
        """
        return flush_all(self._groups(), timeout, self._call_failed)

    def close(self, timeout: float | None = None) -> bool:
        """Close every routed sink (flushing it), under one deadline, then remove every route.

        Wrappers are closed first, so what they report on the way out (events they could not write)
        still reaches the other sinks. Processors stay. False if ``timeout`` ran out first.
        """
        closed = close_all(self._groups(), timeout, self._call_failed)
        with self._lock:
            self._routes.clear()
            self._sinks.clear()
            self._by_handler.clear()
            self._table.clear()
        return closed

    async def aflush(self, timeout: float | None = None) -> bool:
        """``flush`` for a coroutine: it runs on another thread while the event loop keeps running, and
        returns by ``timeout`` (False if the time ran out)."""
        return await _aio.off_loop(self.flush, timeout)

    async def aclose(self, timeout: float | None = None) -> bool:
        """``close`` for a coroutine: it runs on another thread while the event loop keeps running, and
        returns by ``timeout`` (False if the time ran out)."""
        return await _aio.off_loop(self.close, timeout)

    # -- isolation -----------------------------------------------------------------------------
    @contextmanager
    def isolated(self) -> Iterator[Router]:
        """Run the block with no routes and no processors, then restore the ones there were."""
        with self._lock:
            state = (list(self._routes), dict(self._sinks), dict(self._by_handler), self._processors)
        self.reset()
        try:
            yield self
        finally:
            routes, sinks, by_handler, processors = state
            with self._lock:
                self._routes[:] = routes
                self._sinks.clear()
                self._sinks.update(sinks)
                self._by_handler.clear()
                self._by_handler.update(by_handler)
                self._processors = processors
                self._table.clear()

    def __repr__(self) -> str:
        return f"<zlog.Router routes={len(self._routes)} strict={self.strict}>"


def _build_emit(router: Router) -> Emitter:
    """Build ``router.emit``. Its inner ``emit`` is the whole hot path of zlog.

    A signal routed nowhere costs one dict lookup. Otherwise: context merged, the Event built as a
    plain tuple, processors run (if any), each sink called; a sink that raises anything but
    KeyboardInterrupt or SystemExit is counted and reported, and the next sink still gets the event.
    """
    table = router._table
    resolve = router._resolve
    ctx_get = CONTEXT.get
    now = time.time_ns
    failed = router._sink_failed

    def emit(signal: Any, message: Any, /, *args: Any, **fields: Any) -> None:
        if signal.__class__ is Signal:
            name = signal.name
        elif signal.__class__ is str:
            name = signal
        else:
            name = _name_of(signal)
        try:
            sinks = table[name]
        except KeyError:
            sinks = resolve(name)
        if not sinks:
            return
        level = signal.level if signal.__class__ is not str and isinstance(signal, Signal) else None
        ctx = ctx_get()
        if ctx:
            fields = {**ctx, **fields}
        if args:  # a logging-style call, emit(SIG, "%s failed", job_id): kept, never an error
            fields["args"] = list(args)
        if "exc_info" in fields:
            _take_exc_info(fields)
        if message.__class__ is not str:
            message = _text(message)
        event = _new(Event, (name, message, now(), fields, level))
        if router._processors:
            processed = router._process(event)
            if processed is None:
                return
            event = processed
        for sink in sinks:
            try:
                sink(event)
            except BaseException as exc:  # failed() re-raises KeyboardInterrupt and SystemExit
                failed(sink, exc, event)

    if not router.strict:
        return emit

    def emit_strict(signal: Any, message: Any, /, *args: Any, **fields: Any) -> None:
        if args:
            raise TypeError(
                f"emit() takes a signal, a message and keyword fields; got {len(args)} more "
                "positional argument(s) (strict mode)"
            )
        if isinstance(signal, Signal):
            signal.validate(fields)
        emit(signal, message, **fields)

    return emit_strict


def _name_of(signal: object) -> str:
    """The routing name of a signal: a Signal's name or a (subclass of) str's value."""
    if isinstance(signal, Signal):
        return signal.name
    if isinstance(signal, str) and signal:
        return str.__str__(signal)
    raise TypeError(f"emit() needs a signal (a non-empty str or zlog.Signal), got {signal!r}")


def _take_exc_info(fields: dict[str, Any]) -> None:
    value = fields.pop("exc_info")
    if value is True:
        value = sys.exc_info()[1]
    elif isinstance(value, tuple) and len(value) == 3:
        value = value[1]
    if isinstance(value, BaseException):
        fields["error" if "error" not in fields else "exc_info"] = value
    elif value is not None and value is not False:  # identity: ``==`` on a user's object may raise
        fields["exc_info"] = value  # not an exception: kept as an ordinary field


def _text(message: object) -> str:
    """A message that is not a str as text; whatever its ``__str__`` does, never an error."""
    try:
        text = str(message)
        return text if text.__class__ is str else str.__str__(text)
    except BaseException as exc:
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
    from zlog import _encode  # the slow path only

    try:
        return _encode.safe_repr(message)
    except BaseException as exc:
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        return f"<unprintable {type(message).__qualname__}>"
