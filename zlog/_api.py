"""The default router and the module-level functions that act on it."""

from __future__ import annotations

import os
from typing import Any

from zlog.router import Emitter, Processor, Route, Router
from zlog.signals import DEBUG, ERROR, FATAL, INFO, WARN, Signal
from zlog.sinks.base import SinkLike

_TRUE = {"1", "true", "yes", "on"}

#: The router behind ``zlog.emit``, ``zlog.route`` and the other module-level functions.
default_router = Router(strict=os.environ.get("ZLOG_STRICT", "").strip().lower() in _TRUE)

emit: Emitter = default_router.emit


def route(signal_or_pattern: str | Signal[...], *sinks: SinkLike) -> Route:
    """Route a signal name or glob pattern (``"JOB_*"``) to sinks on the default router."""
    return default_router.route(signal_or_pattern, *sinks)


def route_all(*sinks: SinkLike) -> Route:
    """Route every signal to sinks on the default router."""
    return default_router.route_all(*sinks)


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
    """Flush every sink of the default router; False if the timeout ran out."""
    return default_router.flush(timeout)


def close(timeout: float | None = None) -> None:
    """Flush and close every sink of the default router and remove its routes."""
    default_router.close(timeout)


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
