"""The router: which sinks get an event, processors on the way, and what happens when a sink fails."""

from __future__ import annotations

import fnmatch
import inspect
import re
import sys
import threading
import time
from collections.abc import Callable, Hashable
from types import BuiltinMethodType, MethodType, ModuleType, TracebackType
from typing import Any, Protocol, overload

from typing_extensions import ParamSpec

from zlog import _encode, _fork
from zlog._reporting import Reporter, SinkEntry
from zlog.context import CONTEXT
from zlog.event import Event
from zlog.signals import Signal
from zlog.sinks.base import SinkLike, handler_of, sink_name

__all__ = ["Emitter", "Processor", "Route", "Router"]

P = ParamSpec("P")
Processor = Callable[[Event], "Event | None"]
_GLOB = re.compile(r"[*?\[]")
_MAX_CACHED_SIGNALS = 4096
_new = tuple.__new__


class Emitter(Protocol):
    """The type of ``Router.emit`` and ``zlog.emit``: typed signals get their fields checked."""

    @overload
    def __call__(self, signal: Signal[P], message: str, /, *args: P.args, **kwargs: P.kwargs) -> None: ...
    @overload
    def __call__(self, signal: str, message: str, /, **fields: Any) -> None: ...


class Route:
    """A routing rule: a signal name or glob pattern and its sinks. Remove it, or use it in ``with``."""

    __slots__ = ("_match", "_router", "pattern", "sinks")

    def __init__(self, router: Router, pattern: str, sinks: tuple[SinkLike, ...]) -> None:
        self._router = router
        self.pattern = pattern
        self.sinks = sinks
        if _GLOB.search(pattern):
            self._match: Callable[[str], object] = re.compile(fnmatch.translate(pattern)).match
        else:
            self._match = pattern.__eq__

    def matches(self, name: str) -> bool:
        """Whether this route takes events of the signal ``name``."""
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
        return f"Route({self.pattern!r} -> {names})"


