"""An RQ application whose worker emits the ``zlog.jobs`` signals.

Run ``rq worker -w zlog.integrations.rq.Worker -c rq_jobs`` in this directory: ``-c`` makes the worker
import this module (its settings, and zlog's routes) before it forks any work horse. ``ZLOG_FILE`` names
the JSON lines file, ``REDIS_URL`` the Redis.
"""

from __future__ import annotations

import os
import time

import rq

import zlog
from zlog.integrations.rq import enqueue

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")  # read by ``rq worker -c rq_jobs``
zlog.route_all(zlog.JSONSink(open(os.environ.get("ZLOG_FILE", "jobs.log"), "ab")))  # noqa: SIM115


def send_email(to: str) -> None:
    zlog.emit("EMAIL_SENT", "Email sent", to=to)  # carries what the enqueuing code bound


def flaky() -> str:
    """Fails on its first two attempts, then succeeds."""
    job = rq.get_current_job()
    if job is not None and job.retries_left:  # enqueued with Retry(max=2): 2 retries left, then 1, then 0
        raise ConnectionError("the mail server hung up")
    return "sent"


def broken() -> None:
    raise ValueError("no such customer")


def chain(steps: int) -> None:
    """Enqueues the next step of a chain: every step has the first one as its ``root_job_id``."""
    job = rq.get_current_job()
    if steps > 0 and job is not None:
        enqueue(rq.Queue(job.origin, connection=job.connection), chain, steps - 1)


def lost() -> None:
    """Its work horse dies under it: the worker reports the job as failed."""
    os._exit(1)


def slow() -> None:
    time.sleep(60)
