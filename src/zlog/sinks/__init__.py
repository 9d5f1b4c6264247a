"""Sinks: where routed events go. Each sink's module is imported on first use of its name."""

from __future__ import annotations

from importlib import import_module as _import_module
from typing import TYPE_CHECKING, Any

from zlog.sinks.base import NamedSink, SinkBase, SinkClosedError, Wrapper, sink

if TYPE_CHECKING:
    from zlog.sinks.aio import AsyncSink
    from zlog.sinks.alerts import AlertmanagerNotifier, AlertSink, WebhookNotifier, stderr_notifier
    from zlog.sinks.audit import AuditSink
    from zlog.sinks.background import Background
    from zlog.sinks.console import ConsoleSink
    from zlog.sinks.filters import Filtered, Sampled
    from zlog.sinks.health import HealthSink
    from zlog.sinks.http import HTTPSink
    from zlog.sinks.json import JSONSink
    from zlog.sinks.metrics import MetricsSink
    from zlog.sinks.resilience import CircuitBreaker, CircuitOpenError, Fallback, Retry, Throttle, Timeout
    from zlog.sinks.rotating import RotatingFileSink, RotationError

__all__ = [
    "AlertSink",
    "AlertmanagerNotifier",
    "AsyncSink",
    "AuditSink",
    "Background",
    "CircuitBreaker",
    "CircuitOpenError",
    "ConsoleSink",
    "Fallback",
    "Filtered",
    "HTTPSink",
    "HealthSink",
    "JSONSink",
    "MetricsSink",
    "NamedSink",
    "Retry",
    "RotatingFileSink",
    "RotationError",
    "Sampled",
    "SinkBase",
    "SinkClosedError",
    "Throttle",
    "Timeout",
    "WebhookNotifier",
    "Wrapper",
    "sink",
    "stderr_notifier",
]

#: Where each lazily imported name lives. ``RedisSink`` and ``NATSSink`` need an extra
#: (``zlog[redis]``, ``zlog[nats]``) and are not in ``__all__``, so ``import *`` never needs them.
_LAZY = {
    "AsyncSink": "zlog.sinks.aio",
    "AlertSink": "zlog.sinks.alerts",
    "AlertmanagerNotifier": "zlog.sinks.alerts",
    "WebhookNotifier": "zlog.sinks.alerts",
    "stderr_notifier": "zlog.sinks.alerts",
    "AuditSink": "zlog.sinks.audit",
    "Background": "zlog.sinks.background",
    "ConsoleSink": "zlog.sinks.console",
    "Filtered": "zlog.sinks.filters",
    "Sampled": "zlog.sinks.filters",
    "HealthSink": "zlog.sinks.health",
    "HTTPSink": "zlog.sinks.http",
    "JSONSink": "zlog.sinks.json",
    "MetricsSink": "zlog.sinks.metrics",
    "CircuitBreaker": "zlog.sinks.resilience",
    "CircuitOpenError": "zlog.sinks.resilience",
    "Fallback": "zlog.sinks.resilience",
    "Retry": "zlog.sinks.resilience",
    "Throttle": "zlog.sinks.resilience",
    "Timeout": "zlog.sinks.resilience",
    "RotatingFileSink": "zlog.sinks.rotating",
    "RotationError": "zlog.sinks.rotating",
    "RedisSink": "zlog.sinks.redis",
    "NATSSink": "zlog.sinks.nats",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'zlog.sinks' has no attribute {name!r}")
    value = getattr(_import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