class Router:
    """Routes each emitted event to the sinks of every route that matches its signal, once each.

    ``strict=True`` makes ``emit`` raise TypeError when a typed signal's fields are wrong.
    ``report_interval`` is the least time in seconds between two error reports for one sink.
    """

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
        self._sinks: dict[Hashable, SinkEntry] = {}
        self._processors: tuple[SinkEntry, ...] = ()
        self._reporter = Reporter(self, report_interval)
        self.emit = self._make_emit()

    # -- routing -----------------------------------------------------------------------------
    def route(self, signal_or_pattern: str | Signal[...], *sinks: SinkLike) -> Route:
        """Send events whose signal matches (exact name or glob such as ``"JOB_*"``) to ``sinks``."""
        if isinstance(signal_or_pattern, Signal):
            pattern = signal_or_pattern.name
        elif isinstance(signal_or_pattern, str) and signal_or_pattern:
            pattern = str.__str__(signal_or_pattern)
        else:
            raise TypeError(f"route() needs a signal or a pattern string, got {signal_or_pattern!r}")
        if not sinks:
            raise TypeError(f"route({pattern!r}) needs at least one sink")
        for obj in sinks:
            handler_of(obj)  # a clear TypeError now rather than at emit time
        route = Route(self, pattern, tuple(sinks))
        with self._lock:
            for obj in sinks:
                if _key(obj) not in self._sinks:
                    self._sinks[_key(obj)] = SinkEntry(obj, handler_of(obj), self._unique_name(sink_name(obj)))
            self._routes.append(route)
            self._table.clear()
        return route

    def route_all(self, *sinks: SinkLike) -> Route:
        """Send every event to ``sinks`` (the same as ``route("*", ...)``)."""
        return self.route("*", *sinks)

    def routes(self) -> tuple[Route, ...]:
        """The current routes, oldest first."""
        with self._lock:
            return tuple(self._routes)

    def reset(self) -> None:
        """Remove every route and processor (sinks are not flushed or closed)."""
        with self._lock:
            self._routes.clear()
            self._sinks.clear()
            self._processors = ()
            self._table.clear()

    def _remove(self, route: Route) -> None:
        with self._lock:
            if route not in self._routes:
                return
            self._routes.remove(route)
            still = {_key(s) for r in self._routes for s in r.sinks}
            for key in [k for k in self._sinks if k not in still]:
                del self._sinks[key]
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
            seen: set[Hashable] = set()
            handlers: list[Callable[[Event], Any]] = []
            for route in self._routes:
                if route.matches(name):
                    for obj in route.sinks:
                        key = _key(obj)
                        if key not in seen:
                            seen.add(key)
                            handlers.append(self._sinks[key].handler)
            resolved = tuple(handlers)
            if len(self._table) < _MAX_CACHED_SIGNALS:
                self._table[name] = resolved
        return resolved

    def sinks_for(self, signal: str | Signal[...]) -> tuple[SinkLike, ...]:
        """The sinks an event of ``signal`` would reach, in routing order."""
        handlers = self._resolve(_name_of(signal))
        entries = self._entries()
        return tuple(e.obj for h in handlers for e in entries if e.handler is h)

    # -- processors ----------------------------------------------------------------------------
    def add_processor(self, processor: Processor, *, name: str | None = None) -> Processor:
        """Run ``processor(event) -> Event | None`` on every event before the sinks (None drops it)."""
        if not callable(processor):
            raise TypeError(f"a processor is a callable processor(event) -> Event | None, got {processor!r}")
        with self._lock:
            label = self._unique_name(name or sink_name(processor))
            self._processors = (*self._processors, SinkEntry(processor, processor, label))
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
            except Exception as exc:
                self._reporter.failed(entry, exc, event, processor=True)
                continue
            if result is None:
                return None
            if not isinstance(result, Event):
                bad = TypeError(f"processor returned {type(result).__name__}, expected Event or None")
                self._reporter.failed(entry, bad, event, processor=True)
                continue
            event = result
        return event

    # -- emitting ------------------------------------------------------------------------------
    def _make_emit(self) -> Emitter:
        table = self._table
        resolve = self._resolve
        ctx_get = CONTEXT.get
        now = time.time_ns
        router = self
        failed = self._sink_failed

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
                except Exception as exc:
                    failed(sink, exc, event)

        if not self.strict:
            return emit

        def emit_strict(signal: Any, message: Any, /, *args: Any, **fields: Any) -> None:
            if args:
                raise TypeError(f"emit() takes a signal, a message and keyword fields; got {len(args)} more "
                                "positional argument(s) (strict mode)")
            if isinstance(signal, Signal):
                signal.validate(fields)
            emit(signal, message, **fields)

        return emit_strict

    def _sink_failed(self, handler: Callable[[Event], Any], exc: Exception, event: Event | None) -> None:
        with self._lock:
            entry = next((e for e in self._sinks.values() if e.handler is handler), None)
        if entry is None:  # the sink was unrouted while the event was in flight
            entry = SinkEntry(handler, handler, sink_name(handler))
        self._reporter.failed(entry, exc, event, processor=False)

    def _deliver(self, event: Event, skip: Callable[[Event], Any] | None) -> int:
        """Deliver a report event; returns how many sinks took it."""
        if self._processors:
            processed = self._process(event)
            if processed is None:
                return 1  # a processor chose to drop it: delivered as configured
            event = processed
        delivered = 0
        for handler in self._resolve(event[0]):
            if handler is skip:
                continue
            try:
                handler(event)
                delivered += 1
            except Exception as exc:
                self._sink_failed(handler, exc, event)
        return delivered

    def sink_errors(self) -> dict[str, int]:
        """How many times each routed sink (by name) has raised, including failed flushes."""
        with self._lock:
            return {e.name: e.errors for e in self._sinks.values()}

    # -- lifecycle -----------------------------------------------------------------------------
    def _entries(self) -> list[SinkEntry]:
        with self._lock:
            return list(self._sinks.values())

    def flush(self, timeout: float | None = None) -> bool:
        """Flush every sink that has ``flush()``; False if ``timeout`` seconds ran out first.

        A sink whose ``flush`` takes a ``timeout`` (such as ``Background``) gets the time that is left.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        done = True
        for entry in self._entries():
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return False
            done = self._call(entry, "flush", remaining) is not False and done
        return done

    def close(self, timeout: float | None = None) -> None:
        """Flush and close every sink that has ``close()``, then remove every route (processors stay)."""
        self.flush(timeout)
        for entry in self._entries():
            self._call(entry, "close", timeout)
        with self._lock:
            self._routes.clear()
            self._sinks.clear()
            self._table.clear()

    def _call(self, entry: SinkEntry, method: str, timeout: float | None) -> object:
        func = getattr(entry.obj, method, None)
        if not callable(func):
            return None
        try:
            return func(timeout=timeout) if _takes_timeout(func) else func()
        except Exception as exc:
            self._reporter.failed(entry, exc, None, processor=False)
            return False

    # -- isolation for zlog.testing ------------------------------------------------------------
    def _snapshot(self) -> tuple[list[Route], dict[Hashable, SinkEntry], tuple[SinkEntry, ...]]:
        with self._lock:
            return list(self._routes), dict(self._sinks), self._processors

    def _restore(self, state: tuple[list[Route], dict[Hashable, SinkEntry], tuple[SinkEntry, ...]]) -> None:
        routes, sinks, processors = state
        with self._lock:
            self._routes[:] = routes
            self._sinks.clear()
            self._sinks.update(sinks)
            self._processors = processors
            self._table.clear()

    def __repr__(self) -> str:
        return f"<zlog.Router routes={len(self._routes)} strict={self.strict}>"


def _key(sink: object) -> Hashable:
    """What makes two routed sinks the same sink: identity, except that a bound method
    (``got.append``, ``obj.handle``: a new object at each access) is keyed by its object and function."""
    owner = getattr(sink, "__self__", None)
    if owner is not None and isinstance(sink, (MethodType, BuiltinMethodType)) and not isinstance(owner, ModuleType):
        return (id(owner), getattr(sink, "__func__", None) or sink.__name__)
    return id(sink)


def _takes_timeout(func: Callable[..., Any]) -> bool:
    try:
        return "timeout" in inspect.signature(func).parameters
    except (TypeError, ValueError):
        return False


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
    try:
        return str(message)
    except Exception:
        return _encode.safe_repr(message)

