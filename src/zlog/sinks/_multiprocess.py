"""A ``MetricsSink``'s series in prometheus_client's multiprocess files, summed over every process.

Each process writes its own values to mmap'd ``<type>_<pid>.db`` files in ``PROMETHEUS_MULTIPROC_DIR``
(prometheus_client's format); a scrape reads the whole directory with ``MultiProcessCollector``.

Which code writes the files: when prometheus_client chose its multiprocess value class at import
(the variable was set before it was imported), zlog's values in that directory are made by that class,
so that zlog and the program's own prometheus_client metrics share this process's files (two writers of
one file would corrupt it); a forked child gets a new lock for it. Otherwise zlog writes the files
itself (``_Files``), in the directory fixed when the sink was made, with a lock that a forked child
re-creates. Either way a forked child writes to files of its own pid, starting from zero.
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
import time
import weakref
from bisect import bisect_left
from collections.abc import Callable, Hashable, Iterable
from typing import Any, Protocol, TypeVar

from zlog import _fork
from zlog.sinks._labels import OVERFLOW
from zlog.sinks._metric import Fields, Metric, Owner, Update, key_function, measure_function

try:
    from prometheus_client import values
    from prometheus_client.mmap_dict import MmapedDict, mmap_key
    from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
    from prometheus_client.utils import floatToGoString

    from zlog.sinks._prometheus import EVENTS_HELP, OVERFLOW_HELP, SKIPPED_HELP
except ImportError as exc:  # pragma: no cover - depends on the install
    raise ImportError(
        "MetricsSink in multiprocess mode needs the prometheus_client package: pip install 'zlog[prometheus]'"
    ) from exc

__all__ = ["Store"]


def go_float(value: float) -> str:
    """A bucket bound as prometheus_client writes it in the ``le`` label."""
    return str(floatToGoString(value))  # type: ignore[no-untyped-call]


K = TypeVar("K", bound=Hashable)


class Value(Protocol):
    """One series in this process's file (prometheus_client's ``MmapedValue`` or zlog's ``_FileValue``)."""

    def inc(self, amount: float) -> None: ...

    def set(self, value: float, timestamp: float) -> None: ...


class _Files:
    """This process's mmap'd files in one directory, one per file prefix (``counter``, ``gauge_livesum``...)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.lock = threading.Lock()
        self.open: dict[str, Any] = {}
        _fork.after_fork_in_child(self, _Files._forked)

    def _forked(self) -> None:
        """In a forked child: the parent's files stay the parent's; the child opens files of its own pid."""
        self.lock = threading.Lock()
        parents, self.open = self.open, {}
        for mapped in parents.values():
            with contextlib.suppress(Exception):  # the child's copies of the parent's maps; the parent keeps its own
                mapped.close()

    def file(self, prefix: str) -> Any:
        """The file of ``prefix`` for this process (call with ``lock`` held)."""
        mapped = self.open.get(prefix)
        if mapped is None:
            name = os.path.join(self.path, f"{prefix}_{os.getpid()}.db")
            mapped = self.open[prefix] = MmapedDict(name)  # type: ignore[no-untyped-call]
        return mapped


class _FileValue:
    """One series, read and written in this process's file on every update (nothing cached across a fork)."""

    __slots__ = ("_files", "_key", "_prefix")

    def __init__(self, files: _Files, prefix: str, key: str) -> None:
        self._files, self._prefix, self._key = files, prefix, key
        with files.lock:
            files.file(prefix).read_value(key)  # the series exists from now on, at 0

    def inc(self, amount: float) -> None:
        files = self._files
        with files.lock:
            mapped = files.file(self._prefix)
            value, _ = mapped.read_value(self._key)
            mapped.write_value(self._key, value + amount, 0.0)

    def set(self, value: float, timestamp: float) -> None:
        files = self._files
        with files.lock:
            files.file(self._prefix).write_value(self._key, value, timestamp)


_renewed: list[object] = []
_prometheus_path: list[str] = []  # where prometheus_client's own multiprocess values write this process's files


def _shares_files(path: str) -> bool:
    """Whether prometheus_client's own multiprocess value class writes this process's files in ``path``: it
    chose them at import, opens them in the directory of the variable, and keeps them open."""
    if not getattr(values.ValueClass, "_multiprocess", False):
        return False
    if not _prometheus_path:
        _prometheus_path.append(os.path.realpath(os.environ.get("PROMETHEUS_MULTIPROC_DIR", path)))
        _renew_lock_after_fork(values.ValueClass)
    return _prometheus_path[0] == path


def _renew_lock_after_fork(value_class: Any) -> None:
    """prometheus_client's multiprocess values share one lock per process, which a forked child would inherit
    held if another thread was updating a value at that moment: the child gets a new one, as zlog's locks do
    (the child then writes files of its own, so what the parent's thread was writing stays the parent's)."""
    try:
        inc = value_class.inc
        cell = inc.__closure__[inc.__code__.co_freevars.index("lock")]
    except (AttributeError, IndexError, TypeError, ValueError):  # pragma: no cover - another prometheus_client
        return
    if not any(known is cell for known in _renewed):  # once per lock; a forked child inherits the hook
        _renewed.append(cell)
        os.register_at_fork(after_in_child=lambda: setattr(cell, "cell_contents", threading.Lock()))


