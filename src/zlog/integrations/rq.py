"""RQ: a worker class whose jobs and work horses emit the ``zlog.jobs`` signals.

``rq worker -w zlog.integrations.rq.Worker`` (zlog's routes set up in the module given to ``-c``, or in
the module of your own subclass). Each job's work horse emits ``JOB_STARTED``, then ``JOB_COMPLETED``, or
``JOB_FAILED`` followed by ``JOB_RETRYING`` (the job has retries left) or ``JOB_ABANDONED``, with the
job's carried context bound for the whole run, and ends with ``zlog.shutdown()`` before RQ's
``os._exit``. The worker emits ``WORKER_STARTED``, ``WORKER_HEARTBEAT``, ``WORKER_STOPPED``, and for a
job stopped by ``send_stop_job_command`` ``JOB_REVOKED``. :func:`enqueue` carries what the enqueuing
code bound (``zlog.bind``) to the job. Needs ``pip install 'zlog[rq]'`` (docs/integrations/rq.md).
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any

import zlog
from zlog import jobs
from zlog.integrations import _carry
from zlog.integrations._emit import emit as _emit

try:
    import rq
except ImportError as exc:  # pragma: no cover - exercised without the extra only
    raise ImportError("zlog.integrations.rq needs RQ: pip install 'zlog[rq]'") from exc
from rq import Retry
from rq.job import JobStatus
from rq.worker import BaseWorker

__all__ = ["META_KEY", "WorkHorseLostError", "Worker", "ZlogWorkerMixin", "enqueue", "job_fields"]

#: The key of ``job.meta`` that holds the carried context.
META_KEY = "zlog"
_RETRIED = (JobStatus.SCHEDULED, JobStatus.QUEUED)


class WorkHorseLostError(RuntimeError):
    """The work horse of a job ended without finishing it (killed, or died); RQ's description follows."""


def job_fields(job: rq.job.Job, worker_name: str | None = None) -> dict[str, Any]:
    """The ``zlog.jobs`` fields RQ knows of ``job``: id, function, queue, worker, attempt, attempts allowed.

    RQ keeps only the retries left, so the attempts allowed are kept in ``job.meta`` (by :func:`enqueue`,
    or by the worker at the first attempt of a job enqueued otherwise)."""
    left = job.retries_left or 0
    carried = job.meta.get(META_KEY)
    allowed = carried.get("max_attempts") if isinstance(carried, dict) else None
    if not isinstance(allowed, int) or allowed < 1 + left:
        allowed = 1 + left  # the first attempt
    fields: dict[str, Any] = {
        "job_id": job.id,
        "job_type": job.func_name or "?",
        "queue": job.origin,
        "attempt": allowed - left,
        "max_attempts": allowed,
    }
    if worker_name is not None:
        fields["worker_id"] = worker_name
    return fields


def _remember_attempts(job: rq.job.Job, allowed: int) -> None:
    """Keep the attempts allowed in ``job.meta`` when retries will need it and nothing has kept it yet."""
    carried = job.meta.get(META_KEY)
    if job.retries_left and not (isinstance(carried, dict) and "max_attempts" in carried):
        job.meta[META_KEY] = {**(carried if isinstance(carried, dict) else {}), "max_attempts": allowed}
        job.save_meta()


def _retry_interval(job: rq.job.Job) -> float | None:
    """Seconds until the next attempt should this one fail (RQ's own rule); None without retries left."""
    left = job.retries_left or 0
    if not left:
        return None
    intervals = job.retry_intervals or [0]
    return float(intervals[max(len(intervals) - left, 0)])


def _seconds_since(then: datetime | None) -> float | None:
    if then is None:
        return None
    start = then if then.tzinfo is not None else then.replace(tzinfo=timezone.utc)
    return max(0.0, (datetime.now(timezone.utc) - start).total_seconds())


