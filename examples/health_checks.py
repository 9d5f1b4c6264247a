"""Queue, worker and scheduler health as HEALTHY / DEGRADED / UNHEALTHY, derived from signals.

A HealthSink watches heartbeats (workers and the scheduler, which heartbeats like a worker), queue
measurements and job outcomes. The script walks through a day in the life of a job system on a fake
clock, so it runs instantly: all healthy, a backlog builds up, a worker stops heart-beating, the
scheduler stalls, and everything recovers. It prints ``status()`` (the JSON a ``/health`` endpoint
serves) after each step on stdout, one JSON object per line.

    python examples/health_checks.py
"""

from __future__ import annotations

import argparse
import json
import sys

import zlog


@zlog.signal(level="debug")
def WORKER_HEARTBEAT(*, worker_id: str, active_jobs: int, concurrency_limit: int) -> None:
    """A worker (or the scheduler) is alive."""


@zlog.signal(level="info")
def QUEUE_HEALTH_CHECK(*, queue: str, queue_size: int) -> None:
    """Periodic queue measurement."""


@zlog.signal(level="info")
def JOB_COMPLETED(*, job_id: str) -> None:
    """A job finished."""


@zlog.signal(level="warn")
def JOB_FAILED(*, job_id: str) -> None:
    """A job attempt failed."""


class Clock:
    """A fake monotonic clock, so heartbeat ages can be stepped instead of waited for."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(description="Walk a job system through health scenarios on a fake clock.").parse_args(argv)
    clock = Clock()
    health = zlog.HealthSink(
        heartbeat_timeout=30, backlog=(100, 1000), failure_rate=(0.1, 0.25), min_events=20, clock=clock
    )
    router = zlog.Router()
    router.route_all(health)
    components = ("worker-1", "worker-2", "scheduler")

    def beat(*alive: str) -> None:
        for worker in alive:
            router.emit(WORKER_HEARTBEAT, "heartbeat", worker_id=worker, active_jobs=1, concurrency_limit=4)

    def queues(default: int, emails: int) -> None:
        router.emit(QUEUE_HEALTH_CHECK, "queue measured", queue="default", queue_size=default)
        router.emit(QUEUE_HEALTH_CHECK, "queue measured", queue="emails", queue_size=emails)

    def report(step: str) -> None:
        status = health.status()
        problems = {name: check["reason"] for name, check in status["checks"].items() if check["status"] != "HEALTHY"}
        print(json.dumps({"step": step, "status": status["status"], "problems": problems, "checks": status["checks"]}))

    beat(*components)
    queues(5, 0)
    for n in range(40):
        router.emit(JOB_COMPLETED, "done", job_id=f"j{n}")
    report("all healthy")

    clock.now += 10
    beat(*components)
    queues(250, 0)
    report("backlog above 100 on the default queue: DEGRADED")

    clock.now += 35  # worker-2 has not sent a heartbeat for 35 s
    beat("worker-1", "scheduler")
    queues(250, 0)
    report("worker-2 silent for more than 30 s: DEGRADED")

    clock.now += 30  # 65 s: more than twice the timeout
    beat("worker-1", "scheduler")
    queues(40, 0)
    report("worker-2 silent for more than 60 s: UNHEALTHY")

    beat("worker-2")  # worker-2 is back ...
    for _ in range(2):  # ... but the scheduler stalls and the emails queue floods
        clock.now += 35
        beat("worker-1", "worker-2")
    queues(40, 1500)
    report("scheduler silent for 70 s and the emails queue above 1000: UNHEALTHY")

    clock.now += 5
    beat(*components)
    queues(3, 10)
    for n in range(40, 60):
        router.emit(JOB_COMPLETED, "done", job_id=f"j{n}")
    report("recovered")
    return 0


if __name__ == "__main__":
    sys.exit(main())
