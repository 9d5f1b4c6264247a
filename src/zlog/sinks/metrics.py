"""``MetricsSink``: counters, gauges and histograms derived from routed events.

Exposition for Prometheus lives in ``zlog.sinks._prometheus`` (the ``zlog[prometheus]`` extra); the
multiprocess mode (prometheus_client's per-process files) in ``zlog.sinks._multiprocess``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from itertools import accumulate
from typing import TYPE_CHECKING, Any

from zlog import _exit
from zlog._signalset import SignalSet, SignalSpec, signal_names
from zlog.event import Event
from zlog.sinks._labels import OVERFLOW
from zlog.sinks._metric import NAME, Metric, Update
from zlog.sinks.base import SinkBase

if TYPE_CHECKING:
    from http.server import ThreadingHTTPServer

    from zlog.sinks._multiprocess import Store

__all__ = ["DEFAULT_BUCKETS", "MetricsSink"]

#: Seconds; the Prometheus client's defaults, suited to job durations.
DEFAULT_BUCKETS: tuple[float, ...] = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_MAX_RESOLVED = 4096
_MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"


def _multiprocess_dir(multiprocess: bool | None) -> str | None:
    """The directory of multiprocess mode, or None for in-process metrics (``multiprocess`` resolved)."""
    if multiprocess not in (None, True, False):
        raise TypeError(f"multiprocess must be True, False or None, got {multiprocess!r}")
    path = os.environ.get(_MULTIPROC_DIR)
    if multiprocess is False or (multiprocess is None and path is None):
        return None
    if path is None or not os.path.isdir(path):
        found = "is not set" if path is None else f"is {path!r}, not a directory"
        asked = "multiprocess=True" if multiprocess else f"{_MULTIPROC_DIR} set, so multiprocess"
        raise ValueError(
            f"MetricsSink({asked}) needs {_MULTIPROC_DIR} set to an empty directory before the workers start "
            f"(it {found}); pass multiprocess=False for metrics of this process only"
        )
    return path


class MetricsSink(SinkBase):
    """Counts every routed event per signal and updates the metrics declared on it.

    ``zlog_events_total{signal}`` counts every event; signals in ``declare`` (and those that metrics
    read) start at 0. No metric, ``zlog_events_total`` included, ever holds more than
    ``max_label_sets`` label sets: further label values go to the series whose labels are all
    ``"other"``, and are counted in ``overflow``. A metric's signals may be glob patterns.

    ``multiprocess``: keep the metrics in prometheus_client's multiprocess files, so that one scrape
    sums every process of a job system (``None``, the default: when ``PROMETHEUS_MULTIPROC_DIR`` is set
    as the sink is made; ``True``: required; ``False``: this process only). Needs ``zlog[prometheus]``.
    In that mode ``snapshot()`` and the scrape are of all processes together, ``stats()`` and the
    cardinality guard are per process.
    """

    def __init__(
        self,
        *,
        declare: SignalSpec = (),
        max_label_sets: int = 100,
        namespace: str = "zlog",
        name: str = "metrics",
        multiprocess: bool | None = None,
    ) -> None:
        if not isinstance(max_label_sets, int) or max_label_sets < 1:
            raise ValueError(f"max_label_sets must be an int >= 1, got {max_label_sets!r}")
        if not isinstance(namespace, str) or not NAME.match(namespace):
            raise ValueError(f"namespace {namespace!r} is not a valid Prometheus name prefix")
        path = _multiprocess_dir(multiprocess)
        super().__init__(name=name)
        self.namespace = namespace
        self.max_label_sets = max_label_sets
        self._store: Store | None = None
        self._events: dict[str, int] = {}
        self._metrics: dict[str, Metric] = {}
        self._declared: dict[str, tuple[Update, ...]] = {}  # signal name -> the updates declared on it
        self._updates: dict[str, tuple[Update, ...]] = {}  # the same, plus names resolved against patterns
        self._patterns: list[tuple[SignalSet, Update]] = []  # metrics declared on glob patterns
        self.overflow: dict[str, int] = {}
        self.skipped: dict[tuple[str, str], int] = {}
        if path is not None:
            from zlog.sinks._multiprocess import Store

            store = self._store = Store(path, namespace)
            self._events, self.overflow, self.skipped = store.events, store.overflow, store.skipped
            _exit.flush_at_exit(self)  # drain_at_exit marks this process dead for its live gauges
        for signal in signal_names(declare, what="MetricsSink(declare=...)", patterns=False):
            if signal not in self._events:
                self._events[signal] = 0

    @property
    def multiprocess(self) -> bool:
        """Whether the metrics are kept in ``PROMETHEUS_MULTIPROC_DIR`` for all processes together."""
        return self._store is not None

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
        mode: str = "mostrecent",
    ) -> None:
        spec = SignalSet(signals, what=f"metric {name!r}")
        if not spec:
            raise ValueError(f"metric {name!r} needs at least one signal")
        metric = Metric(kind, name, help, spec.names, field, labels, buckets, scale, multiprocess_mode=mode)
        with self._lock:
            if metric.name in self._metrics or metric.name == f"{self.namespace}_events_total":
                raise ValueError(f"metric {metric.name!r} is already declared")
            self._metrics[metric.name] = metric
            update = metric.updater(self) if self._store is None else self._store.updater(metric, self)
            for signal in spec.exact:
                self._declared[signal] = (*self._declared.get(signal, ()), update)
                if signal not in self._events:
                    self._events[signal] = 0
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
        multiprocess_mode: str = "mostrecent",
    ) -> None:
        """Set a gauge to the numeric ``field`` of each event of ``signal`` (times ``scale``).

        ``multiprocess_mode`` (one of prometheus_client's: ``all``, ``liveall``, ``min``, ``livemin``,
        ``max``, ``livemax``, ``sum``, ``livesum``, ``mostrecent``, ``livemostrecent``) says how the
        values of several processes combine in multiprocess mode; it is checked, and otherwise unused,
        in one process."""
        self._add("gauge", name, help, signal, field, labels, (), scale, multiprocess_mode)

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
        """Plain data: event counts per signal, each metric's series, overflow and skipped counts.

        In multiprocess mode: of every process of the directory together (read from its files)."""
        if self._store is not None:
            with self._lock:
                signals, declared = list(self._events), list(self._metrics.values())
            return self._store.snapshot(signals, declared)
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
        """A ``prometheus_client`` Collector exposing this sink (needs ``zlog[prometheus]``); in
        multiprocess mode a ``MultiProcessCollector`` of the whole directory (every process, and the
        program's own prometheus_client metrics kept there)."""
        if self._store is not None:
            return self._store.collector()
        from zlog.sinks._prometheus import MetricsCollector

        return MetricsCollector(self)

    def serve_metrics(self, port: int, addr: str = "127.0.0.1") -> ThreadingHTTPServer:
        """Serve ``/metrics`` for Prometheus on ``addr:port`` in a daemon thread; returns the server
        (``server.shutdown()`` stops it). Needs ``zlog[prometheus]``. See ``HealthSink.serve_health``
        to serve ``/health`` next to it."""
        from zlog.sinks._endpoint import serve

        return serve(port, addr, {"/metrics": self.exposition})

    def exposition(self) -> tuple[int, bytes, str]:
        """``(status, body, content type)`` of a Prometheus scrape of this sink (needs ``zlog[prometheus]``);
        in multiprocess mode, of the whole directory."""
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        from zlog.sinks._prometheus import registry_for

        return 200, generate_latest(registry_for(self)), CONTENT_TYPE_LATEST

    def drain_at_exit(self, timeout: float | None = None) -> bool:
        """Multiprocess mode, at exit or ``zlog.shutdown()``: this process's ``live*`` gauges leave the
        scrape (``mark_process_dead``); its counters and histograms stay, already in its files."""
        if self._store is not None:
            self._store.mark_dead()
        return True

    def _after_fork(self) -> None:
        if self._store is not None:  # the child writes files of its own pid, from zero
            self._store.restart()

    def stats(self) -> dict[str, Any]:
        """Counters and state; ``overflow`` and ``skipped`` are this process's (since its fork)."""
        with self._lock:
            overflow = sum(self.overflow.values())
            skipped = sum(self.skipped.values())
        return {**super().stats(), "metrics": len(self._metrics), "overflow": overflow, "skipped": skipped}
