"""One declared metric of a ``MetricsSink`` and the update function compiled for it.

The update functions are the metrics sink's hot path: each is specialised at declaration for its
kind and label count, so an event costs a dict lookup or two and no branching on configuration.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from zlog.sinks._labels import MAX_LABEL_CHARS, OVERFLOW, label_value

NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_LABEL = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_INF = math.inf
#: How the gauges of several processes combine (prometheus_client's multiprocess modes); the ``live``
#: modes leave out the processes marked dead.
GAUGE_MODES = frozenset(
    ("all", "liveall", "min", "livemin", "max", "livemax", "sum", "livesum", "mostrecent", "livemostrecent")
)

Fields = dict[str, Any]
Update = Callable[[Fields], None]


class Owner(Protocol):
    """What an update function needs from its sink: the guard and the counters it feeds."""

    max_label_sets: int
    overflow: dict[str, int]
    skipped: dict[tuple[str, str], int]


class Metric:
    """One declared metric: its kind, the signal and field it reads, and its series by label values."""

    def __init__(
        self,
        kind: str,
        name: str,
        help: str,
        signals: tuple[str, ...],
        field: str | None,
        labels: Sequence[str],
        buckets: Sequence[float],
        scale: float,
        *,
        multiprocess_mode: str = "mostrecent",
    ) -> None:
        if not NAME.match(name):
            raise ValueError(f"metric name {name!r} is not a valid Prometheus name (snake_case letters, digits, _)")
        for label in labels:
            if not _LABEL.match(label) or label.startswith("__"):
                raise ValueError(f"label {label!r} of metric {name!r} is not a valid Prometheus label name")
        if kind == "counter" and not name.endswith("_total"):
            raise ValueError(f"counter {name!r} must end in _total (Prometheus naming)")
        if multiprocess_mode not in GAUGE_MODES:
            modes = ", ".join(sorted(GAUGE_MODES))
            raise ValueError(f"multiprocess_mode {multiprocess_mode!r} of {name!r} is not one of {modes}")
        if kind == "histogram":
            buckets = sorted(float(b) for b in buckets)
            if not buckets or any(math.isnan(b) for b in buckets):
                raise ValueError(f"histogram {name!r} needs at least one numeric bucket")
        self.kind = kind
        self.name = name
        self.help = help or f"{kind} from {', '.join(signals)}"
        self.signals = signals
        self.field = field
        self.labels = tuple(labels)
        self.buckets = tuple(b for b in buckets if not math.isinf(b))
        self.scale = float(scale)
        self.multiprocess_mode = multiprocess_mode  # gauges only; used in multiprocess mode
        # counter/gauge: labels -> value; histogram: labels -> [bucket counts..., count, sum]
        self.series: dict[tuple[str, ...], Any] = {}

    def updater(self, owner: Owner) -> Update:
        """The function that applies one event's fields to this metric (called under the sink's lock)."""
        series = self.series
        key_of = key_function(self.labels)
        overflow_key = (OVERFLOW,) * len(self.labels)
        name = self.name

        def admit(key: tuple[str, ...]) -> tuple[str, ...]:
            """``key`` if the guard has room for a new label set, else the overflow key (counted)."""
            if len(series) < owner.max_label_sets:
                return key
            owner.overflow[name] = owner.overflow.get(name, 0) + 1
            return overflow_key

        if self.kind == "counter":

            def count(fields: Fields) -> None:
                key = key_of(fields) if key_of is not None else ()
                if key in series:
                    series[key] += 1
                else:
                    key = admit(key)
                    series[key] = series.get(key, 0) + 1

            return count

        field, scale = self.field, self.scale
        measure = measure_function(owner, name, scale)

        gauge = self.kind == "gauge"
        buckets = self.buckets
        width = len(buckets)

        def measured(fields: Fields) -> None:
            value: Any = fields.get(field)  # type: ignore[arg-type]
            number: float | None
            if value.__class__ is float or value.__class__ is int:  # the fast path; measure() explains the rest
                try:
                    scaled: float = value * scale
                except OverflowError:  # an int too large for a float
                    scaled = _INF
                number = scaled if -_INF < scaled < _INF else measure(value)
            else:
                number = measure(value)
            if number is None:
                return
            key = key_of(fields) if key_of is not None else ()
            if gauge:
                series[key if key in series else admit(key)] = number
                return
            state = series.get(key)
            if state is None:
                key = admit(key)
                state = series.get(key)
                if state is None:  # per-bucket (not yet cumulative) counts, then count and sum
                    state = series[key] = [0] * width + [0, 0.0]
            index = bisect_left(buckets, number)
            if index < width:
                state[index] += 1
            state[-2] += 1
            state[-1] += number

        return measured


def measure_function(owner: Owner, name: str, scale: float) -> Callable[[object], float | None]:
    """The slow path of reading a field: a number, or None after counting why it was skipped."""

    def measure(value: object) -> float | None:
        if value is None:
            reason = "missing"
        elif isinstance(value, bool) or not isinstance(value, (int, float)):
            reason = "not_a_number"
        else:
            try:
                number = float(value) * scale
            except OverflowError:  # an int too large for a float
                number = _INF
            if math.isfinite(number):
                return number
            reason = "not_finite"
        key = (name, reason)
        owner.skipped[key] = owner.skipped.get(key, 0) + 1
        return None

    return measure


def key_function(labels: tuple[str, ...]) -> Callable[[Fields], tuple[str, ...]] | None:
    """Label values of an event as a series key (None for a metric without labels)."""
    if not labels:
        return None
    if len(labels) == 1:
        label = labels[0]

        def one(fields: Fields) -> tuple[str, ...]:
            value: Any = fields.get(label)
            return (value,) if value.__class__ is str and len(value) <= MAX_LABEL_CHARS else (label_value(value),)

        return one
    get_all = labels

    def many(fields: Fields) -> tuple[str, ...]:
        values: list[Any] = [fields.get(label) for label in get_all]
        return tuple([v if v.__class__ is str and len(v) <= MAX_LABEL_CHARS else label_value(v) for v in values])

    return many
