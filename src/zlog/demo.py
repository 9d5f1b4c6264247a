"""The zlog demo: a small background-job system that says what happens with zlog signals.

A queue, worker threads with retries and backoff, and four job types (email, report, data, payment).
Every event goes to stdout as one JSON line. The sinks are wired as a job system wires them: metrics
on job outcomes and queue health, alerts (to stderr) on abandoned jobs, backlog, errors and the
failure rate, a hash-chained audit log of payments and reports, and health from heartbeats and backlog.
A summary goes to stderr.

    zlog demo --jobs 50 --workers 4 --seed 1 --failure-rate 0.2
    python examples/background_jobs.py --jobs 50 ...      (the same program)

This module is example code meant to be read: signals first, then the job system, then the wiring.
"""

from __future__ import annotations

import argparse
import os
import queue
import random
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import zlog
from zlog.audit import verify

# -- signals: what can happen ----------------------------------------------------------------


@zlog.signal(level="info")
def JOB_QUEUED(*, job_id: str, job_type: str, priority: int = 0) -> None:
    """A job was added to the queue."""


@zlog.signal(level="info")
def JOB_STARTED(*, job_id: str, job_type: str, attempt: int) -> None:
    """A worker took a job."""


@zlog.signal(level="info")
def JOB_COMPLETED(*, job_id: str, job_type: str, attempt: int, duration_seconds: float) -> None:
    """A job finished successfully."""


@zlog.signal(level="warn")
def JOB_FAILED(*, job_id: str, job_type: str, attempt: int, error: BaseException, duration_seconds: float) -> None:
    """An attempt of a job raised."""


@zlog.signal(level="info")
def JOB_RETRYING(*, job_id: str, job_type: str, attempt: int, delay_seconds: float) -> None:
    """A failed job goes back to the queue after a delay."""


@zlog.signal(level="error")
def JOB_ABANDONED(*, job_id: str, job_type: str, attempts: int) -> None:
    """A job failed on every attempt and was given up."""


@zlog.signal(level="info")
def WORKER_STARTED(*, worker_id: str) -> None:
    """A worker thread started."""


@zlog.signal(level="info")
def WORKER_STOPPED(*, worker_id: str, jobs_done: int) -> None:
    """A worker thread stopped."""


@zlog.signal(level="debug")
def WORKER_HEARTBEAT(*, worker_id: str, jobs_done: int) -> None:
    """A worker is alive."""


@zlog.signal(level="debug")
def WORKER_IDLE(*, worker_id: str) -> None:
    """A worker found the queue empty."""


@zlog.signal(level="debug")
def WORKER_BUSY(*, worker_id: str, job_id: str) -> None:
    """A worker is busy with a job."""


@zlog.signal(level="info")
def QUEUE_HEALTH_CHECK(*, queue_size: int, in_flight: int) -> None:
    """Periodic queue measurement."""


@zlog.signal(level="warn")
def QUEUE_BACKLOG(*, queue_size: int, threshold: int) -> None:
    """The queue holds more jobs than the threshold."""


@zlog.signal
def EMAIL_SENT(*, job_id: str, recipient: str) -> None:
    """Business: an email went out."""


@zlog.signal
def REPORT_GENERATED(*, job_id: str, pages: int) -> None:
    """Business: a report was produced."""


@zlog.signal
def DATA_PROCESSED(*, job_id: str, records: int) -> None:
    """Business: a batch of records was processed."""


@zlog.signal
def PAYMENT_PROCESSED(*, job_id: str, amount_cents: int, currency: str) -> None:
    """Business: a payment was captured."""


# -- the job system --------------------------------------------------------------------------

JOB_TYPES = ("email", "report", "data", "payment")
MAX_ATTEMPTS = 3
BACKLOG_THRESHOLD = 20


@dataclass
class Job:
    job_id: str
    job_type: str
    attempt: int = 1


class TransientError(Exception):
    """A failure that a retry may fix (a timeout, a busy server)."""


def run_job(job: Job, seed: int, failure_rate: float) -> None:
    """Do the (simulated) work; the outcome depends only on the seed, the job and the attempt."""
    rng = random.Random(f"{seed}:{job.job_id}:{job.attempt}")
    time.sleep(rng.uniform(0.0005, 0.002))
    if rng.random() < failure_rate:
        raise TransientError(f"{job.job_type} backend timed out")
    if job.job_type == "email":
        zlog.emit(EMAIL_SENT, "Email sent", job_id=job.job_id, recipient=f"user{rng.randint(1, 99)}@example.com")
    elif job.job_type == "report":
        zlog.emit(REPORT_GENERATED, "Report generated", job_id=job.job_id, pages=rng.randint(1, 40))
    elif job.job_type == "data":
        zlog.emit(DATA_PROCESSED, "Data processed", job_id=job.job_id, records=rng.randint(100, 10_000))
    else:
        zlog.emit(
            PAYMENT_PROCESSED,
            "Payment processed",
            job_id=job.job_id,
            amount_cents=rng.randint(100, 50_000),
            currency="EUR",
        )


