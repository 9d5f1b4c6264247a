"""The default router and the module-level functions that act on it."""

from __future__ import annotations

import os
from typing import Any

from zlog.router import Emitter, Route, Router
from zlog.signals import DEBUG, ERROR, FATAL, INFO, WARN, Signal
from zlog.typing import Processor, SinkLike

_TRUE = {"1", "true", "yes", "on"}

#: The router behind ``zlog.emit``, ``zlog.route`` and the other module-level functions.
default_router = Router(strict=os.environ.get("ZLOG_STRICT", "").strip().lower() in _TRUE)

#: ``zlog.emit(signal, message, /, **fields)``: ``default_router.emit``, the function that
#: ``zlog.router._build_emit`` makes for the default router (the whole hot path is in there).
emit: Emitter = default_router.emit


def route(signal_or_pattern: str | Signal[...], *sinks: SinkLike, level: str | None = None) -> Route:
    """Route a signal name or glob pattern (``"JOB_*"``) to sinks on the default router; with ``level``,
    only events at that level or above."""
    return default_router.route(signal_or_pattern, *sinks, level=level)


def route_all(*sinks: SinkLike, level: str | None = None) -> Route:
    """Route every signal to sinks on the default router."""
    return default_router.route_all(*sinks, level=level)


def routes() -> tuple[Route, ...]:
    """The default router's routes."""
    return default_router.routes()


def reset() -> None:
    """Remove every route and processor from the default router."""
    default_router.reset()


def add_processor(processor: Processor, *, name: str | None = None) -> Processor:
    """Add a processor to the default router."""
    return default_router.add_processor(processor, name=name)


def flush(timeout: float | None = None) -> bool:
    """Flush every sink of the default router, under one deadline; False only if the timeout ran out."""
    return default_router.flush(timeout)


def close(timeout: float | None = None) -> bool:
    """Close every sink of the default router (flushing it) and remove its routes; False on timeout."""
    return default_router.close(timeout)


async def aflush(timeout: float | None = None) -> bool:
    """``flush`` for coroutines: waits on another thread, so the event loop keeps running; returns by
    ``timeout`` (False if the time ran out)."""
    return await default_router.aflush(timeout)


async def aclose(timeout: float | None = None) -> bool:
    """``close`` for coroutines: waits on another thread, so the event loop keeps running; returns by
    ``timeout`` (False if the time ran out)."""
    return await default_router.aclose(timeout)


def shutdown(timeout: float | None = None) -> bool:
    """This process is about to end: write what every sink holds, as the exit hook would, now.

    For a job system's child-shutdown hook (the child then ends with ``os._exit``, which runs no exit
    hook). Queued events that cannot be written by the deadline (``timeout``, by default the longest
    ``exit_timeout`` of the sinks) are counted and reported as dropped. Routes stay; nothing is closed.
    False if the time ran out.
    """
    from zlog import _exit
    from zlog._deadline import Deadline

    deadline = Deadline(_exit.default_timeout() if timeout is None else timeout)
    drained = _exit.drain(deadline.remaining())
    return default_router.flush(deadline.remaining()) and drained


def debug(message: str, /, **fields: Any) -> None:
    """Emit ``DEBUG``."""
    emit(DEBUG, message, **fields)


def info(message: str, /, **fields: Any) -> None:
    """Emit ``INFO``."""
    emit(INFO, message, **fields)


def warn(message: str, /, **fields: Any) -> None:
    """Emit ``WARN``."""
    emit(WARN, message, **fields)


def error(message: str, /, **fields: Any) -> None:
    """Emit ``ERROR``."""
    emit(ERROR, message, **fields)


def fatal(message: str, /, **fields: Any) -> None:
    """Emit ``FATAL`` and flush every sink. The process is not exited."""
    emit(FATAL, message, **fields)
    default_router.flush()
