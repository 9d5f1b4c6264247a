"""Helpers for testing code that emits: capture events, and isolate the default router."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from zlog._api import default_router
from zlog.event import Event
from zlog.router import Router
from zlog.signals import Signal
from zlog.sinks.base import SinkBase

__all__ = ["CapturedEvents", "capture", "isolated"]


class CapturedEvents(list[Event], SinkBase):
    """The events a capture received, in order, with a few lookups. A sink: after ``close()`` it refuses events."""

    def __init__(self, events: Iterable[Event] = (), *, name: str = "captured") -> None:
        list.__init__(self, events)
        SinkBase.__init__(self, name=name)

    __hash__ = SinkBase.__hash__  # type: ignore[assignment]  # a list is unhashable; a sink is its identity

    def __repr__(self) -> str:
        return list.__repr__(self)

    def signals(self) -> list[str]:
        """The signal names, in order."""
        return [e.signal for e in self]

    def of(self, signal: str | Signal[...]) -> list[Event]:
        """The events of one signal."""
        return [e for e in self if e.signal == signal]

    def handle(self, event: Event) -> None:
        if self._closed:
            self._refuse()
        self.append(event)


@contextmanager
def capture(router: Router | None = None) -> Iterator[CapturedEvents]:
    """Collect every event emitted inside the block (after processors) on ``router`` or the default."""
    target = default_router if router is None else router
    events = CapturedEvents()
    route = target.route_all(events)
    try:
        yield events
    finally:
        route.remove()


@contextmanager
def isolated(router: Router | None = None) -> Iterator[Router]:
    """Run the block with the router empty, then restore its routes and processors."""
    target = default_router if router is None else router
    with target.isolated():
        yield target
