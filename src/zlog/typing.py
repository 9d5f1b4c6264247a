"""The contract between zlog's router and its pluggable parts: sinks, processors and reporters.

A sink is a callable ``sink(event)`` or an object with ``handle(event)`` (either may be ``async``); it
may add ``handle_batch``, ``flush``, ``close`` and ``attach``. The router calls ``flush(timeout=...)``
and ``close(timeout=...)`` with keyword ``timeout`` (None or seconds) and reads a False return as "the
time ran out". The whole contract, and how to write a sink that keeps it, is in docs/sinks/writing.md.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, overload, runtime_checkable

from zlog.event import Event
from zlog.signals import Signal

if TYPE_CHECKING:
    from typing_extensions import ParamSpec
else:
    from typing import ParamSpec

__all__ = [
    "Attachable",
    "BatchSink",
    "Closable",
    "CoroutineSink",
    "Emitter",
    "Flushable",
    "Processor",
    "Reporter",
    "Sink",
    "SinkLike",
]

P = ParamSpec("P")


class Emitter(Protocol):
    """The type of ``Router.emit`` and ``zlog.emit``: typed signals get their fields checked."""

    @overload
    def __call__(self, signal: Signal[P], message: str, /, *args: P.args, **kwargs: P.kwargs) -> None: ...
    @overload
    def __call__(self, signal: str, message: str, /, **fields: Any) -> None: ...


@runtime_checkable
class Sink(Protocol):
    """Receives each routed event. Raising is allowed: the router counts and reports it."""

    def handle(self, event: Event, /) -> None: ...


@runtime_checkable
class CoroutineSink(Protocol):
    """An async sink object: ``route()`` hands it to ``zlog.sinks.AsyncSink``, which awaits ``handle``
    on zlog's own event loop (docs/sinks/async.md)."""

    async def handle(self, event: Event, /) -> None: ...


@runtime_checkable
class BatchSink(Protocol):
    """A sink that also takes several events at once (``Background`` hands it whole batches)."""

    def handle(self, event: Event, /) -> None: ...

    def handle_batch(self, events: Sequence[Event], /) -> None: ...


@runtime_checkable
class Flushable(Protocol):
    """``flush`` pushes what the sink holds to its destination; False only when ``timeout`` ran out."""

    def flush(self, timeout: float | None = None) -> bool: ...


@runtime_checkable
class Closable(Protocol):
    """``close`` flushes, then releases what the sink holds; later events are refused. Closing twice is harmless."""

    def close(self, timeout: float | None = None) -> bool: ...


class Reporter(Protocol):
    """What a routed sink reports trouble through (given to it by ``attach``).

    ``failed`` becomes ``ZLOG_SINK_ERROR``, ``dropped`` ``ZLOG_EVENTS_DROPPED`` and ``state``
    ``ZLOG_SINK_STATE``; reports are counted per sink name, rate-limited, never delivered back to the
    sink that made them, and written to stderr when no other sink takes them. ``pending_drops`` reports
    the drops that rate-limiting held back (``SinkBase.close`` calls it).
    """

    def failed(self, error: BaseException, event: Event | None = None, *, sink: str) -> None: ...

    def dropped(self, count: int, reason: str, *, sink: str, policy: str = "") -> None: ...

    def pending_drops(self, *, sink: str) -> None: ...

    def state(self, state: str, previous: str, reason: str, *, sink: str) -> None: ...


@runtime_checkable
class Attachable(Protocol):
    """A sink that reports its own trouble: the router calls ``attach(reporter)`` when it is routed."""

    def attach(self, reporter: Reporter, /) -> None: ...


#: Anything ``route()`` accepts as a sink.
SinkLike = Sink | CoroutineSink | Callable[[Event], object]
#: ``processor(event) -> Event | None``: runs before the sinks; None drops the event.
Processor = Callable[[Event], Event | None]
