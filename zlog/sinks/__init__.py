"""Sinks: where routed events go."""

from zlog.sinks.audit import AuditSink
from zlog.sinks.background import Background
from zlog.sinks.base import NamedSink, SinkLike, SinkObject, sink
from zlog.sinks.health import HealthSink
from zlog.sinks.json import JSONSink
from zlog.sinks.metrics import MetricsSink

__all__ = [
    "AuditSink",
    "Background",
    "HealthSink",
    "JSONSink",
    "MetricsSink",
    "NamedSink",
    "SinkLike",
    "SinkObject",
    "sink",
]
