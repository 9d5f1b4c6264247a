"""Celery: ``instrument(app)`` turns a Celery app's signals into the ``zlog.jobs`` signals.

Publisher side: ``JOB_QUEUED`` with the queue, and the bound context (``zlog.bind``) carried in the
message headers. Worker side (prefork, threads, solo): ``JOB_STARTED``, then ``JOB_COMPLETED``, or
``JOB_FAILED`` followed by ``JOB_RETRYING`` (the task called ``retry``) or ``JOB_ABANDONED``; the carried
context bound for the task's run; ``JOB_REVOKED``; ``WORKER_STARTED`` / ``WORKER_STOPPED``; failures
that Celery reports in the parent process (``WorkerLostError``) carry the job's fields themselves.
Prefork children flush after each task when they are recycled and shut zlog down when they end.
Needs ``pip install 'zlog[celery]'`` (docs/integrations/celery.md).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from typing import Any

import zlog
from zlog import jobs
from zlog.context import Binding
from zlog.integrations import _carry
from zlog.integrations._emit import emit as _emit

try:
    from celery import Celery, signals
except ImportError as exc:  # pragma: no cover - exercised without the extra only
    raise ImportError("zlog.integrations.celery needs Celery: pip install 'zlog[celery]'") from exc

__all__ = ["HEADER", "instrument"]

#: The message header that carries the bound context.
HEADER = "zlog"


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _other(job_id: str, related: object) -> str | None:
    """A parent or root id, unless it is the job itself (Celery names a job its own root, and a retry's
    parent)."""
    text = _text(related)
    return text if text != job_id else None


class _Instrumentation:
    """The receivers of one app, and what they keep between a task's signals (per task id)."""

    def __init__(self, app: Celery, *, capture: bool, flush_after_task: bool | None) -> None:
        self.app = app
        self.capture = capture
        self.flush_after_task = flush_after_task
        self.running: dict[str, tuple[Binding, float, dict[str, Any]]] = {}
        self.lock = threading.Lock()

    # -- helpers -----------------------------------------------------------------------------
    def _owns(self, task: Any) -> bool:
        return getattr(task, "app", None) is self.app

    def _fields(self, task: Any, request: Any) -> dict[str, Any]:
        retries = getattr(request, "retries", 0) or 0
        # the attempts allowed, where the task says so (Celery's default of 3 retries applies only to
        # a task that calls retry(), which the task's options do not tell)
        explicit = "max_retries" in type(task).__dict__ or bool(getattr(task, "autoretry_for", ()))
        max_retries = getattr(task, "max_retries", None) if explicit else None
        delivery = getattr(request, "delivery_info", None) or {}
        job_id = str(getattr(request, "id", None) or "?")
        _, lineage = _carry.incoming(request.get(HEADER) if hasattr(request, "get") else None)
        return {
            "job_id": job_id,
            "job_type": getattr(task, "name", None) or getattr(request, "task", None) or "?",
            "queue": _text(delivery.get("routing_key")) or _text(delivery.get("exchange")),
            "worker_id": _text(getattr(request, "hostname", None)),
            "attempt": retries + 1,
            "max_attempts": None if max_retries is None else max_retries + 1,
            "parent_job_id": lineage.get("parent_job_id") or _other(job_id, getattr(request, "parent_id", None)),
            "root_job_id": lineage.get("root_job_id") or _other(job_id, getattr(request, "root_id", None)),
        }

    def _finish(self, task_id: str | None) -> tuple[float | None, dict[str, Any] | None]:
        """The run time and fields of a task started in this process (and its context unbound)."""
        with self.lock:
            entry = self.running.pop(task_id or "", None)
        if entry is None:
            return None, None
        binding, started, fields = entry
        with contextlib.suppress(RuntimeError):  # ended in another context than it started in: nothing bound here
            binding.__exit__(None, None, None)
        return time.perf_counter() - started, fields

    # -- publisher ---------------------------------------------------------------------------
    def before_publish(self, sender: Any = None, headers: Any = None, routing_key: Any = None, **_: Any) -> None:
        if not isinstance(headers, dict) or "id" not in headers or HEADER in headers:
            return  # a message of another protocol, not a task, or one another instrumented app took
        job_id = str(headers["id"])
        carried = _carry.outgoing()
        carried["enqueued_at"] = time.time()
        current = zlog.bound()
        if current.get("job_id") == job_id:  # the running job's retry: its own lineage, not itself
            for key in ("parent_job_id", "root_job_id"):
                carried.pop(key, None)
                if isinstance(current.get(key), str):
                    carried[key] = current[key]
        headers[HEADER] = carried
        if headers.get("retries"):
            return  # a retry's message: JOB_RETRYING said it
        _emit(
            jobs.JOB_QUEUED, "Job queued", job_id=job_id, job_type=str(headers.get("task") or sender),
            queue=_text(routing_key),
            parent_job_id=carried.get("parent_job_id") or _other(job_id, headers.get("parent_id")),
            root_job_id=carried.get("root_job_id") or _other(job_id, headers.get("root_id")),
        )  # fmt: skip

    # -- worker: one task ----------------------------------------------------------------------
    def prerun(self, task_id: str | None = None, task: Any = None, **_: Any) -> None:
        if not self._owns(task) or task_id is None:
            return
        request = task.request
        fields = self._fields(task, request)
        carried = request.get(HEADER) if hasattr(request, "get") else None
        context, _ = _carry.incoming(carried)
        enqueued = carried.get("enqueued_at") if isinstance(carried, dict) else None
        wait = max(0.0, time.time() - enqueued) if isinstance(enqueued, (int, float)) else None
        lineage = {k: fields[k] for k in ("parent_job_id", "root_job_id") if fields[k] is not None}
        binding = zlog.bind(**context, **lineage, job_id=fields["job_id"])
        binding.__enter__()
        with self.lock:
            self.running[task_id] = (binding, time.perf_counter(), fields)
        _emit(jobs.JOB_STARTED, "Job started", **fields, wait_seconds=wait)

    def success(self, sender: Any = None, **_: Any) -> None:
        if not self._owns(sender):
            return
        with self.lock:
            entry = self.running.get(sender.request.id or "")
        if entry is not None:
            _binding, started, fields = entry
            _emit(jobs.JOB_COMPLETED, "Job completed", **fields, duration_seconds=time.perf_counter() - started)

    def retry(self, sender: Any = None, request: Any = None, reason: Any = None, **_: Any) -> None:
        if not self._owns(sender):
            return
        fields = self._fields(sender, request if request is not None else sender.request)
        with self.lock:
            entry = self.running.get(fields["job_id"])
        duration = None if entry is None else time.perf_counter() - entry[1]
        cause = getattr(reason, "exc", None)  # celery.exceptions.Retry holds what the task raised
        error = cause if isinstance(cause, BaseException) else reason
        if not isinstance(error, BaseException):
            error = RuntimeError(str(reason))
        when = getattr(reason, "when", None)
        retry_in = float(when) if isinstance(when, (int, float)) else None
        _emit(jobs.JOB_FAILED, "Job failed", **fields, error=error, duration_seconds=duration)
        _emit(jobs.JOB_RETRYING, "Job will be retried", **fields, retry_in_seconds=retry_in, error=error)

    def failure(self, sender: Any = None, task_id: Any = None, exception: Any = None, **_: Any) -> None:
        if not self._owns(sender):
            return
        with self.lock:
            entry = self.running.get(str(task_id))
        if entry is not None:  # in the process that ran it
            fields = dict(entry[2])
            duration: float | None = time.perf_counter() - entry[1]
        else:  # reported by the parent (a WorkerLostError): the job's fields on the events themselves
            fields = {"job_id": str(task_id), "job_type": getattr(sender, "name", None) or "?", "attempt": 1}
            duration = None
        error = exception if isinstance(exception, BaseException) else RuntimeError(str(exception))
        _emit(jobs.JOB_FAILED, "Job failed", **fields, error=error, duration_seconds=duration)
        _emit(jobs.JOB_ABANDONED, "Job abandoned", **fields, error=error)
        if entry is None:
            zlog.flush()

    def postrun(self, task_id: str | None = None, task: Any = None, **_: Any) -> None:
        if not self._owns(task):
            return
        self._finish(task_id)
        flush = self.flush_after_task
        if flush is None:  # by default where children are recycled: they may end with os._exit next
            flush = bool(self.app.conf.worker_max_tasks_per_child)
        if flush:
            zlog.flush()

    def revoked(self, request: Any = None, terminated: Any = None, expired: Any = None, **_: Any) -> None:
        task_id = getattr(request, "id", None)
        if task_id is None:
            return
        reason = "expired" if expired else "terminated" if terminated else "revoked"
        _emit(
            jobs.JOB_REVOKED, "Job revoked", job_id=str(task_id), job_type=_text(getattr(request, "task", None)),
            reason=reason, worker_id=_text(getattr(request, "hostname", None)),
        )  # fmt: skip
        zlog.flush()

    # -- worker: processes -------------------------------------------------------------------
    def ready(self, sender: Any = None, **_: Any) -> None:
        hostname = _text(getattr(sender, "hostname", None)) or "?"
        concurrency = getattr(getattr(sender, "controller", None), "concurrency", None)
        _emit(
            jobs.WORKER_STARTED, "Worker started", worker_id=hostname,
            concurrency_limit=concurrency if isinstance(concurrency, int) else None,
        )  # fmt: skip

    def shutdown(self, sender: Any = None, **_: Any) -> None:
        _emit(jobs.WORKER_STOPPED, "Worker stopped", worker_id=_text(getattr(sender, "hostname", None)) or "?")
        zlog.flush()

    def process_shutdown(self, **_: Any) -> None:
        zlog.shutdown()  # the prefork child ends with os._exit next

    def setup_logging(self, loglevel: Any = None, **_: Any) -> None:
        from zlog.stdlib import capture_logging

        level = loglevel if isinstance(loglevel, (int, str)) and loglevel else logging.INFO
        capture_logging(level)