class JobSystem:
    def __init__(self, workers: int, seed: int, failure_rate: float) -> None:
        self.jobs: queue.Queue[Job] = queue.Queue()
        self.workers = workers
        self.seed = seed
        self.failure_rate = failure_rate
        self.pending = 0  # jobs not yet completed or abandoned
        self.lock = threading.Lock()
        self.done = threading.Event()  # set when every job has ended, or to stop the workers early

    def submit(self, job: Job, priority: int = 0) -> None:
        with self.lock:
            self.pending += 1
        zlog.emit(JOB_QUEUED, "Job queued for processing", job_id=job.job_id, job_type=job.job_type, priority=priority)
        self.jobs.put(job)

    def finish_one(self) -> None:
        with self.lock:
            self.pending -= 1
            if self.pending == 0:
                self.done.set()

    def worker(self, worker_id: str) -> None:
        jobs_done = 0
        with zlog.bind(worker_id=worker_id):
            zlog.emit(WORKER_STARTED, "Worker started", worker_id=worker_id)
            while not self.done.is_set():
                zlog.emit(WORKER_HEARTBEAT, "Worker heartbeat", worker_id=worker_id, jobs_done=jobs_done)
                try:
                    job = self.jobs.get(timeout=0.01)
                except queue.Empty:
                    zlog.emit(WORKER_IDLE, "Worker idle", worker_id=worker_id)
                    continue
                zlog.emit(WORKER_BUSY, "Worker busy", worker_id=worker_id, job_id=job.job_id)
                self.process(job)
                jobs_done += 1
            zlog.emit(WORKER_STOPPED, "Worker stopped", worker_id=worker_id, jobs_done=jobs_done)

    def process(self, job: Job) -> None:
        zlog.emit(JOB_STARTED, "Job started", job_id=job.job_id, job_type=job.job_type, attempt=job.attempt)
        start = time.perf_counter()
        try:
            run_job(job, self.seed, self.failure_rate)
        except TransientError as exc:
            took = time.perf_counter() - start
            zlog.emit(
                JOB_FAILED,
                "Job attempt failed",
                job_id=job.job_id,
                job_type=job.job_type,
                attempt=job.attempt,
                error=exc,
                duration_seconds=took,
            )
            if job.attempt >= MAX_ATTEMPTS:
                zlog.emit(
                    JOB_ABANDONED,
                    "Job abandoned after retries",
                    job_id=job.job_id,
                    job_type=job.job_type,
                    attempts=job.attempt,
                )
                self.finish_one()
                return
            delay = 0.001 * 2**job.attempt  # exponential backoff, kept tiny for the demo
            zlog.emit(
                JOB_RETRYING,
                "Job scheduled for retry",
                job_id=job.job_id,
                job_type=job.job_type,
                attempt=job.attempt + 1,
                delay_seconds=delay,
            )
            timer = threading.Timer(delay, self.jobs.put, args=(Job(job.job_id, job.job_type, job.attempt + 1),))
            timer.daemon = True
            timer.start()
            return
        zlog.emit(
            JOB_COMPLETED,
            "Job processing completed",
            job_id=job.job_id,
            job_type=job.job_type,
            attempt=job.attempt,
            duration_seconds=time.perf_counter() - start,
        )
        self.finish_one()

    def health_check(self) -> None:
        size = self.jobs.qsize()
        zlog.emit(QUEUE_HEALTH_CHECK, "Queue health check", queue_size=size, in_flight=self.pending)
        if size > BACKLOG_THRESHOLD:
            zlog.emit(QUEUE_BACKLOG, "Queue backlog above threshold", queue_size=size, threshold=BACKLOG_THRESHOLD)

    def run(self, jobs: int, stop_early: Callable[[], bool] = lambda: False) -> None:
        """Queue ``jobs`` jobs and work until each has ended (or ``stop_early()`` says so, or Ctrl-C)."""
        rng = random.Random(self.seed)
        for n in range(jobs):
            self.submit(Job(f"job-{n:04d}", rng.choice(JOB_TYPES)), priority=rng.randint(0, 9))
        if jobs == 0:
            self.done.set()
        self.health_check()
        threads = [
            threading.Thread(target=self.worker, args=(f"worker-{i}",), daemon=True) for i in range(self.workers)
        ]
        for thread in threads:
            thread.start()
        try:
            while not self.done.wait(0.05) and not stop_early():
                self.health_check()
        finally:  # also on Ctrl-C: each worker finishes its current attempt, says it stopped, and ends
            self.done.set()
            for thread in threads:
                thread.join()
        self.health_check()


