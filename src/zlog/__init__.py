"""zlog: signal-routed structured logging for background jobs and workers."""

from __future__ import annotations

from importlib import import_module as _import_module
from typing import TYPE_CHECKING, Any

from zlog._api import (
    aclose,
    add_processor,
    aflush,
    close,
    debug,
    default_router,
    emit,
    error,
    fatal,
    flush,
    info,
    reset,
    route,
    route_all,
    routes,
    shutdown,
    warn,
)
from zlog.context import bind, bound
from zlog.event import Event
from zlog.router import Route, Router
from zlog.signals import (
    DEBUG,
    ERROR,
    FATAL,
    INFO,
    WARN,
    ZLOG_EVENTS_DROPPED,
    ZLOG_PROCESSOR_ERROR,
    ZLOG_SINK_ERROR,
    ZLOG_SINK_STATE,
    Signal,
    signal,
)
from zlog.sinks.base import SinkClosedError, sink

if TYPE_CHECKING:
    from zlog import jobs, processors, testing, typing
    from zlog._setup import enable_standard_logging
    from zlog.sinks.alerts import AlertSink
    from zlog.sinks.audit import AuditSink
    from zlog.sinks.background import Background
    from zlog.sinks.console import ConsoleSink
    from zlog.sinks.health import HealthSink
    from zlog.sinks.http import HTTPSink
    from zlog.sinks.json import JSONSink
    from zlog.sinks.metrics import MetricsSink
    from zlog.sinks.rotating import RotatingFileSink

#: The version of zlog; the build reads it from here (pyproject.toml: ``dynamic = ["version"]``).
__version__ = "0.1.0"

__all__ = [
    "DEBUG",
    "ERROR",
    "FATAL",
    "INFO",
    "WARN",
    "ZLOG_EVENTS_DROPPED",
    "ZLOG_PROCESSOR_ERROR",
    "ZLOG_SINK_ERROR",
    "ZLOG_SINK_STATE",
    "AlertSink",
    "AuditSink",
    "Background",
    "ConsoleSink",
    "Event",
    "HTTPSink",
    "HealthSink",
    "JSONSink",
    "MetricsSink",
    "RotatingFileSink",
    "Route",
    "Router",
    "Signal",
    "SinkClosedError",
    "aclose",
    "add_processor",
    "aflush",
    "bind",
    "bound",
    "close",
    "debug",
    "default_router",
    "emit",
    "enable_standard_logging",
    "error",
    "fatal",
    "flush",
    "info",
    "jobs",
    "processors",
    "reset",
    "route",
    "route_all",
    "routes",
    "shutdown",
    "signal",
    "sink",
    "testing",
    "typing",
    "warn",
]

#: Names imported on first use, so that ``import zlog`` loads only the router and its events.
#: ``RedisSink`` and ``NATSSink`` need an extra (``zlog[redis]``, ``zlog[nats]``) and are not in
#: ``__all__``, so ``from zlog import *`` never needs them.
_LAZY = {
    "AlertSink": "zlog.sinks.alerts",
    "AuditSink": "zlog.sinks.audit",
    "Background": "zlog.sinks.background",
    "ConsoleSink": "zlog.sinks.console",
    "HealthSink": "zlog.sinks.health",
    "HTTPSink": "zlog.sinks.http",
    "JSONSink": "zlog.sinks.json",
    "MetricsSink": "zlog.sinks.metrics",
    "RotatingFileSink": "zlog.sinks.rotating",
    "RedisSink": "zlog.sinks.redis",
    "NATSSink": "zlog.sinks.nats",
    "enable_standard_logging": "zlog._setup",
}
_MODULES = ("jobs", "processors", "testing", "typing")


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        value: Any = _import_module(f"zlog.{name}")
    elif name in _LAZY:
        value = getattr(_import_module(_LAZY[name]), name)
    else:
        raise AttributeError(f"module 'zlog' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY, *_MODULES})
