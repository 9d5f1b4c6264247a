"""Monitoring a job system from its events: lifecycle (including scheduled jobs and retries), worker
events, a high-volume burst, and the analysis patterns: performance, error patterns, worker utilization.

Every event goes to stdout as a JSON line (or to ``--out FILE``); a custom sink analyses the stream
while it flows and prints a summary on stderr. ``zlog stats`` computes the same from the JSON lines:

    python examples/event_monitoring.py --seed 1 > events.jsonl && zlog stats events.jsonl
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import sys
from collections import Counter, defaultdict
from typing import IO

import zlog


@zlog.signal(level="info")
def SCHEDULED(*, job_id: str, job_type: str, run_at: str) -> None:
    """A job was scheduled for later."""


@zlog.signal(level="info")
def SCHEDULE_TRIGGERED(*, job_id: str, job_type: str) -> None:
    """A scheduled job's time came; it is enqueued."""


@zlog.signal(level="info")
def JOB_ENQUEUED(*, job_id: str, job_type: str) -> None:
    """A job entered the queue."""


@zlog.signal(level="info")
def JOB_STARTED(*, job_id: str, job_type: str, worker_id: str) -> None:
    """A worker took a job."""


@zlog.signal(level="info")
def JOB_COMPLETED(*, job_id: str, job_type: str, worker_id: str, duration_seconds: float) -> None:
    """A job finished."""


@zlog.signal(level="warn")
def JOB_FAILED(*, job_id: str, job_type: str, worker_id: str, error: BaseException, duration_seconds: float) -> None:
    """A job attempt raised."""


@zlog.signal(level="info")
def RETRY_SCHEDULED(*, job_id: str, job_type: str, attempt: int, delay_seconds: float) -> None:
    """A failed job will run again."""


@zlog.signal(level="info")
def WORKER_STARTED(*, worker_id: str, hostname: str, pid: int, concurrency_limit: int) -> None:
    """A worker process started."""


@zlog.signal(level="info")
def WORKER_STOPPED(*, worker_id: str, hostname: str, pid: int) -> None:
    """A worker process stopped."""


@zlog.signal(level="debug")
def WORKER_IDLE(*, worker_id: str, active_jobs: int, concurrency_limit: int) -> None:
    """A worker has nothing to do."""


@zlog.signal(level="debug")
def WORKER_BUSY(*, worker_id: str, active_jobs: int, concurrency_limit: int) -> None:
    """A worker runs jobs."""


@zlog.signal(level="debug")
def WORKER_HEARTBEAT(*, worker_id: str, hostname: str, pid: int, active_jobs: int, concurrency_limit: int) -> None:
    """A worker is alive."""


@zlog.signal(level="error")
def WORKER_ERROR(*, worker_id: str, error: BaseException) -> None:
    """A worker hit an error outside a job."""


class SmtpTimeoutError(Exception):
    pass


class ReportTooLargeError(Exception):
    pass


ERRORS = {
    "email": SmtpTimeoutError("smtp server timed out"),
    "report": ReportTooLargeError("report exceeds 50 MB"),
    "export": ConnectionResetError("peer reset the connection"),
}


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


class Analysis:
    """A sink computing performance, error patterns and utilization while events flow."""

    def __init__(self) -> None:
        self.durations: list[float] = []
        self.outcomes: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.busy: dict[str, list[float]] = defaultdict(list)
        self.first_ns: int | None = None
        self.last_ns = 0

    def handle(self, event: zlog.Event) -> None:
        self.first_ns = event.time_ns if self.first_ns is None else self.first_ns
        self.last_ns = event.time_ns
        fields = event.fields
        if event.signal in ("JOB_COMPLETED", "JOB_FAILED"):
            self.outcomes[event.signal] += 1
            self.durations.append(fields["duration_seconds"])
        if event.signal in ("JOB_FAILED", "WORKER_ERROR"):  # not zlog's own ZLOG_SINK_ERROR reports
            self.errors[type(fields["error"]).__name__] += 1
        if "active_jobs" in fields and "concurrency_limit" in fields:
            self.busy[fields["worker_id"]].append(fields["active_jobs"] / fields["concurrency_limit"])

    def summary(self) -> str:
        done, failed = self.outcomes["JOB_COMPLETED"], self.outcomes["JOB_FAILED"]
        seconds = max((self.last_ns - (self.first_ns or 0)) / 1e9, 1e-9)
        average = _mean(self.durations)
        lines = [
            f"performance: {done + failed} attempts, success rate {done / max(done + failed, 1):.1%}, "
            f"average duration {average:.3f} s, throughput {done / seconds:.0f} jobs/s",
            "error patterns: " + ", ".join(f"{name} x{n}" for name, n in self.errors.most_common(3)),
            "worker utilization: "
            + ", ".join(
                f"{w} {sum(v) / len(v):.0%}" for w, v in sorted(self.busy.items()) if not w.startswith("fleet-")
            )
            + f"; the burst's fleet of {sum(w.startswith('fleet-') for w in self.busy)} workers "
            f"{_mean([x for w, v in self.busy.items() if w.startswith('fleet-') for x in v]):.0%}",
        ]
        return "\n".join(lines)


