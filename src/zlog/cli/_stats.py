"""What ``zlog stats`` computes: one pass over the records, then a plain dict summary.

Memory is bounded except for the durations (kept per job type for exact percentiles): counters are
per signal, level, worker and minute, and the error counters are pruned to their most frequent keys
when a log holds more than ``MAX_ERROR_KEYS`` distinct errors (``errors_exact`` is then false).
"""

from __future__ import annotations

import fnmatch
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from zlog._pretty import json_text
from zlog.cli._read import Record, format_time

__all__ = ["Stats", "percentile"]

DURATION_FIELDS = ("duration_seconds", "duration_ms", "duration")
UTILIZATION_SIGNALS = ("WORKER_HEARTBEAT", "WORKER_BUSY", "WORKER_IDLE")
TOP = 10
#: Distinct (type, message) pairs kept before the rarest are pruned; error messages are cut to 200 chars.
MAX_ERROR_KEYS = 10_000


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile (the smallest value with at least p% of the values at or below it)."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def _histogram(values: list[float], bins: int = 12) -> list[dict[str, float]]:
    """Counts in ``bins`` log-spaced buckets from the smallest to the largest positive value."""
    positive = sorted(v for v in values if v > 0)
    if not positive:
        return []
    low, high = math.log10(positive[0]), math.log10(positive[-1])
    if high - low < 1e-9:
        return [{"low": positive[0], "high": positive[-1], "count": len(positive)}]
    step = (high - low) / bins
    counts = [0] * bins
    for v in positive:
        counts[min(bins - 1, int((math.log10(v) - low) / step))] += 1
    edges = [10 ** (low + i * step) for i in range(bins)] + [positive[-1]]  # 10 ** high could overflow
    return [{"low": edges[i], "high": edges[i + 1], "count": c} for i, c in enumerate(counts)]


def _iso(seconds: float | None) -> str | None:
    return None if seconds is None else format_time(seconds)


