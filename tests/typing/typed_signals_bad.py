"""Calls that mypy and pyright must reject, each on the line marked expect-error (and no other line)."""

from __future__ import annotations

from typing import Optional

import zlog


@zlog.signal(level="info")
def JOB_QUEUED(*, job_id: str, job_type: str, priority: int = 0) -> None:
    """Job added to the queue."""


@zlog.signal
def JOB_FAILED(*, job_id: str, error: Optional[BaseException] = None) -> None:
    """A job failed (declared with the bare decorator)."""


@zlog.signal(name="job.started")
def JOB_STARTED() -> None:
    """A signal with no fields."""


# wrong field name
zlog.emit(JOB_QUEUED, "Job queued", job_id="j1", job_typ="email")  # expect-error
zlog.emit(JOB_QUEUED, "Job queued", job_id="j1", job_type="email", extra=True)  # expect-error
zlog.emit(JOB_STARTED, "Job started", job_id="j1")  # expect-error
# wrong field type
zlog.emit(JOB_QUEUED, "Job queued", job_id=1, job_type="email")  # expect-error
zlog.emit(JOB_QUEUED, "Job queued", job_id="j1", job_type="email", priority="high")  # expect-error
zlog.emit(JOB_FAILED, "Job failed", job_id="j1", error="not an exception")  # expect-error
# missing required field
zlog.emit(JOB_QUEUED, "Job queued", job_id="j1")  # expect-error
zlog.emit(JOB_FAILED, "Job failed")  # expect-error
# extra positional argument (fields are keyword-only)
zlog.emit(JOB_QUEUED, "Job queued", "j1", "email")  # expect-error
zlog.emit(JOB_STARTED, "Job started", "extra")  # expect-error
# non-str message, or none at all
zlog.emit(JOB_QUEUED, 42, job_id="j1", job_type="email")  # expect-error
zlog.emit("PLAIN_SIGNAL", None)  # expect-error
zlog.emit(JOB_QUEUED)  # expect-error
# Router.emit checks the same way
zlog.Router().emit(JOB_QUEUED, "Job queued", job_id="j1", job_type="email", extra=True)  # expect-error
zlog.Router(strict=True).emit(JOB_QUEUED, "Job queued", job_id="j1", job_type=3)  # expect-error
zlog.Router().emit(JOB_QUEUED, "Job queued", job_type="email")  # expect-error
