"""Prometheus exposition of a ``MetricsSink`` through ``prometheus_client`` (a custom Collector)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

try:
    from prometheus_client import CollectorRegistry
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
    from prometheus_client.registry import Collector
except ImportError as exc:  # pragma: no cover - depends on the install
    raise ImportError(
        "Prometheus exposition needs the prometheus_client package: pip install 'zlog[prometheus]'"
    ) from exc

if TYPE_CHECKING:
    from zlog.sinks.metrics import MetricsSink


#: The help texts of the sink's own counters (the same in every process of a multiprocess directory).
EVENTS_HELP = "Events routed to this sink, by signal."
OVERFLOW_HELP = "Label sets folded into 'other' by the cardinality guard."
SKIPPED_HELP = "Events whose field could not be measured."


def _bound(value: float) -> str:
    return repr(float(value))


class MetricsCollector(Collector):
    """Reads the sink at scrape time; nothing is copied into prometheus_client's own metrics."""

    def __init__(self, sink: MetricsSink) -> None:
        self._sink = sink

    def describe(self) -> Iterator[Metric]:
        return iter(())  # no collect() at registration time

    def collect(self) -> Iterator[Metric]:
        snap = self._sink.snapshot()
        prefix = self._sink.namespace
        events = CounterMetricFamily(f"{prefix}_events", EVENTS_HELP, labels=["signal"])
        for signal, count in sorted(snap["events"].items()):
            events.add_metric([signal], count)
        yield events
        for name, data in snap["metrics"].items():
            yield _family(name, data)
        overflow = CounterMetricFamily(f"{prefix}_metric_overflow", OVERFLOW_HELP, labels=["metric"])
        for metric in [f"{prefix}_events_total", *snap["metrics"]]:
            overflow.add_metric([metric], snap["overflow"].get(metric, 0))
        yield overflow
        skipped = CounterMetricFamily(f"{prefix}_metric_skipped", SKIPPED_HELP, labels=["metric", "reason"])
        for key, count in sorted(snap["skipped"].items()):
            metric, reason = key.rsplit(":", 1)
            skipped.add_metric([metric, reason], count)
        yield skipped


def _family(name: str, data: dict[str, Any]) -> Metric:
    series = data["series"]
    labels = sorted({k for s in series for k in s["labels"]})
    family: Any
    if data["kind"] == "counter":
        family = CounterMetricFamily(name, data["help"], labels=labels)
        for s in series:
            family.add_metric([s["labels"][k] for k in labels], s["value"])
    elif data["kind"] == "gauge":
        family = GaugeMetricFamily(name, data["help"], labels=labels)
        for s in series:
            family.add_metric([s["labels"][k] for k in labels], s["value"])
    else:
        family = HistogramMetricFamily(name, data["help"], labels=labels)
        for s in series:
            buckets = [(b if b == "+Inf" else _bound(float(b)), n) for b, n in s["buckets"].items()]
            family.add_metric([s["labels"][k] for k in labels], buckets=buckets, sum_value=s["sum"])
    return family  # type: ignore[no-any-return]


def registry_for(sink: MetricsSink) -> CollectorRegistry:
    """A private registry holding only this sink's collector (in multiprocess mode: the directory's)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(sink.collector())
    return registry