def run(router: zlog.Router, rng: random.Random, jobs: int, burst: int) -> None:
    host, pid = socket.gethostname(), os.getpid()
    workers = [f"worker-{i}" for i in range(3)]
    for w in workers:
        router.emit(WORKER_STARTED, "Worker started", worker_id=w, hostname=host, pid=pid, concurrency_limit=4)
    for n in range(jobs):
        job_id, job_type, worker = f"job-{n:05d}", rng.choice(tuple(ERRORS)), rng.choice(workers)
        if n % 5 == 0:
            router.emit(SCHEDULED, "Job scheduled", job_id=job_id, job_type=job_type, run_at="2026-11-23T06:00:00Z")
            router.emit(SCHEDULE_TRIGGERED, "Schedule triggered", job_id=job_id, job_type=job_type)
        router.emit(JOB_ENQUEUED, "Job enqueued", job_id=job_id, job_type=job_type)
        active = rng.randint(1, 4)
        router.emit(WORKER_BUSY, "Worker busy", worker_id=worker, active_jobs=active, concurrency_limit=4)
        router.emit(JOB_STARTED, "Job started", job_id=job_id, job_type=job_type, worker_id=worker)
        duration = round(rng.expovariate(4.0), 4)
        if rng.random() < 0.2:
            router.emit(
                JOB_FAILED,
                "Job failed",
                job_id=job_id,
                job_type=job_type,
                worker_id=worker,
                error=ERRORS[job_type],
                duration_seconds=duration,
            )
            router.emit(
                RETRY_SCHEDULED, "Retry scheduled", job_id=job_id, job_type=job_type, attempt=2, delay_seconds=2.0
            )
        else:
            router.emit(
                JOB_COMPLETED,
                "Job completed",
                job_id=job_id,
                job_type=job_type,
                worker_id=worker,
                duration_seconds=duration,
            )
        if n % 10 == 0:
            for w in workers:
                router.emit(
                    WORKER_HEARTBEAT,
                    "Heartbeat",
                    worker_id=w,
                    hostname=host,
                    pid=pid,
                    active_jobs=rng.randint(0, 4),
                    concurrency_limit=4,
                )
    router.emit(
        WORKER_ERROR, "Lost the broker connection", worker_id=workers[0], error=ConnectionError("broker unreachable")
    )
    for n in range(burst):  # a high-volume burst: heartbeats of a large fleet
        router.emit(
            WORKER_HEARTBEAT,
            "Heartbeat",
            worker_id=f"fleet-{n % 200}",
            hostname=host,
            pid=pid,
            active_jobs=n % 5,
            concurrency_limit=4,
        )
    for w in workers:
        router.emit(WORKER_IDLE, "Worker idle", worker_id=w, active_jobs=0, concurrency_limit=4)
        router.emit(WORKER_STOPPED, "Worker stopped", worker_id=w, hostname=host, pid=pid)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Emit and analyse job and worker events.")
    parser.add_argument("--jobs", type=int, default=300)
    parser.add_argument("--burst", type=int, default=5000, help="heartbeats in the high-volume burst")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", help="write the JSON lines here instead of stdout")
    args = parser.parse_args(argv)
    stream: IO[str] = open(args.out, "w") if args.out else sys.stdout  # noqa: SIM115 - closed below
    analysis = Analysis()
    router = zlog.Router()
    router.route_all(zlog.JSONSink(stream, buffered=True), analysis)
    run(router, random.Random(args.seed), args.jobs, args.burst)
    router.flush()
    if args.out:
        stream.close()
    print(analysis.summary(), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