def instrument(app: Celery, *, capture_logging: bool = True, flush_after_task: bool | None = None) -> None:
    """Emit the ``zlog.jobs`` signals for ``app``'s tasks, on the publisher side and in its workers.

    ``capture_logging`` (the default) connects Celery's ``setup_logging``: Celery then leaves the root
    logger alone and zlog's ``capture_logging`` takes every library's records, Celery's own included.
    ``flush_after_task`` flushes zlog after each task (by default only where children are recycled,
    ``worker_max_tasks_per_child``). Call it where the app is made, in the publisher and the worker.
    """
    if "_zlog_instrumentation" in app.__dict__:
        return  # already: the events are never doubled
    hooks = _Instrumentation(app, capture=capture_logging, flush_after_task=flush_after_task)
    app.__dict__["_zlog_instrumentation"] = hooks  # the receivers live as long as the app
    connect = [
        (signals.before_task_publish, hooks.before_publish),
        (signals.task_prerun, hooks.prerun),
        (signals.task_success, hooks.success),
        (signals.task_retry, hooks.retry),
        (signals.task_failure, hooks.failure),
        (signals.task_postrun, hooks.postrun),
        (signals.task_revoked, hooks.revoked),
        (signals.worker_ready, hooks.ready),
        (signals.worker_shutdown, hooks.shutdown),
        (signals.worker_process_shutdown, hooks.process_shutdown),
    ]
    if capture_logging:
        connect.append((signals.setup_logging, hooks.setup_logging))
    for signal, receiver in connect:
        signal.connect(receiver, weak=False)
