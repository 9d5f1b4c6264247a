"""Calls that mypy and pyright must reject, each on the line marked expect-error."""

from __future__ import annotations

import zlog


@zlog.signal(level="info")
def JOB_QUEUED(*, job_id: str, job_type: str, priority: int = 0) -> None:
    """Job added to the queue."""


zlog.emit(JOB_QUEUED, "Job queued", job_id="j1", job_typ="email")  # expect-error
zlog.emit(JOB_QUEUED, "Job queued", job_id=1, job_type="email")  # expect-error
zlog.emit(JOB_QUEUED, "Job queued", job_id="j1", job_type="email", priority="high")  # expect-error
zlog.emit(JOB_QUEUED, "Job queued", job_id="j1")  # expect-error
zlog.emit(JOB_QUEUED, "Job queued", "j1", job_id="j1", job_type="email")  # expect-error
zlog.emit(JOB_QUEUED, 42, job_id="j1", job_type="email")  # expect-error
zlog.Router().emit(JOB_QUEUED, "Job queued", job_id="j1", job_type="email", extra=True)  # expect-error
