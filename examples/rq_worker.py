"""An RQ worker whose work horses (a forked child per job, ended with ``os._exit``) lose no zlog event.

Run ``rq worker -w rq_worker.ZlogWorker`` in this directory (``ZLOG_FILE`` names the JSON lines file).
"""

from __future__ import annotations

import os
from typing import Any

import rq

import zlog

zlog.route_all(zlog.Background(zlog.JSONSink(open(os.environ.get("ZLOG_FILE", "jobs.log"), "ab"), buffered=True)))  # noqa: SIM115


class ZlogWorker(rq.Worker):
    def perform_job(self, *args: Any, **kwargs: Any) -> bool:
        try:
            return bool(super().perform_job(*args, **kwargs))
        finally:
            zlog.shutdown()  # the work horse ends with os._exit as soon as the job is done


def send_email(job_id: str) -> None:
    zlog.emit("JOB_COMPLETED", "Job completed", job_id=job_id, job_type="send_email")
