"""Calls that mypy --strict and pyright (strict) must accept."""
# pyright: strict

from __future__ import annotations

from typing import Any, Optional

import zlog


@zlog.signal(level="info")
def JOB_QUEUED(*, job_id: str, job_type: str, priority: int = 0) -> None:
    """Job added to the queue."""


@zlog.signal
def JOB_FAILED(*, job_id: str, error: Optional[BaseException] = None, duration_seconds: float = 0.0) -> None:
    """A job failed (declared with the bare decorator)."""


@zlog.signal(name="job.started", level="debug")
def JOB_STARTED() -> None:
    """A signal with no fields."""


CACHE_MISS = zlog.Signal("CACHE_MISS", level="info")

# typed signals: required fields, defaults, Optional fields
zlog.emit(JOB_QUEUED, "Job queued", job_id="j1", job_type="email")
zlog.emit(JOB_QUEUED, "Job queued", job_id="j1", job_type="email", priority=5)
zlog.emit(JOB_QUEUED, "Job queued", priority=1, job_type="email", job_id="j1")
zlog.emit(JOB_FAILED, "Job failed", job_id="j1")
zlog.emit(JOB_FAILED, "Job failed", job_id="j1", error=ValueError("x"), duration_seconds=2)
zlog.emit(JOB_FAILED, "Job failed", job_id="j1", error=None)
zlog.emit(JOB_STARTED, "Job started")

# Signal("NAME") and plain str signals take any fields
zlog.emit(CACHE_MISS, "Cache miss", key="user:1", anything=[1, 2])
zlog.emit(CACHE_MISS, "Cache miss")
zlog.emit("PLAIN_SIGNAL", "Any fields", job_id=1, nested={"a": [1]})
zlog.emit("PLAIN_SIGNAL", "No fields")
extra: dict[str, Any] = {"a": 1}
zlog.emit("PLAIN_SIGNAL", "Unpacked", **extra)
zlog.emit(zlog.INFO, "Built-in level signal", user="ada")
zlog.emit(zlog.ZLOG_SINK_STATE, "State", sink="s", state="open", previous="closed", reason="errors")
zlog.info("Hello", user="ada")

# a typed signal is still a Signal[...] wherever any signal is accepted
untyped: zlog.Signal[...] = JOB_QUEUED
zlog.emit(untyped, "Any fields once widened", whatever=1)

# a typed signal is accepted wherever the API takes a signal
route = zlog.route(JOB_QUEUED, print)
route.remove()
zlog.default_router.sinks_for(JOB_FAILED)
with zlog.testing.capture() as events:
    events.of(JOB_QUEUED)
metrics = zlog.MetricsSink(declare=[JOB_QUEUED, "PLAIN_SIGNAL"])
metrics.counter("jobs_queued_total", JOB_QUEUED, labels=["job_type"])
metrics.histogram("job_duration_seconds", JOB_FAILED, field="duration_seconds")
zlog.HealthSink(completed=[JOB_QUEUED], failed=[JOB_FAILED, "JOB_ABANDONED"])
alerts = zlog.AlertSink()
alerts.on(JOB_FAILED, name="job_failed")
alerts.ratio([JOB_FAILED], [JOB_QUEUED, JOB_FAILED], above=0.5, window=60.0, name="failure_ratio")

# Router.emit is typed the same way
router = zlog.Router(strict=True)
router.emit(JOB_QUEUED, "Job queued", job_id="j2", job_type="report")
router.emit(JOB_FAILED, "Job failed", job_id="j2", error=RuntimeError("boom"))
router.emit(CACHE_MISS, "Cache miss", key="k")
router.emit("PLAIN_SIGNAL", "plain")
zlog.Router().emit(JOB_QUEUED, "Job queued", job_id="j3", job_type="sms", priority=2)