class _Directory:
    """The series this process writes in one directory, shared by every sink that writes there."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = _fork.owned_lock(self)
        self._values: dict[tuple[str, str], Value] = {}
        self._files = None if _shares_files(path) else _Files(path)

    def value(
        self,
        typ: str,
        family: str,
        sample: str,
        labels: tuple[str, ...],
        key: tuple[str, ...],
        help: str,
        mode: str = "",
    ) -> Value:
        """The series ``sample{labels=key}`` of the ``family`` of type ``typ`` (one object per series)."""
        prefix = f"gauge_{mode}" if typ == "gauge" else typ
        encoded = mmap_key(family, sample, list(labels), list(key), help)
        with self._lock:
            found = self._values.get((prefix, encoded))
            if found is None:
                if self._files is None:
                    found = values.ValueClass(typ, family, sample, labels, key, help, multiprocess_mode=mode)
                else:
                    found = _FileValue(self._files, prefix, encoded)
                self._values[(prefix, encoded)] = found
            return found

    def counter(self, name: str, labels: tuple[str, ...], key: tuple[str, ...], help: str) -> Value:
        return self.value("counter", name.removesuffix("_total"), name, labels, key, help)


class _Directories:
    """One ``_Directory`` per path while a sink uses it (its files close with the last such sink)."""

    def __init__(self) -> None:
        self._lock = _fork.owned_lock(self)
        self._known: weakref.WeakValueDictionary[str, _Directory] = weakref.WeakValueDictionary()

    def __call__(self, path: str) -> _Directory:
        path = os.path.realpath(path)
        with self._lock:
            found = self._known.get(path)
            if found is None:
                found = self._known[path] = _Directory(path)
            return found


_directory = _Directories()


class FileCounts(dict[K, int]):
    """A count per key for this process, each increment also added to the key's series in the files.

    Stands in for the sink's plain dicts (``_events``, ``overflow``, ``skipped``), so the code that counts
    into them is the same in both modes; only ``d[key] = n`` is taken (the increment is ``n - d[key]``).
    """

    def __init__(self, series: Callable[[K], Value]) -> None:
        super().__init__()
        self._series = series
        self._values: dict[K, Value] = {}

    def __setitem__(self, key: K, count: int) -> None:
        value = self._values.get(key)
        if value is None:
            value = self._values[key] = self._series(key)
        value.inc(count - self.get(key, 0))
        super().__setitem__(key, count)

    def restart(self) -> None:
        """In a forked child: this process has counted nothing yet (its files start empty)."""
        for key in self:
            super().__setitem__(key, 0)


class Store:
    """The multiprocess side of one ``MetricsSink``: its counters, metric updates, scrape and snapshot."""

    def __init__(self, path: str, namespace: str) -> None:
        self.path = os.path.realpath(path)
        self.namespace = namespace
        directory = self._directory = _directory(path)
        events, overflow, skipped = (f"{namespace}_{n}_total" for n in ("events", "metric_overflow", "metric_skipped"))
        self.events: FileCounts[str] = FileCounts(lambda s: directory.counter(events, ("signal",), (s,), EVENTS_HELP))
        self.overflow: FileCounts[str] = FileCounts(
            lambda m: directory.counter(overflow, ("metric",), (m,), OVERFLOW_HELP)
        )
        self.skipped: FileCounts[tuple[str, str]] = FileCounts(
            lambda k: directory.counter(skipped, ("metric", "reason"), k, SKIPPED_HELP)
        )
        self.overflow[events] = 0  # every metric's overflow series exists from the start, as in one process

    def restart(self) -> None:
        """In a forked child: the counts of this process start from zero (``stats()`` is per process)."""
        for counts in (self.events, self.overflow, self.skipped):
            counts.restart()

    def mark_dead(self) -> None:
        """This process is ending: its ``live*`` gauges leave the scrape (prometheus_client's bookkeeping)."""
        mark_process_dead(os.getpid(), self.path)  # type: ignore[no-untyped-call]

    def updater(self, metric: Metric, owner: Owner) -> Update:
        """The update of ``metric`` for one event, writing this process's series (under the sink's lock)."""
        name = metric.name
        if name not in owner.overflow:
            owner.overflow[name] = 0
        series = self._series_function(metric)
        children: dict[tuple[str, ...], Any] = {}  # label values -> this process's series (the guard's count)
        key_of = key_function(metric.labels)
        overflow_key = (OVERFLOW,) * len(metric.labels)

        def child(key: tuple[str, ...]) -> Any:
            found = children.get(key)
            if found is None:
                if len(children) >= owner.max_label_sets:
                    owner.overflow[name] = owner.overflow.get(name, 0) + 1
                    key = overflow_key
                    found = children.get(key)
                if found is None:
                    found = children[key] = series(key)
            return found

        if metric.kind == "counter":

            def count(fields: Fields) -> None:
                child(key_of(fields) if key_of is not None else ()).inc(1.0)

            return count

        field = metric.field
        measure = measure_function(owner, name, metric.scale)
        if metric.kind == "gauge":

            def gauge(fields: Fields) -> None:
                number = measure(fields.get(field))  # type: ignore[arg-type]
                if number is not None:
                    child(key_of(fields) if key_of is not None else ()).set(number, time.time())

            return gauge
        bounds = metric.buckets

        def observe(fields: Fields) -> None:
            number = measure(fields.get(field))  # type: ignore[arg-type]
            if number is not None:
                total, buckets = child(key_of(fields) if key_of is not None else ())
                total.inc(number)
                buckets[bisect_left(bounds, number)].inc(1.0)  # the first bucket whose bound is >= the number

        return observe

    def _series_function(self, metric: Metric) -> Callable[[tuple[str, ...]], Any]:
        """label values -> the series of one label set: a Value, or a histogram's (sum, [bucket, ..., +Inf])."""
        directory, name, labels, help = self._directory, metric.name, metric.labels, metric.help
        if metric.kind == "counter":
            return lambda key: directory.counter(name, labels, key, help)
        if metric.kind == "gauge":
            mode = metric.multiprocess_mode
            return lambda key: directory.value("gauge", name, name, labels, key, help, mode)
        bounds = [go_float(b) for b in (*metric.buckets, math.inf)]
        bucket_labels = (*labels, "le")

        def histogram(key: tuple[str, ...]) -> tuple[Value, list[Value]]:
            total = directory.value("histogram", name, f"{name}_sum", labels, key, help)
            buckets = [
                directory.value("histogram", name, f"{name}_bucket", bucket_labels, (*key, le), help) for le in bounds
            ]
            return total, buckets

        return histogram

    # -- reading -------------------------------------------------------------------------------
    def collector(self) -> Any:
        """prometheus_client's collector of the whole directory: every process, zlog's and the program's metrics."""
        return MultiProcessCollector(None, path=self.path)  # type: ignore[no-untyped-call]

    def snapshot(self, signals: Iterable[str], metrics: Iterable[Metric]) -> dict[str, Any]:
        """``MetricsSink.snapshot()``'s plain data, for all processes of the directory together."""
        families = {family.name: family for family in self.collector().collect()}

        def samples(family: str, sample: str) -> list[tuple[dict[str, str], float]]:
            found = families.get(family)
            return [] if found is None else [(s.labels, s.value) for s in found.samples if s.name == sample]

        ns = self.namespace
        events = dict.fromkeys(signals, 0)
        for labels, value in samples(f"{ns}_events", f"{ns}_events_total"):
            events[labels["signal"]] = round(value)
        overflow = {m["metric"]: round(v) for m, v in samples(f"{ns}_metric_overflow", f"{ns}_metric_overflow_total")}
        skipped = {
            f"{m['metric']}:{m['reason']}": round(v)
            for m, v in samples(f"{ns}_metric_skipped", f"{ns}_metric_skipped_total")
        }
        found = {
            m.name: {"kind": m.kind, "help": m.help, "signals": list(m.signals), "series": _series(m, samples)}
            for m in metrics
        }
        return {
            "events": events,
            "metrics": found,
            "overflow": {m: n for m, n in overflow.items() if n},
            "skipped": {k: n for k, n in sorted(skipped.items()) if n},
        }


Samples = Callable[[str, str], list[tuple[dict[str, str], float]]]


def _series(metric: Metric, samples: Samples) -> list[dict[str, Any]]:
    """The series of one metric in the snapshot's shape (gauges of the ``all`` modes keep their ``pid`` label)."""
    name, labels = metric.name, metric.labels

    def label_set(found: dict[str, str]) -> dict[str, str]:
        return {k: found[k] for k in (*labels, "pid") if k in found}

    if metric.kind == "counter":
        found = samples(name.removesuffix("_total"), name)
        return [{"labels": label_set(s), "value": round(v)} for s, v in sorted(found, key=_order)]
    if metric.kind == "gauge":
        return [{"labels": label_set(s), "value": v} for s, v in sorted(samples(name, name), key=_order)]
    series: dict[tuple[tuple[str, str], ...], dict[str, Any]] = {}
    for s, v in samples(name, f"{name}_sum"):
        key = tuple(sorted(label_set(s).items()))
        series[key] = {"labels": label_set(s), "buckets": {}, "count": 0, "sum": v}
    bounds = {go_float(b): str(b) for b in metric.buckets} | {"+Inf": "+Inf"}
    for s, v in samples(name, f"{name}_bucket"):
        one = series.get(tuple(sorted(label_set(s).items())))
        if one is not None and s["le"] in bounds:
            one["buckets"][bounds[s["le"]]] = round(v)
    for one in series.values():
        one["buckets"] = {bound: one["buckets"].get(bound, 0) for bound in bounds.values()}
        one["count"] = one["buckets"]["+Inf"]
    return [series[key] for key in sorted(series)]


def _order(sample: tuple[dict[str, str], float]) -> list[tuple[str, str]]:
    return sorted(sample[0].items())
