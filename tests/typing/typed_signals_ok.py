"""Calls that mypy and pyright must accept."""

from __future__ import annotations

from typing import Optional

import zlog


@zlog.signal(level="info")
def JOB_QUEUED(*, job_id: str, job_type: str, priority: int = 0) -> None:
    """Job added to the queue."""


@zlog.signal
def JOB_FAILED(*, job_id: str, error: Optional[BaseException] = None, duration_seconds: float = 0.0) -> None:
    """A job failed."""


CACHE_MISS = zlog.Signal("CACHE_MISS", level="debug")

zlog.emit(JOB_QUEUED, "Job queued", job_id="j1", job_type="email")
zlog.emit(JOB_QUEUED, "Job queued", job_id="j1", job_type="email", priority=5)
zlog.emit(JOB_FAILED, "Job failed", job_id="j1", error=ValueError("x"), duration_seconds=2)
zlog.emit(JOB_FAILED, "Job failed", job_id="j1", error=None)
zlog.emit(CACHE_MISS, "Cache miss", key="user:1", anything=[1, 2])
zlog.emit("PLAIN_SIGNAL", "Any fields", job_id=1, nested={"a": [1]})
zlog.info("Hello", user="ada")

router = zlog.Router(strict=True)
router.emit(JOB_QUEUED, "Job queued", job_id="j2", job_type="report")
router.emit("PLAIN_SIGNAL", "plain")
