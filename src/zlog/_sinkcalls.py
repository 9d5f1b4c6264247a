"""How zlog calls a sink: the callable that takes its events, its name, and flush/close under one deadline.

The router, the wrappers (``Background``, the resilience wrappers) and the exit drain all flush and
close sinks through :func:`flush_all` and :func:`close_all`, so they keep the same contract: one
deadline for all the sinks together, a call that returns by it whatever a sink does (``_deadline``),
a failure reported (not disguised as a timeout), and wrappers finished before the sinks they report to.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from types import BuiltinMethodType, MethodType, ModuleType
from typing import Any, NamedTuple

from zlog import _deadline
from zlog.event import Event

__all__ = [
    "Target",
    "check",
    "close_all",
    "flush_all",
    "handler_of",
    "is_async",
    "is_coroutine_callable",
    "key_of",
    "run",
    "sink_name",
]


class Target(NamedTuple):
    """A sink to flush or close: its identity key, the object, and its name for reports."""

    key: Hashable
    obj: Any
    name: str


#: ``on_error(target, error)``: report a flush or close that raised.
OnError = Callable[[Target, BaseException], None]


def handler_of(obj: object) -> Callable[[Event], Any]:
    """The callable the router calls for this sink; TypeError when ``obj`` is not a sink."""
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


def key_of(sink: object) -> Hashable:
    """What makes two sinks the same sink: identity, except that a bound method (``got.append``,
    ``obj.handle``: a new object at each access) is keyed by its object and function."""
    owner = getattr(sink, "__self__", None)
    if owner is not None and isinstance(sink, (MethodType, BuiltinMethodType)) and not isinstance(owner, ModuleType):
        return (id(owner), getattr(sink, "__func__", None) or sink.__name__)
    return id(sink)


def is_coroutine_callable(func: object) -> bool:
    """Whether calling ``func`` makes a coroutine: an ``async def`` function or method, a
    ``functools.partial`` of one, or an object whose ``__call__`` is one."""
    import functools
    import inspect  # at route time, not at import

    while isinstance(func, functools.partial):
        func = func.func
    if inspect.iscoroutinefunction(func):
        return True
    if inspect.isroutine(func) or isinstance(func, type) or not callable(func):
        return False
    return inspect.iscoroutinefunction(type(func).__call__)  # an object with ``async def __call__``


def is_async(obj: object) -> bool:
    """Whether ``obj`` is an async sink: its handler (``handle``, or the object itself) is a coroutine
    function. Such a sink goes through ``zlog.sinks.AsyncSink``, which awaits it on its own event loop."""
    try:
        return is_coroutine_callable(handler_of(obj))
    except TypeError:
        return False


def check(obj: object, *, async_ok: bool = False) -> Callable[[Event], Any]:
    """Validate a sink against the contract; its handler. TypeError says what is wrong.

    ``flush`` and ``close``, when the sink has them, must accept ``timeout=`` (docs/sinks/writing.md).
    An async sink is refused (a caller that is not ``AsyncSink`` would drop its coroutines) unless
    ``async_ok``.
    """
    handler = handler_of(obj)
    if not async_ok and is_coroutine_callable(handler):
        raise TypeError(
            f"{sink_name(obj)} is an async sink (its handler is a coroutine function): wrap it in "
            f"zlog.sinks.AsyncSink(...) to use it here (zlog.route() does that itself); see docs/sinks/async.md"
        )
    if not isinstance(obj, type):
        for method in ("flush", "close"):
            func = getattr(obj, method, None)
            if func is not None and callable(func) and not _takes_timeout(func):
                raise TypeError(
                    f"{sink_name(obj)}.{method}() must accept timeout=None (seconds, or None for no limit) and "
                    f"return False only when the time ran out; see docs/sinks/writing.md"
                )
    return handler


def _takes_timeout(func: Callable[..., Any]) -> bool:
    import inspect  # at route time, not at import

    try:
        parameters = inspect.signature(func).parameters
    except (TypeError, ValueError):  # a builtin without a readable signature: take it on trust
        return True
    if "timeout" in parameters:
        return parameters["timeout"].kind is not inspect.Parameter.POSITIONAL_ONLY
    return any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())


def flush_all(groups: Sequence[Sequence[Target]], timeout: float | None, on_error: OnError) -> bool:
    """Flush every target, group after group, under one deadline; False if the time ran out first."""
    return run(groups, "flush", timeout, on_error)


def close_all(groups: Sequence[Sequence[Target]], timeout: float | None, on_error: OnError) -> bool:
    """Close every target (a target without ``close`` is flushed), group after group, under one deadline."""
    return run(groups, "close", timeout, on_error)


def run(
    groups: Sequence[Sequence[Target]], method: str, timeout: float | None, on_error: OnError, *, grace: float = 0.0
) -> bool:
    """Call ``method(timeout=remaining)`` on every target that has it, group after group, under one
    deadline (``close`` falls back to ``flush``); False if the time ran out or a call returned False."""
    deadline = _deadline.Deadline(timeout)
    done = True
    for group in groups:
        calls = []
        targets = []
        for target in group:
            func = getattr(target.obj, method, None)
            if func is None and method == "close":
                func = getattr(target.obj, "flush", None)
            if func is None or not callable(func):
                continue
            calls.append(((target.key, method), _caller(func, grace)))
            targets.append(target)
        if not calls:
            continue
        outcomes = _deadline.call_all(calls, deadline.remaining())
        for target, outcome in zip(targets, outcomes, strict=True):
            if not outcome.finished:
                done = False
            elif outcome.error is not None:
                if isinstance(outcome.error, (KeyboardInterrupt, SystemExit)):
                    raise outcome.error
                on_error(target, outcome.error)
            elif outcome.result is False:
                done = False
    return done


def _caller(func: Callable[..., Any], grace: float = 0.0) -> Callable[[float | None], Any]:
    """``func(timeout=...)`` with the time left, less ``grace``: what a sink needs after its own deadline
    to count and report what it could not write, before the caller stops waiting."""
    if not grace:
        return lambda remaining: func(timeout=remaining)
    return lambda remaining: func(timeout=None if remaining is None else max(0.0, remaining - grace))
