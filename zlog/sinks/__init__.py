"""Sinks: where routed events go."""

from zlog.sinks.base import NamedSink, SinkLike, SinkObject, sink
from zlog.sinks.json import JSONSink

__all__ = ["JSONSink", "NamedSink", "SinkLike", "SinkObject", "sink"]