class ZlogWorkerMixin(BaseWorker):
    """The zlog part of :class:`Worker`, for a custom worker class: list it before RQ's class
    (``class MyWorker(ZlogWorkerMixin, rq.SimpleWorker)``)."""

    _zlog_performing = False
    _zlog_error: BaseException | None = None
    _zlog_beat = 0.0  # when the last WORKER_HEARTBEAT was emitted (monotonic seconds)
    #: The least time in seconds between two ``WORKER_HEARTBEAT`` events of one worker.
    heartbeat_event_interval = 10.0

    # -- the worker process --------------------------------------------------------------------
    def register_birth(self, *args: Any, **kwargs: Any) -> Any:
        result = super().register_birth(*args, **kwargs)  # type: ignore[no-untyped-call]
        _emit(jobs.WORKER_STARTED, "Worker started", worker_id=self.name, queue=",".join(self.queue_names()))
        self._zlog_beat = time.monotonic()
        _emit(jobs.WORKER_HEARTBEAT, "Worker heartbeat", worker_id=self.name, active_jobs=0, concurrency_limit=1)
        return result

    def register_death(self, *args: Any, **kwargs: Any) -> Any:
        result = super().register_death(*args, **kwargs)  # type: ignore[no-untyped-call]
        _emit(jobs.WORKER_STOPPED, "Worker stopped", worker_id=self.name)
        zlog.flush()
        return result

    def heartbeat(self, *args: Any, **kwargs: Any) -> Any:
        result = super().heartbeat(*args, **kwargs)
        due = time.monotonic() - self._zlog_beat >= self.heartbeat_event_interval
        if due and not self._zlog_performing:  # the worker's own beat, not the work horse's
            self._zlog_beat = time.monotonic()
            busy = 1 if self.get_current_job_id() else 0
            _emit(jobs.WORKER_HEARTBEAT, "Worker heartbeat", worker_id=self.name, active_jobs=busy, concurrency_limit=1)
        return result

    # -- the work horse ------------------------------------------------------------------------
    def perform_job(self, job: rq.job.Job, queue: rq.Queue, *args: Any, **kwargs: Any) -> bool:
        fields = job_fields(job, self.name)
        _remember_attempts(job, fields["max_attempts"])
        context, lineage = _carry.incoming(job.meta.get(META_KEY))
        retry_in = _retry_interval(job)
        self._zlog_performing, self._zlog_error = True, None
        try:
            with zlog.bind(**context, **lineage, job_id=job.id):
                _emit(
                    jobs.JOB_STARTED, "Job started", **fields, **lineage, wait_seconds=_seconds_since(job.enqueued_at)
                )
                started = time.perf_counter()
                ok = bool(super().perform_job(job, queue, *args, **kwargs))
                duration = time.perf_counter() - started
                self._emit_outcome(job, fields, lineage, ok, duration, retry_in)
            return ok
        finally:
            self._zlog_performing = False
            if getattr(self, "_is_horse", False):
                zlog.shutdown()  # RQ ends the work horse with os._exit next
            else:
                zlog.flush()

    def _emit_outcome(
        self,
        job: rq.job.Job,
        fields: dict[str, Any],
        lineage: dict[str, str],
        ok: bool,
        duration: float,
        retry_in: float | None,
    ) -> None:
        if ok and isinstance(getattr(job, "_result", None), Retry):  # the job asked to run again
            _emit(jobs.JOB_RETRYING, "Job will run again", **fields, **lineage)
        elif ok:
            _emit(jobs.JOB_COMPLETED, "Job completed", **fields, **lineage, duration_seconds=duration)
        else:
            error = self._zlog_error or WorkHorseLostError("the job failed without an exception")
            _emit(jobs.JOB_FAILED, "Job failed", **fields, **lineage, error=error, duration_seconds=duration)
            if job.get_status(refresh=False) in _RETRIED:
                _emit(jobs.JOB_RETRYING, "Job will be retried", **fields, **lineage, retry_in_seconds=retry_in)
            else:
                _emit(jobs.JOB_ABANDONED, "Job abandoned", **fields, **lineage, error=error)

    def handle_exception(self, job: rq.job.Job, *exc_info: Any) -> Any:
        if len(exc_info) > 1 and isinstance(exc_info[1], BaseException):
            self._zlog_error = exc_info[1]
        return super().handle_exception(job, *exc_info)

    def handle_job_failure(self, job: rq.job.Job, queue: rq.Queue, *args: Any, **kwargs: Any) -> Any:
        if self._zlog_performing:  # the work horse's own failure: perform_job reports it
            return super().handle_job_failure(job, queue, *args, **kwargs)
        # in the worker process: the work horse was stopped, killed or died
        fields = job_fields(job, self.name)
        stopped = getattr(self, "_stopped_job_id", None) == job.id
        will_retry = bool(job.retries_left) and not stopped
        description = str(kwargs.get("exc_string") or "the work horse ended before the job")
        result = super().handle_job_failure(job, queue, *args, **kwargs)
        _, lineage = _carry.incoming(job.meta.get(META_KEY))
        if stopped:
            _emit(
                jobs.JOB_REVOKED, "Job stopped", job_id=job.id, job_type=fields["job_type"], queue=job.origin,
                worker_id=self.name, reason="stopped",
            )  # fmt: skip
        else:
            error = WorkHorseLostError(description.strip())
            _emit(jobs.JOB_FAILED, "Job failed", **fields, **lineage, error=error)
            if will_retry:
                _emit(jobs.JOB_RETRYING, "Job will be retried", **fields, **lineage)
            else:
                _emit(jobs.JOB_ABANDONED, "Job abandoned", **fields, **lineage, error=error)
        zlog.flush()
        return result


class Worker(ZlogWorkerMixin, rq.Worker):
    """RQ's forking worker with zlog's signals: ``rq worker -w zlog.integrations.rq.Worker``."""


def enqueue(queue: rq.Queue, func: Any, *args: Any, **kwargs: Any) -> rq.job.Job:
    """``queue.enqueue(func, *args, **kwargs)`` carrying the bound context (``zlog.bind``) and the current
    job as ``parent_job_id``, and emitting ``JOB_QUEUED``. Takes every argument ``Queue.enqueue`` takes."""
    carried = _carry.outgoing()
    retry = kwargs.get("retry")
    carried["max_attempts"] = 1 + (retry.max if isinstance(retry, Retry) else 0)
    meta = dict(kwargs.pop("meta", None) or {})
    meta[META_KEY] = carried
    job = queue.enqueue(func, *args, meta=meta, **kwargs)
    lineage = {k: carried[k] for k in ("parent_job_id", "root_job_id") if k in carried}
    fields = job_fields(job)
    _emit(jobs.JOB_QUEUED, "Job queued", **{k: fields[k] for k in ("job_id", "job_type", "queue", "max_attempts")},
              **lineage)  # fmt: skip
    return job
