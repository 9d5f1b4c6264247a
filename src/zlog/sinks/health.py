"""``HealthSink``: HEALTHY / DEGRADED / UNHEALTHY for workers, queues and the job failure rate."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import orjson

from zlog import _encode
from zlog._signalset import SignalSet, SignalSpec
from zlog.event import Event
from zlog.sinks.base import SinkBase

if TYPE_CHECKING:
    from http.server import ThreadingHTTPServer

    from zlog.sinks.metrics import MetricsSink

__all__ = ["DEGRADED", "HEALTHY", "UNHEALTHY", "HealthSink"]

HEALTHY, DEGRADED, UNHEALTHY = "HEALTHY", "DEGRADED", "UNHEALTHY"
_RANK = {HEALTHY: 0, DEGRADED: 1, UNHEALTHY: 2}


def _check(status: str, reason: str, **details: Any) -> dict[str, Any]:
    return {"status": status, "reason": reason, **details}


class HealthSink(SinkBase):
    """Derives component health from the signals routed to it; ``status()`` reports it.

    - **workers** (by ``worker_field``): DEGRADED when no heartbeat for ``heartbeat_timeout`` seconds,
      UNHEALTHY after twice that; also DEGRADED/UNHEALTHY when a worker reports ``worker_errors``
      errors within ``window`` seconds. A ``worker_stopped`` signal removes the worker.
    - **queues** (by ``queue_field``): the last ``size_field`` against ``backlog`` thresholds.
    - **failure rate**: failed / (failed + completed) within ``window``, once ``min_events`` were seen,
      against ``failure_rate`` thresholds.
    """

    def __init__(
        self,
        *,
        heartbeat: SignalSpec = ("WORKER_HEARTBEAT", "WORKER_STARTED", "WORKER_IDLE", "WORKER_BUSY"),
        worker_error: SignalSpec = ("WORKER_ERROR",),
        worker_stopped: SignalSpec = ("WORKER_STOPPED",),
        worker_field: str = "worker_id",
        heartbeat_timeout: float = 30.0,
        worker_errors: tuple[int, int] = (3, 10),
        queue_check: SignalSpec = ("QUEUE_HEALTH_CHECK",),
        queue_field: str = "queue",
        size_field: str = "queue_size",
        backlog: tuple[float, float] = (100, 1000),
        completed: SignalSpec = ("JOB_COMPLETED",),
        failed: SignalSpec = ("JOB_FAILED", "JOB_ABANDONED"),
        failure_rate: tuple[float, float] = (0.1, 0.25),
        min_events: int = 20,
        window: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
        name: str = "health",
    ) -> None:
        for label, (low, high) in (
            ("worker_errors", worker_errors),
            ("backlog", backlog),
            ("failure_rate", failure_rate),
        ):
            if not low <= high:
                raise ValueError(f"{label} thresholds must be (degraded, unhealthy) with degraded <= unhealthy")
        if heartbeat_timeout <= 0 or window <= 0:
            raise ValueError("heartbeat_timeout and window must be > 0 seconds")
        super().__init__(name=name)
        self._heartbeat = SignalSet(heartbeat, what="HealthSink(heartbeat=...)")
        self._worker_error = SignalSet(worker_error, what="HealthSink(worker_error=...)")
        self._worker_stopped = SignalSet(worker_stopped, what="HealthSink(worker_stopped=...)")
        self._queue_check = SignalSet(queue_check, what="HealthSink(queue_check=...)")
        self._completed = SignalSet(completed, what="HealthSink(completed=...)")
        self._failed = SignalSet(failed, what="HealthSink(failed=...)")
        self.worker_field, self.queue_field, self.size_field = worker_field, queue_field, size_field
        self.heartbeat_timeout = heartbeat_timeout
        self.worker_errors, self.backlog, self.failure_rate = worker_errors, backlog, failure_rate
        self.min_events, self.window = min_events, window
        self._clock = clock
        self._seen: dict[str, float] = {}
        self._errors: dict[str, deque[float]] = {}
        self._queues: dict[str, float] = {}
        self._outcomes: deque[tuple[float, bool]] = deque()

    def handle(self, event: Event) -> None:
        if self._closed:
            self._refuse()
        name, fields = event[0], event[3]
        now = self._clock()
        with self._lock:
            worker = fields.get(self.worker_field)
            if worker is not None:
                key = str(worker)
                if name in self._worker_stopped:
                    self._seen.pop(key, None)
                    self._errors.pop(key, None)
                elif name in self._heartbeat:
                    self._seen[key] = now
                elif name in self._worker_error:
                    self._seen.setdefault(key, now)
                    self._errors.setdefault(key, deque()).append(now)
            if name in self._queue_check:
                size = fields.get(self.size_field)
                if isinstance(size, (int, float)) and not isinstance(size, bool):
                    self._queues[str(fields.get(self.queue_field, "default"))] = float(size)
            if name in self._completed or name in self._failed:
                self._outcomes.append((now, name in self._failed))

    def status(self) -> dict[str, Any]:
        """``{"status", "checks": {name: {"status", "reason", ...}}, "timestamp"}``, JSON-ready."""
        now = self._clock()
        checks: dict[str, dict[str, Any]] = {}
        with self._lock:
            for worker, seen in sorted(self._seen.items()):
                checks[f"worker:{worker}"] = self._worker(worker, now - seen, now)
            for queue, size in sorted(self._queues.items()):
                checks[f"queue:{queue}"] = self._queue(size)
            checks["failure_rate"] = self._failures(now)
        overall = max((c["status"] for c in checks.values()), key=_RANK.__getitem__, default=HEALTHY)
        return {"status": overall, "checks": checks, "timestamp": _encode.Clock().stamp(time.time_ns())}

    def _worker(self, worker: str, age: float, now: float) -> dict[str, Any]:
        errors = self._errors.get(worker, deque())
        while errors and errors[0] < now - self.window:
            errors.popleft()
        low, high = self.worker_errors
        details = {"heartbeat_age_seconds": round(age, 3), "errors_in_window": len(errors)}
        if age >= 2 * self.heartbeat_timeout:
            return _check(UNHEALTHY, f"no heartbeat for {age:.0f}s", **details)
        if len(errors) >= high:
            return _check(UNHEALTHY, f"{len(errors)} errors in {self.window:.0f}s", **details)
        if age >= self.heartbeat_timeout:
            return _check(DEGRADED, f"no heartbeat for {age:.0f}s", **details)
        if len(errors) >= low:
            return _check(DEGRADED, f"{len(errors)} errors in {self.window:.0f}s", **details)
        return _check(HEALTHY, "heartbeat fresh", **details)

    def _queue(self, size: float) -> dict[str, Any]:
        low, high = self.backlog
        if size >= high:
            return _check(UNHEALTHY, f"backlog {size:g} >= {high:g}", queue_size=size)
        if size >= low:
            return _check(DEGRADED, f"backlog {size:g} >= {low:g}", queue_size=size)
        return _check(HEALTHY, f"backlog {size:g}", queue_size=size)

    def _failures(self, now: float) -> dict[str, Any]:
        while self._outcomes and self._outcomes[0][0] < now - self.window:
            self._outcomes.popleft()
        total = len(self._outcomes)
        failed = sum(1 for _, bad in self._outcomes if bad)
        if total < self.min_events:
            return _check(HEALTHY, f"{total} jobs in window, fewer than {self.min_events}", jobs=total, failed=failed)
        rate = failed / total
        low, high = self.failure_rate
        details = {"jobs": total, "failed": failed, "rate": round(rate, 4)}
        if rate >= high:
            return _check(UNHEALTHY, f"failure rate {rate:.0%} >= {high:.0%}", **details)
        if rate >= low:
            return _check(DEGRADED, f"failure rate {rate:.0%} >= {low:.0%}", **details)
        return _check(HEALTHY, f"failure rate {rate:.0%}", **details)

    def serve_health(
        self, port: int, addr: str = "127.0.0.1", *, metrics: MetricsSink | None = None
    ) -> ThreadingHTTPServer:
        """Serve ``/health`` (200, or 503 when UNHEALTHY) and, given ``metrics``, ``/metrics``."""
        from zlog.sinks._endpoint import Page, serve

        pages: dict[str, Page] = {"/health": self.health_response}
        if metrics is not None:
            pages["/metrics"] = metrics.exposition
        return serve(port, addr, pages)

    def health_response(self) -> tuple[int, bytes, str]:
        """``(status, body, content type)`` of ``/health``: 200, or 503 when UNHEALTHY; the report as JSON."""
        report = self.status()
        return 503 if report["status"] == UNHEALTHY else 200, orjson.dumps(report), "application/json"
