"""``MetricsSink``: counters, gauges and histograms derived from routed events.

Exposition for Prometheus lives in ``zlog.sinks._prometheus`` (the ``zlog[prometheus]`` extra).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import accumulate
from typing import TYPE_CHECKING, Any

from zlog._signalset import SignalSet, SignalSpec, signal_names
from zlog.event import Event
from zlog.sinks._labels import OVERFLOW
from zlog.sinks._metric import NAME, Metric, Update
from zlog.sinks.base import SinkBase

if TYPE_CHECKING:
    from http.server import ThreadingHTTPServer

__all__ = ["DEFAULT_BUCKETS", "MetricsSink"]

#: Seconds; the Prometheus client's defaults, suited to job durations.
DEFAULT_BUCKETS: tuple[float, ...] = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_MAX_RESOLVED = 4096


class MetricsSink(SinkBase):
    """Counts every routed event per signal and updates the metrics declared on it.

    ``zlog_events_total{signal}`` counts every event; signals in ``declare`` (and those that metrics
    read) start at 0. No metric, ``zlog_events_total`` included, ever holds more than
    ``max_label_sets`` label sets: further label values go to the series whose labels are all
    ``"other"``, and are counted in ``overflow``. A metric's signals may be glob patterns.
    """

    def __init__(
        self,
        *,
        declare: SignalSpec = (),
        max_label_sets: int = 100,
        namespace: str = "zlog",
        name: str = "metrics",
    ) -> None:
        if not isinstance(max_label_sets, int) or max_label_sets < 1:
            raise ValueError(f"max_label_sets must be an int >= 1, got {max_label_sets!r}")
        if not isinstance(namespace, str) or not NAME.match(namespace):
            raise ValueError(f"namespace {namespace!r} is not a valid Prometheus name prefix")
        super().__init__(name=name)
        self.namespace = namespace
        self.max_label_sets = max_label_sets
        self._events: dict[str, int] = {}
        self._metrics: dict[str, Metric] = {}
        self._declared: dict[str, tuple[Update, ...]] = {}  # signal name -> the updates declared on it
        self._updates: dict[str, tuple[Update, ...]] = {}  # the same, plus names resolved against patterns
        self._patterns: list[tuple[SignalSet, Update]] = []  # metrics declared on glob patterns
        self.overflow: dict[str, int] = {}
        self.skipped: dict[tuple[str, str], int] = {}
        for signal in signal_names(declare, what="MetricsSink(declare=...)", patterns=False):
            self._events.setdefault(signal, 0)

    # -- declaring metrics ---------------------------------------------------------------------
    def _add(
        self,
        kind: str,
        name: str,
        help: str,
        signals: SignalSpec,
        field: str | None,
        labels: Sequence[str],
        buckets: Sequence[float],
        scale: float,
    ) -> None:
        spec = SignalSet(signals, what=f"metric {name!r}")
        if not spec:
            raise ValueError(f"metric {name!r} needs at least one signal")
        metric = Metric(kind, name, help, spec.names, field, labels, buckets, scale)
        with self._lock:
            if metric.name in self._metrics or metric.name == f"{self.namespace}_events_total":
                raise ValueError(f"metric {metric.name!r} is already declared")
            self._metrics[metric.name] = metric
            update = metric.updater(self)
            for signal in spec.exact:
                self._declared[signal] = (*self._declared.get(signal, ()), update)
                self._events.setdefault(signal, 0)
            if spec.patterns:
                self._patterns.append((spec, update))
            self._updates = dict(self._declared)  # names matched by patterns are resolved again on use

    def counter(self, name: str, signal: SignalSpec, *, labels: Sequence[str] = (), help: str = "") -> None:
        """Count events of ``signal`` (one or several, or glob patterns), optionally labelled by the values
        of some of their fields."""
        self._add("counter", name, help, signal, None, labels, (), 1.0)

    def gauge(
        self,
        name: str,
        signal: SignalSpec,
        *,
        field: str,
        labels: Sequence[str] = (),
        help: str = "",
        scale: float = 1.0,
    ) -> None:
        """Set a gauge to the numeric ``field`` of each event of ``signal`` (times ``scale``)."""
        self._add("gauge", name, help, signal, field, labels, (), scale)

    def histogram(
        self,
        name: str,
        signal: SignalSpec,
        *,
        field: str,
        labels: Sequence[str] = (),
        buckets: Sequence[float] = DEFAULT_BUCKETS,
        help: str = "",
        scale: float = 1.0,
    ) -> None:
        """Observe the numeric ``field`` (times ``scale``, e.g. 0.001 for milliseconds) of ``signal``."""
        self._add("histogram", name, help, signal, field, labels, buckets, scale)

    # -- the sink ------------------------------------------------------------------------------
    def handle(self, event: Event) -> None:
        if self._closed:
            self._refuse()
        name = event[0]
        lock = self._lock
        lock.acquire()  # not ``with``: acquire/release is half the cost on this hot path
        try:
            events = self._events
            count = events.get(name)
            if count is not None:
                events[name] = count + 1
            else:
                self._first_event_of(name)
            updates = self._updates.get(name)
            if updates is None and self._patterns:
                updates = self._resolve(name)
            if updates:
                fields = event[3]
                for update in updates:
                    update(fields)
        finally:
            lock.release()

    def _first_event_of(self, name: str) -> None:
        """The slow path of ``zlog_events_total``: a new signal gets its series while the guard has room."""
        events = self._events
        if len(events) < self.max_label_sets or self._updates.get(name):
            events[name] = 1
            return
        events[OVERFLOW] = events.get(OVERFLOW, 0) + 1
        key = f"{self.namespace}_events_total"
        self.overflow[key] = self.overflow.get(key, 0) + 1

    def _resolve(self, name: str) -> tuple[Update, ...]:
        """The updates of the pattern metrics that take ``name`` (remembered for the next event)."""
        found = tuple(update for spec, update in self._patterns if name in spec)
        if len(self._updates) < _MAX_RESOLVED:
            self._updates[name] = found
        return found

    # -- reading -------------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """Plain data: event counts per signal, each metric's series, overflow and skipped counts."""
        with self._lock:
            metrics: dict[str, Any] = {}
            for metric in self._metrics.values():
                series = []
                for key, value in metric.series.items():
                    labels = dict(zip(metric.labels, key, strict=True))
                    if metric.kind == "histogram":
                        bounds = [*map(str, metric.buckets), "+Inf"]
                        cumulative = dict(zip(bounds, [*accumulate(value[:-2]), value[-2]], strict=True))
                        series.append({"labels": labels, "buckets": cumulative, "count": value[-2], "sum": value[-1]})
                    else:
                        series.append({"labels": labels, "value": value})
                metrics[metric.name] = {
                    "kind": metric.kind,
                    "help": metric.help,
                    "signals": list(metric.signals),
                    "series": series,
                }
            return {
                "events": dict(self._events),
                "metrics": metrics,
                "overflow": dict(self.overflow),
                "skipped": {f"{m}:{r}": n for (m, r), n in self.skipped.items()},
            }

    def collector(self) -> Any:
        """A ``prometheus_client`` Collector exposing this sink (needs ``zlog[prometheus]``)."""
        from zlog.sinks._prometheus import MetricsCollector

        return MetricsCollector(self)

    def serve_metrics(self, port: int, addr: str = "127.0.0.1") -> ThreadingHTTPServer:
        """Serve ``/metrics`` for Prometheus on ``addr:port`` in a daemon thread; returns the server
        (``server.shutdown()`` stops it). Needs ``zlog[prometheus]``. See ``HealthSink.serve_health``
        to serve ``/health`` next to it."""
        from zlog.sinks._endpoint import serve

        return serve(port, addr, {"/metrics": self.exposition})

    def exposition(self) -> tuple[int, bytes, str]:
        """``(status, body, content type)`` of a Prometheus scrape of this sink (needs ``zlog[prometheus]``)."""
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        from zlog.sinks._prometheus import registry_for

        return 200, generate_latest(registry_for(self)), CONTENT_TYPE_LATEST

    def stats(self) -> dict[str, Any]:
        with self._lock:
            overflow = sum(self.overflow.values())
            skipped = sum(self.skipped.values())
        return {**super().stats(), "metrics": len(self._metrics), "overflow": overflow, "skipped": skipped}
