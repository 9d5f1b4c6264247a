"""Sinks: where routed events go."""

from zlog.sinks.alerts import AlertmanagerNotifier, AlertSink, WebhookNotifier, stderr_notifier
from zlog.sinks.audit import AuditSink
from zlog.sinks.background import Background
from zlog.sinks.base import NamedSink, SinkLike, SinkObject, sink
from zlog.sinks.console import ConsoleSink
from zlog.sinks.health import HealthSink
from zlog.sinks.json import JSONSink
from zlog.sinks.metrics import MetricsSink
from zlog.sinks.resilience import CircuitBreaker, CircuitOpenError, Fallback, RateLimited, Retry, Timeout

__all__ = [
    "CircuitBreaker",
    "CircuitOpenError",
    "Fallback",
    "RateLimited",
    "Retry",
    "Timeout",
    "AlertSink",
    "AlertmanagerNotifier",
    "WebhookNotifier",
    "stderr_notifier",
    "AuditSink",
    "Background",
    "ConsoleSink",
    "HealthSink",
    "JSONSink",
    "MetricsSink",
    "NamedSink",
    "SinkLike",
    "SinkObject",
    "sink",
]
