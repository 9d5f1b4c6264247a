"""A Celery app whose publisher and workers emit the ``zlog.jobs`` signals.

Run ``celery -A celery_jobs worker`` in this directory (``BROKER_URL`` names the broker, Redis or
RabbitMQ; ``CELERY_QUEUE`` the queue; ``ZLOG_FILE`` the JSON lines file).
"""

from __future__ import annotations

import os
from typing import Any

from celery import Celery

import zlog
from zlog.integrations.celery import instrument

app = Celery("celery_jobs", broker=os.environ.get("BROKER_URL", "redis://127.0.0.1:6379/0"))
app.conf.task_default_queue = os.environ.get("CELERY_QUEUE", "celery")
zlog.route_all(zlog.JSONSink(open(os.environ.get("ZLOG_FILE", "jobs.log"), "ab")))  # noqa: SIM115
instrument(app)


@app.task
def send_email(to: str) -> None:
    zlog.emit("EMAIL_SENT", "Email sent", to=to)  # carries what the publishing code bound


@app.task(bind=True, max_retries=2)
def flaky(self: Any) -> str:
    """Fails on its first two attempts, then succeeds."""
    if self.request.retries < 2:
        raise self.retry(exc=ConnectionError("the mail server hung up"), countdown=0)
    return "sent"


@app.task(bind=True, max_retries=1)
def broken(self: Any) -> None:
    """Fails on both of its attempts: the second failure is final."""
    raise self.retry(exc=ValueError("no such customer"), countdown=0)


@app.task
def lost() -> None:
    """Its worker process dies under it: Celery reports a WorkerLostError in the parent."""
    os._exit(1)


@app.task
def chain(steps: int) -> None:
    """Sends the next step of a chain: every step has the first one as its ``root_job_id``."""
    if steps > 0:
        chain.delay(steps - 1)
