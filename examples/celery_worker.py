"""A Celery worker whose tasks log through zlog, prefork children recycled after every task included.

Run ``celery -A celery_worker worker --max-tasks-per-child=1`` in this directory (``ZLOG_FILE`` names the
JSON lines file, ``BROKER_URL`` the broker, ``CELERY_QUEUE`` the queue). With ``PROMETHEUS_MULTIPROC_DIR``
set to an empty directory, the worker serves the metrics of all its processes on ``METRICS_PORT``.
"""

from __future__ import annotations

import logging
import os

from celery import Celery
from celery.signals import setup_logging, task_postrun, worker_process_shutdown, worker_ready

import zlog
from zlog.stdlib import capture_logging

app = Celery("jobs", broker=os.environ.get("BROKER_URL", "redis://127.0.0.1:6379/0"))
app.conf.task_default_queue = os.environ.get("CELERY_QUEUE", "celery")

zlog.route_all(zlog.Background(zlog.JSONSink(open(os.environ.get("ZLOG_FILE", "jobs.log"), "ab"), buffered=True)))  # noqa: SIM115
metrics = zlog.MetricsSink(declare="JOB_COMPLETED")  # across processes when PROMETHEUS_MULTIPROC_DIR is set
zlog.route("JOB_*", metrics)


@worker_ready.connect  # in the parent: one endpoint for the parent and all its children
def serve_metrics(**kwargs: object) -> None:
    metrics.serve_metrics(int(os.environ.get("METRICS_PORT", "9808")))


@setup_logging.connect  # Celery then leaves the root logger alone, so the capture below stays in place
def keep_zlog_capture(**kwargs: object) -> None:
    capture_logging(logging.INFO)


@task_postrun.connect  # a recycled child ends with os._exit right after its last task
def flush_zlog(**kwargs: object) -> None:
    zlog.flush()


@worker_process_shutdown.connect  # the child-shutdown hook of the prefork pool
def shut_zlog_down(**kwargs: object) -> None:
    zlog.shutdown()


@app.task
def send_email(job_id: str) -> None:
    logging.getLogger("jobs.email").info("sending the email", extra={"job_id": job_id})
    zlog.emit("JOB_COMPLETED", "Job completed", job_id=job_id, job_type="send_email")
