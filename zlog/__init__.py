"""zlog: signal-routed structured logging for background jobs and workers."""

from zlog import processors, testing
from zlog._api import (
    add_processor,
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
    warn,
)
from zlog._setup import enable_standard_logging
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
from zlog.sinks import AlertSink, AuditSink, Background, ConsoleSink, HealthSink, JSONSink, MetricsSink, sink

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
    "HealthSink",
    "JSONSink",
    "MetricsSink",
    "Route",
    "Router",
    "Signal",
    "add_processor",
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
    "processors",
    "reset",
    "route",
    "route_all",
    "routes",
    "signal",
    "sink",
    "testing",
    "warn",
]

#: Sinks that need an optional extra, imported on first use: ``zlog.RedisSink`` (``zlog[redis]``) and
#: ``zlog.NATSSink`` (``zlog[nats]``). Not in ``__all__``, so ``from zlog import *`` never needs them.
_OPTIONAL = {"RedisSink": "zlog.sinks.redis", "NATSSink": "zlog.sinks.nats"}


def __getattr__(name: str) -> object:
    module = _OPTIONAL.get(name)
    if module is None:
        raise AttributeError(f"module 'zlog' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
