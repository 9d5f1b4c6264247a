"""``MetricsSink``: counters, gauges and histograms derived from routed events.

Exposition for Prometheus lives in ``zlog.sinks._prometheus`` (the ``zlog[prometheus]`` extra).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import accumulate
from typing import TYPE_CHECKING, Any

from zlog import _fork
from zlog.event import Event
from zlog.signals import Signal
from zlog.sinks._metric import NAME, Metric, Update

if TYPE_CHECKING:
    from http.server import ThreadingHTTPServer

__all__ = ["DEFAULT_BUCKETS", "MetricsSink"]

#: Seconds; the Prometheus client's defaults, suited to job durations.
DEFAULT_BUCKETS: tuple[float, ...] = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def _signal_name(signal: str | Signal[...]) -> str:
    name = signal.name if isinstance(signal, Signal) else signal
    if not isinstance(name, str) or not name:
        raise TypeError(f"expected a signal or signal name, got {signal!r}")
    return name


class MetricsSink:
    """Counts every routed event per signal and updates the metrics declared on it.

    ``zlog_events_total{signal}`` counts every event; signals in ``declare`` (and those that metrics
    read) start at 0. A metric never holds more than ``max_label_sets`` label sets: further label
    values go to the series whose labels are all ``"other"``, and are counted in ``overflow``.
    """

    def __init__(
        self,
        *,
        declare: Iterable[str | Signal[...]] = (),
        max_label_sets: int = 100,
        namespace: str = "zlog",
        name: str = "metrics",
    ) -> None:
        if not isinstance(max_label_sets, int) or max_label_sets < 1:
            raise ValueError(f"max_label_sets must be an int >= 1, got {max_label_sets!r}")
        if not NAME.match(namespace):
            raise ValueError(f"namespace {namespace!r} is not a valid Prometheus name prefix")
        self.name = name
        self.namespace = namespace
        self.max_label_sets = max_label_sets
        self._lock = _fork.owned_lock(self)
        self._events: dict[str, int] = {}
        self._metrics: dict[str, Metric] = {}
        self._updates: dict[str, tuple[Update, ...]] = {}  # signal -> its metrics' update functions
        self.overflow: dict[str, int] = {}
        self.skipped: dict[tuple[str, str], int] = {}
        for signal in declare:
            self._events.setdefault(_signal_name(signal), 0)

    # -- declaring metrics ---------------------------------------------------------------------
    def _add(self, metric: Metric) -> None:
        with self._lock:
            if metric.name in self._metrics or metric.name == f"{self.namespace}_events_total":
                raise ValueError(f"metric {metric.name!r} is already declared")
            self._metrics[metric.name] = metric
            self._updates[metric.signal] = (*self._updates.get(metric.signal, ()), metric.updater(self))
            self._events.setdefault(metric.signal, 0)

    def counter(
        self, name: str, signal: str | Signal[...], *, labels: Sequence[str] = (), help: str = ""
    ) -> None:
        """Count events of ``signal``, optionally labelled by the values of some of its fields."""
        self._add(Metric("counter", name, help, _signal_name(signal), None, labels, (), 1.0))

    def gauge(
        self, name: str, signal: str | Signal[...], *, field: str, labels: Sequence[str] = (), help: str = "",
        scale: float = 1.0,
    ) -> None:
        """Set a gauge to the numeric ``field`` of each event of ``signal`` (times ``scale``)."""
        self._add(Metric("gauge", name, help, _signal_name(signal), field, labels, (), scale))

    def histogram(
        self, name: str, signal: str | Signal[...], *, field: str, labels: Sequence[str] = (),
        buckets: Sequence[float] = DEFAULT_BUCKETS, help: str = "", scale: float = 1.0,
    ) -> None:
        """Observe the numeric ``field`` (times ``scale``, e.g. 0.001 for milliseconds) of ``signal``."""
        self._add(Metric("histogram", name, help, _signal_name(signal), field, labels, buckets, scale))

    # -- the sink ------------------------------------------------------------------------------
    def handle(self, event: Event) -> None:
        name = event[0]
        lock = self._lock
        lock.acquire()  # not ``with``: acquire/release is half the cost on this hot path
        try:
            events = self._events
            events[name] = events.get(name, 0) + 1
            updates = self._updates.get(name)
            if updates is not None:
                fields = event[3]
                for update in updates:
                    update(fields)
        finally:
            lock.release()

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
                        series.append({"labels": labels, "buckets": cumulative, "count": value[-2],
                                       "sum": value[-1]})
                    else:
                        series.append({"labels": labels, "value": value})
                metrics[metric.name] = {"kind": metric.kind, "help": metric.help, "signal": metric.signal,
                                        "series": series}
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
        from zlog.sinks._http import serve

        return serve(port, addr, health=None, metrics=self)