def _bounded_add(counter: Counter[Any], key: Any, limit: int) -> bool:
    """Count ``key``; past ``limit`` distinct keys keep the ``limit // 2`` most frequent. True if pruned."""
    counter[key] += 1
    if len(counter) <= limit:
        return False
    kept = counter.most_common(limit // 2)
    counter.clear()
    counter.update(dict(kept))
    return True


def _matches(name: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


def _number(value: Any) -> float | None:
    """A JSON number as a finite float; None for anything else (a bool, a string, an int beyond float)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _text(value: Any) -> str:
    """A field value as text: a string as it is, anything else as its JSON text."""
    return value if isinstance(value, str) else json_text(value)


def _mean(values: list[float]) -> float:
    """The mean of finite floats, also when their sum is beyond a float."""
    total = sum(values)
    if math.isfinite(total):
        return total / len(values)
    return sum(v / len(values) for v in values)  # the sum overflowed: the mean may still be a float


@dataclass
class Stats:
    """Accumulates records; ``summary()`` gives the report as plain data."""

    completed: tuple[str, ...] = ("JOB_COMPLETED",)
    failed: tuple[str, ...] = ("JOB_FAILED",)
    abandoned: tuple[str, ...] = ("JOB_ABANDONED",)
    duration_field: str | None = None
    events: int = 0
    skipped: int = 0
    per_signal: Counter[str] = field(default_factory=Counter)
    per_level: Counter[str] = field(default_factory=Counter)
    first: float | None = None
    last: float | None = None
    durations: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: Counter[tuple[str, str]] = field(default_factory=Counter)
    error_types: Counter[str] = field(default_factory=Counter)
    error_events: int = 0
    errors_exact: bool = True
    #: per worker: [sum of active / concurrency, samples]
    utilization: dict[str, list[float]] = field(default_factory=lambda: defaultdict(lambda: [0.0, 0]))
    worker_events: int = 0
    minutes: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    duration_fields: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    outcome_of: dict[str, str | None] = field(default_factory=dict)

    def add_unparsed(self) -> None:
        self.skipped += 1

    def add(self, record: Record) -> None:
        self.events += 1
        signal = record.signal
        self.per_signal[signal] += 1
        self.per_level[record.level or "-"] += 1
        when = record.timestamp()
        if when is not None:
            self.first = when if self.first is None else min(self.first, when)
            self.last = when if self.last is None else max(self.last, when)
            self.minutes[signal][int(when // 60)] += 1
        fields = record.fields
        outcome = self._outcome(signal)
        if outcome is not None:
            self.outcomes[outcome] += 1
            if outcome == "completed":
                self._duration(fields)
        error = fields.get("error")
        if error:  # null, false, 0, "", [] and {} say there was none
            self._error(error)
        if signal in UTILIZATION_SIGNALS:
            self.worker_events += 1
            self._utilization(fields)

    def _utilization(self, fields: dict[str, Any]) -> None:
        """One sample active / concurrency, when the event has a worker, active_jobs >= 0 and a limit > 0."""
        worker = fields.get("worker_id")
        active = _number(fields.get("active_jobs"))
        limit = _number(fields.get("concurrency_limit"))
        if limit is None:
            limit = _number(fields.get("concurrency"))
        if worker is None or active is None or active < 0 or limit is None or limit <= 0:
            return
        ratio = active / limit
        if math.isfinite(ratio):
            sample = self.utilization[_text(worker)]
            sample[0] += ratio
            sample[1] += 1

    def _outcome(self, signal: str) -> str | None:
        """``completed``, ``abandoned``, ``failed`` (first match, in that order) or None; cached per signal."""
        try:
            return self.outcome_of[signal]
        except KeyError:
            pass
        outcome = next(
            (
                name
                for name, patterns in (
                    ("completed", self.completed),
                    ("abandoned", self.abandoned),
                    ("failed", self.failed),
                )
                if _matches(signal, patterns)
            ),
            None,
        )
        if len(self.outcome_of) < 10_000:  # a log with endless distinct signal names stays bounded
            self.outcome_of[signal] = outcome
        return outcome

    def _error(self, error: Any) -> None:
        if isinstance(error, dict):
            kind = error.get("type")
            kind = "?" if kind is None or kind == "" else _text(kind)[:200]
            message = error.get("message")
            text = "" if message is None else _text(message)
        else:
            kind, text = "-", _text(error)
        self.error_events += 1
        pruned = _bounded_add(self.errors, (kind, text[:200]), MAX_ERROR_KEYS)
        pruned = _bounded_add(self.error_types, kind, MAX_ERROR_KEYS) or pruned
        self.errors_exact = self.errors_exact and not pruned

    def _duration(self, fields: dict[str, Any]) -> None:
        if self.duration_field is not None:
            name: str | None = self.duration_field
        else:  # per event: the first of the known names that it carries
            name = next((f for f in DURATION_FIELDS if f in fields), None)
        if name is None:
            return
        value = _number(fields.get(name))
        if value is None:
            return
        self.duration_fields[name] += 1
        seconds = value / 1000 if name.endswith("_ms") else value
        job_type = fields.get("job_type")
        self.durations["-" if job_type is None else _text(job_type)].append(seconds)

    def summary(self) -> dict[str, Any]:
        span = (self.last - self.first) if self.first is not None and self.last is not None else 0.0
        rate_span = span if span > 0 else None
        completed, failed, abandoned = (self.outcomes[k] for k in ("completed", "failed", "abandoned"))
        finished = completed + abandoned
        attempts = completed + failed
        durations: dict[str, Any] = {}
        for job_type, values in sorted(self.durations.items()):
            values.sort()
            durations[job_type] = {
                "count": len(values),
                "p50": percentile(values, 50),
                "p95": percentile(values, 95),
                "p99": percentile(values, 99),
                "min": values[0],
                "max": values[-1],
                "mean": _mean(values),
            }
        workers = {w: total / n for w, (total, n) in sorted(self.utilization.items())}
        histogram = _histogram([x for v in self.durations.values() for x in v])
        samples = sum(int(n) for _, n in self.utilization.values())
        sample_sum = sum(total for total, _ in self.utilization.values())
        return {
            "events": self.events,
            "skipped_lines": self.skipped,
            "first": self.first,
            "last": self.last,
            "first_time": _iso(self.first),
            "last_time": _iso(self.last),
            "span_seconds": span,
            "events_per_second": self.events / rate_span if rate_span else None,
            "signals": {
                s: {"count": n, "per_second": n / rate_span if rate_span else None}
                for s, n in self.per_signal.most_common()
            },
            "levels": dict(self.per_level.most_common()),
            "jobs": {
                "completed": completed,
                "failed_attempts": failed,
                "abandoned": abandoned,
                "success_ratio": completed / finished if finished else None,
                "attempt_failure_ratio": failed / attempts if attempts else None,
            },
            "duration_field": ", ".join(self.duration_fields) or self.duration_field,
            "durations_seconds": durations,
            "duration_histogram": histogram,
            "error_events": self.error_events,
            "errors_exact": self.errors_exact,
            "top_errors": [{"type": k, "message": m, "count": n} for (k, m), n in self.errors.most_common(TOP)],
            "top_error_types": [{"type": k, "count": n} for k, n in self.error_types.most_common(TOP)],
            "utilization": {
                "workers": workers,
                "overall": sample_sum / samples if samples else None,
                "samples": samples,
                "worker_events": self.worker_events,
            },
            "timeline": {s: {str(minute * 60): n for minute, n in sorted(c.items())} for s, c in self.minutes.items()},
        }
