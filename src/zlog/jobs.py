"""The job-system vocabulary: the signals that job code and every job-system integration emit.

Field names mean the same thing on every signal (docs/jobs.md): ``job_id``, ``job_type`` (the task or
actor name), ``queue``, ``worker_id``, ``attempt`` (from 1), ``max_attempts`` (attempts allowed),
``duration_seconds``, ``wait_seconds`` (enqueued to started), ``error`` (the exception),
``retry_in_seconds``, ``parent_job_id``, ``root_job_id``, and for heartbeats ``active_jobs`` and
``concurrency_limit``. A field a job system does not know is left out (its default is None).
"""

from __future__ import annotations

from datetime import datetime

from zlog.signals import signal

__all__ = [
    "JOB_ABANDONED",
    "JOB_COMPLETED",
    "JOB_FAILED",
    "JOB_QUEUED",
    "JOB_RETRYING",
    "JOB_REVOKED",
    "JOB_SCHEDULED",
    "JOB_STARTED",
    "QUEUE_BACKLOG",
    "SCHEDULE_TRIGGERED",
    "WORKER_BUSY",
    "WORKER_ERROR",
    "WORKER_HEARTBEAT",
    "WORKER_IDLE",
    "WORKER_STARTED",
    "WORKER_STOPPED",
]


# -- jobs ----------------------------------------------------------------------------------------
@signal(level="info")
def JOB_QUEUED(
    *,
    job_id: str,
    job_type: str,
    queue: str | None = None,
    max_attempts: int | None = None,
    parent_job_id: str | None = None,
    root_job_id: str | None = None,
) -> None:
    """A job was put on its queue."""


@signal(level="info")
def JOB_SCHEDULED(
    *,
    job_id: str,
    job_type: str,
    run_at: datetime,
    queue: str | None = None,
    parent_job_id: str | None = None,
    root_job_id: str | None = None,
) -> None:
    """A job was set to run later (at run_at)."""


@signal(level="info")
def JOB_STARTED(
    *,
    job_id: str,
    job_type: str,
    attempt: int,
    queue: str | None = None,
    worker_id: str | None = None,
    max_attempts: int | None = None,
    wait_seconds: float | None = None,
    parent_job_id: str | None = None,
    root_job_id: str | None = None,
) -> None:
    """An attempt of a job began on a worker."""


@signal(level="info")
def JOB_COMPLETED(
    *,
    job_id: str,
    job_type: str,
    attempt: int,
    duration_seconds: float,
    queue: str | None = None,
    worker_id: str | None = None,
    max_attempts: int | None = None,
    parent_job_id: str | None = None,
    root_job_id: str | None = None,
) -> None:
    """An attempt of a job succeeded: the job is done."""


@signal(level="warn")
def JOB_FAILED(
    *,
    job_id: str,
    job_type: str,
    attempt: int,
    error: BaseException,
    duration_seconds: float | None = None,
    queue: str | None = None,
    worker_id: str | None = None,
    max_attempts: int | None = None,
    parent_job_id: str | None = None,
    root_job_id: str | None = None,
) -> None:
    """An attempt of a job raised; JOB_RETRYING or JOB_ABANDONED follows."""


@signal(level="info")
def JOB_RETRYING(
    *,
    job_id: str,
    job_type: str,
    attempt: int,
    retry_in_seconds: float | None = None,
    error: BaseException | None = None,
    queue: str | None = None,
    worker_id: str | None = None,
    max_attempts: int | None = None,
    parent_job_id: str | None = None,
    root_job_id: str | None = None,
) -> None:
    """The failed attempt will be followed by another one."""


@signal(level="error")
def JOB_ABANDONED(
    *,
    job_id: str,
    job_type: str,
    attempt: int,
    error: BaseException | None = None,
    queue: str | None = None,
    worker_id: str | None = None,
    max_attempts: int | None = None,
    parent_job_id: str | None = None,
    root_job_id: str | None = None,
) -> None:
    """The job was given up after its last failed attempt: the final failure."""


@signal(level="warn")
def JOB_REVOKED(
    *,
    job_id: str,
    job_type: str | None = None,
    reason: str | None = None,
    queue: str | None = None,
    worker_id: str | None = None,
) -> None:
    """A job was cancelled, stopped or expired before it could complete."""


@signal(level="info")
def SCHEDULE_TRIGGERED(
    *,
    schedule: str,
    job_type: str,
    job_id: str | None = None,
    scheduled_for: datetime | None = None,
    queue: str | None = None,
) -> None:
    """A scheduler's entry came due and sent its job."""


# -- workers and queues -------------------------------------------------------------------------
@signal(level="info")
def WORKER_STARTED(*, worker_id: str, queue: str | None = None, concurrency_limit: int | None = None) -> None:
    """A worker is ready to take jobs."""


@signal(level="info")
def WORKER_STOPPED(*, worker_id: str, reason: str | None = None) -> None:
    """A worker stopped cleanly: it is not expected to send heartbeats any more."""


@signal(level="debug")
def WORKER_BUSY(*, worker_id: str, job_id: str | None = None, active_jobs: int | None = None) -> None:
    """A worker took a job."""


@signal(level="debug")
def WORKER_IDLE(*, worker_id: str, active_jobs: int | None = None) -> None:
    """A worker finished a job and waits for the next."""


@signal(level="debug")
def WORKER_HEARTBEAT(*, worker_id: str, active_jobs: int | None = None, concurrency_limit: int | None = None) -> None:
    """A worker is alive: the jobs it runs now and how many it may run at once."""


@signal(level="error")
def WORKER_ERROR(*, worker_id: str, error: BaseException) -> None:
    """A worker failed outside any job (a lost child process, a broker connection)."""


@signal(level="info")
def QUEUE_BACKLOG(*, queue: str, queue_size: int, oldest_wait_seconds: float | None = None) -> None:
    """How many jobs wait on a queue, measured now."""
