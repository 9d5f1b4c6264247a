"""What a sink is: a callable ``sink(event)``, or an object with ``handle(event)``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from zlog.event import Event

__all__ = ["NamedSink", "SinkLike", "SinkObject", "handler_of", "sink", "sink_name"]


@runtime_checkable
class SinkObject(Protocol):
    """An object sink. ``flush()`` and ``close()`` are optional and called when present."""

    def handle(self, event: Event, /) -> None: ...


SinkLike = SinkObject | Callable[[Event], Any]


class NamedSink:
    """A function sink with a name, made by ``@zlog.sink("name")``; still callable as before."""

    __slots__ = ("func", "name")

    def __init__(self, name: str, func: Callable[[Event], Any]) -> None:
        self.name = name
        self.func = func

    def __call__(self, event: Event) -> None:
        self.func(event)

    def handle(self, event: Event) -> None:
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


def handler_of(obj: object) -> Callable[[Event], Any]:
    """The callable the router calls for this sink; TypeError when ``obj`` is not a sink."""
    if isinstance(obj, NamedSink):
        return obj.func
    handle = getattr(obj, "handle", None)
    if callable(handle):
        return handle  # type: ignore[no-any-return]
    if callable(obj):
        return obj
    raise TypeError(f"{obj!r} is not a sink: pass a callable sink(event) or an object with handle(event)")


def sink_name(obj: object) -> str:
    """A readable name: an explicit ``name`` attribute, else the function or class name."""
    name = getattr(obj, "name", None)
    if isinstance(name, str) and name:
        return name
    qualname = getattr(obj, "__qualname__", None)
    if isinstance(qualname, str) and not isinstance(obj, type):
        return qualname.rsplit("<locals>.", 1)[-1]
    return type(obj).__name__
