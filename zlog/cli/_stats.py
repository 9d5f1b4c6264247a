"""What ``zlog stats`` computes: one pass over the records, then a plain dict summary."""

from __future__ import annotations

import fnmatch
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from zlog.cli._read import Record

__all__ = ["Stats", "percentile"]

DURATION_FIELDS = ("duration_seconds", "duration_ms", "duration")
UTILIZATION_SIGNALS = ("WORKER_HEARTBEAT", "WORKER_BUSY", "WORKER_IDLE")
TOP = 10


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
    return [{"low": 10 ** (low + i * step), "high": 10 ** (low + (i + 1) * step), "count": c}
            for i, c in enumerate(counts)]


def _matches(name: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


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
    utilization: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    minutes: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    detected_field: str | None = None
    outcomes: Counter[str] = field(default_factory=Counter)

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
        if _matches(signal, self.completed):
            self.outcomes["completed"] += 1
            self._duration(fields)
        elif _matches(signal, self.abandoned):
            self.outcomes["abandoned"] += 1
        elif _matches(signal, self.failed):
            self.outcomes["failed"] += 1
        error = fields.get("error")
        if error is not None:
            if isinstance(error, dict):
                kind, text = str(error.get("type") or "?"), str(error.get("message") or "")
            else:
                kind, text = "-", str(error)
            self.errors[(kind, text[:200])] += 1
        if signal in UTILIZATION_SIGNALS:
            worker = fields.get("worker_id")
            active = _number(fields.get("active_jobs"))
            limit = _number(fields.get("concurrency_limit", fields.get("concurrency")))
            if worker is not None and active is not None and limit:
                self.utilization[str(worker)].append(active / limit)

    def _duration(self, fields: dict[str, Any]) -> None:
        name = self.duration_field or self.detected_field
        if name is None:
            name = next((f for f in DURATION_FIELDS if f in fields), None)
            if name is None:
                return
            self.detected_field = name
        value = _number(fields.get(name))
        if value is None:
            return
        seconds = value / 1000 if name.endswith("_ms") else value
        self.durations[str(fields.get("job_type", "-"))].append(seconds)

    def summary(self) -> dict[str, Any]:
        span = (self.last - self.first) if self.first is not None and self.last is not None else 0.0
        rate_span = span if span > 0 else None
        completed, failed, abandoned = (self.outcomes[k] for k in ("completed", "failed", "abandoned"))
        finished = completed + abandoned
        attempts = completed + failed
        durations: dict[str, Any] = {}
        for job_type, values in sorted(self.durations.items()):
            values.sort()
            durations[job_type] = {"count": len(values), "p50": percentile(values, 50),
                                   "p95": percentile(values, 95), "p99": percentile(values, 99),
                                   "max": values[-1], "mean": sum(values) / len(values)}
        workers = {w: sum(v) / len(v) for w, v in sorted(self.utilization.items())}
        histogram = _histogram([x for v in self.durations.values() for x in v])
        all_samples = [x for v in self.utilization.values() for x in v]
        return {
            "events": self.events,
            "skipped_lines": self.skipped,
            "first": self.first,
            "last": self.last,
            "span_seconds": span,
            "events_per_second": self.events / rate_span if rate_span else None,
            "signals": {s: {"count": n, "per_second": n / rate_span if rate_span else None}
                        for s, n in self.per_signal.most_common()},
            "levels": dict(self.per_level.most_common()),
            "jobs": {"completed": completed, "failed_attempts": failed, "abandoned": abandoned,
                     "success_ratio": completed / finished if finished else None,
                     "attempt_failure_ratio": failed / attempts if attempts else None},
            "duration_field": self.duration_field or self.detected_field,
            "durations_seconds": durations,
            "duration_histogram": histogram,
            "top_errors": [{"type": k, "message": m, "count": n} for (k, m), n in self.errors.most_common(TOP)],
            "utilization": {"workers": workers,
                            "overall": sum(all_samples) / len(all_samples) if all_samples else None},
            "timeline": {s: {str(minute * 60): n for minute, n in sorted(c.items())}
                         for s, c in self.minutes.items()},
        }
