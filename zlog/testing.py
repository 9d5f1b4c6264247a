"""Helpers for testing code that emits: capture events, and isolate the default router."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from zlog._api import default_router
from zlog.event import Event
from zlog.router import Router
from zlog.signals import Signal

__all__ = ["CapturedEvents", "capture", "isolated"]


class CapturedEvents(list[Event]):
    """The events a capture received, in order, with a few lookups."""

    def signals(self) -> list[str]:
        """The signal names, in order."""
        return [e.signal for e in self]

    def of(self, signal: str | Signal[...]) -> list[Event]:
        """The events of one signal."""
        return [e for e in self if e.signal == signal]

    def handle(self, event: Event) -> None:
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
    state = target._snapshot()
    target.reset()
    try:
        yield target
    finally:
        target._restore(state)