def _count(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, got {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {value}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The demo's options (shared by ``zlog demo`` and ``examples/background_jobs.py``)."""
    parser.add_argument("--jobs", type=_count(0), default=50, help="jobs to queue (default 50)")
    parser.add_argument("--workers", type=_count(1), default=4, help="worker threads (default 4)")
    parser.add_argument("--seed", type=int, default=1, help="seed for job types and failures (default 1)")
    parser.add_argument("--failure-rate", type=_rate, default=0.2, help="chance an attempt fails (default 0.2)")
    parser.add_argument("--audit", metavar="PATH", help="audit log file (default: a temporary one, removed after)")


class StdoutLines(zlog.JSONSink):
    """JSON lines on stdout, buffered; notices when the reader has gone (``zlog demo | head``)."""

    def __init__(self) -> None:
        super().__init__(sys.stdout, buffered=True)
        self.reader_gone = threading.Event()
        write_line = self.handle

        def handle(event: zlog.Event) -> None:
            if not self.reader_gone.is_set():
                try:
                    write_line(event)
                except BrokenPipeError:
                    self.reader_gone.set()

        self.handle = handle

    def flush(self, timeout: float | None = None) -> bool:
        try:
            super().flush(timeout)
        except BrokenPipeError:
            self.reader_gone.set()
        return True


def wire_sinks(
    stdout: StdoutLines, audit_path: str
) -> tuple[zlog.MetricsSink, zlog.AlertSink, zlog.AuditSink, zlog.HealthSink]:
    """Route every signal to stdout and the job-system sinks to the signals they watch."""
    zlog.route_all(stdout)
    metrics = zlog.MetricsSink(declare=[JOB_COMPLETED, JOB_FAILED, JOB_ABANDONED, QUEUE_HEALTH_CHECK])
    metrics.counter("zlog_jobs_failed_total", JOB_FAILED, labels=["job_type"], help="Failed job attempts.")
    metrics.counter("zlog_jobs_abandoned_total", JOB_ABANDONED, labels=["job_type"], help="Abandoned jobs.")
    metrics.histogram(
        "zlog_job_duration_seconds",
        JOB_COMPLETED,
        field="duration_seconds",
        labels=["job_type"],
        buckets=[0.001, 0.0025, 0.005, 0.01, 0.05],
        help="Job processing time.",
    )
    metrics.gauge("zlog_queue_size", QUEUE_HEALTH_CHECK, field="queue_size", help="Jobs waiting.")
    zlog.route(JOB_COMPLETED, metrics)
    zlog.route(JOB_FAILED, metrics)
    zlog.route(JOB_ABANDONED, metrics)
    zlog.route(QUEUE_HEALTH_CHECK, metrics)

    alerts = zlog.AlertSink(repeat_interval=600, service="background-jobs")
    alerts.on(JOB_ABANDONED, name="JobAbandoned", by=["job_type"], severity="critical")
    alerts.on(QUEUE_BACKLOG, name="QueueBacklog")
    alerts.on(zlog.ERROR, name="Error")
    alerts.ratio([JOB_FAILED], [JOB_COMPLETED], above=0.3, window=300, min_events=20, name="JobFailureRate")
    for signal in (JOB_ABANDONED, QUEUE_BACKLOG, zlog.ERROR, JOB_FAILED, JOB_COMPLETED):
        zlog.route(signal, alerts)

    audit = zlog.AuditSink(audit_path, fsync="batch")
    zlog.route(PAYMENT_PROCESSED, audit)
    zlog.route(REPORT_GENERATED, audit)

    health = zlog.HealthSink(heartbeat_timeout=5, backlog=(BACKLOG_THRESHOLD, 5 * BACKLOG_THRESHOLD), min_events=20)
    zlog.route("WORKER_*", health)
    zlog.route("QUEUE_*", health)
    zlog.route("JOB_*", health)
    return metrics, alerts, audit, health


def run(args: argparse.Namespace) -> int:
    """Run the job system with every sink wired; the summary goes to stderr.

    Raises BrokenPipeError when stdout's reader went away (the job system stops early then)."""
    with tempfile.TemporaryDirectory(prefix="zlog-demo-") as folder:
        audit_path = args.audit or os.path.join(folder, "audit.log")
        stdout = StdoutLines()
        metrics, alerts, _audit, health = wire_sinks(stdout, audit_path)
        try:
            JobSystem(args.workers, args.seed, args.failure_rate).run(args.jobs, stop_early=stdout.reader_gone.is_set)
        finally:  # flush and close every sink (the audit log, pending alerts, stdout); also on Ctrl-C
            zlog.close(timeout=5)
        if stdout.reader_gone.is_set():
            raise BrokenPipeError("stdout was closed by its reader")
        events = metrics.snapshot()["events"]
        print(
            f"{args.jobs} jobs: {events['JOB_COMPLETED']} completed, {events['JOB_ABANDONED']} abandoned, "
            f"{events['JOB_FAILED']} failed attempts; alerts fired: {alerts.fired}; "
            f"audit: {verify(audit_path).summary()}; health: {health.status()['status']}",
            file=sys.stderr,
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m zlog.demo``: the same as ``zlog demo``."""
    parser = argparse.ArgumentParser(description="Run a simulated job system that logs with zlog.")
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except KeyboardInterrupt:  # the workers have stopped; exit quietly
        return 130
    except BrokenPipeError:  # `... | head`: the reader left; stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
