"""Metrics for Prometheus and alert rules that match them, plus ``/health``, from job signals.

A simulated job system emits signals; a MetricsSink turns them into the metrics a dashboard and the
alert rules in ``examples/prometheus/alert_rules.yml`` use: submission, completion and failure counters
(rates come from PromQL's ``rate()``), a processing-time histogram, queue depth by priority and worker
utilization. ``health.serve_health(port, metrics=metrics)`` serves ``/metrics`` and the HealthSink's
``/health`` on one port, 127.0.0.1 only (``metrics.serve_metrics(port)`` alone serves just ``/metrics``).
``examples/prometheus/prometheus.yml`` scrapes it and loads the rules. Needs ``pip install 'zlog[prometheus]'``.

    python examples/prometheus_alerting.py                      # simulate, print /metrics and /health
    python examples/prometheus_alerting.py --port 9464 --serve-seconds 600
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time

import zlog


@zlog.signal(level="info")
def JOB_SUBMITTED(*, job_id: str, job_type: str, priority: str) -> None:
    """A job was submitted."""


@zlog.signal(level="info")
def JOB_COMPLETED(*, job_id: str, job_type: str, duration_seconds: float) -> None:
    """A job finished."""


@zlog.signal(level="warn")
def JOB_FAILED(*, job_id: str, job_type: str, error: str) -> None:
    """A job attempt failed."""


@zlog.signal(level="info")
def QUEUE_HEALTH_CHECK(*, queue: str, priority: str, queue_size: int) -> None:
    """Queue depth per priority."""


@zlog.signal(level="debug")
def WORKER_HEARTBEAT(*, worker_id: str, active_jobs: int, concurrency_limit: int, utilization: float) -> None:
    """A worker is alive, and how busy it is."""


JOB_TYPES = ("email", "report", "export")
PRIORITIES = ("high", "normal", "low")


def metrics_sink() -> zlog.MetricsSink:
    """The metrics the alert rules use (names follow Prometheus conventions: base units, _total)."""
    metrics = zlog.MetricsSink(declare=[JOB_SUBMITTED, JOB_COMPLETED, JOB_FAILED])
    metrics.counter("zlog_jobs_submitted_total", JOB_SUBMITTED, labels=["job_type"], help="Jobs submitted.")
    metrics.counter("zlog_jobs_completed_total", JOB_COMPLETED, labels=["job_type"], help="Jobs completed.")
    metrics.counter("zlog_jobs_failed_total", JOB_FAILED, labels=["job_type"], help="Failed job attempts.")
    metrics.histogram(
        "zlog_job_processing_seconds",
        JOB_COMPLETED,
        field="duration_seconds",
        labels=["job_type"],
        buckets=[0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
        help="Job processing time.",
    )
    metrics.gauge(
        "zlog_queue_depth",
        QUEUE_HEALTH_CHECK,
        field="queue_size",
        labels=["priority"],
        help="Jobs waiting, by priority.",
    )
    metrics.gauge(
        "zlog_worker_utilization",
        WORKER_HEARTBEAT,
        field="utilization",
        labels=["worker_id"],
        help="Active jobs / concurrency limit.",
    )
    return metrics


def simulate(router: zlog.Router, jobs: int, seed: int) -> None:
    rng = random.Random(seed)
    depth = {p: 0 for p in PRIORITIES}
    for n in range(jobs):
        job_id, job_type, priority = f"job-{n:05d}", rng.choice(JOB_TYPES), rng.choice(PRIORITIES)
        router.emit(JOB_SUBMITTED, "Job submitted", job_id=job_id, job_type=job_type, priority=priority)
        depth[priority] += 1
        if rng.random() < 0.15:
            router.emit(JOB_FAILED, "Job failed", job_id=job_id, job_type=job_type, error="upstream timeout")
        else:
            router.emit(
                JOB_COMPLETED,
                "Job completed",
                job_id=job_id,
                job_type=job_type,
                duration_seconds=round(rng.lognormvariate(-1.0, 0.8), 4),
            )
            depth[priority] -= 1
        if n % 50 == 0:
            for p, size in depth.items():
                router.emit(QUEUE_HEALTH_CHECK, "Queue measured", queue="jobs", priority=p, queue_size=size)
            for w in range(3):
                active = rng.randint(0, 4)
                router.emit(
                    WORKER_HEARTBEAT,
                    "Worker heartbeat",
                    worker_id=f"worker-{w}",
                    active_jobs=active,
                    concurrency_limit=4,
                    utilization=active / 4,
                )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve job metrics for Prometheus, with /health.")
    parser.add_argument("--jobs", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--port", type=int, default=9464, help="port for /metrics and /health (0: any free port)")
    parser.add_argument(
        "--serve-seconds",
        type=float,
        default=0.0,
        help="keep serving this long (default 0: print the exposition and exit)",
    )
    args = parser.parse_args(argv)

    metrics = metrics_sink()
    health = zlog.HealthSink(heartbeat_timeout=60, backlog=(100, 1000))
    router = zlog.Router()
    router.route_all(metrics, health)
    simulate(router, args.jobs, args.seed)

    if args.serve_seconds <= 0:
        from prometheus_client import CollectorRegistry, generate_latest

        registry = CollectorRegistry(auto_describe=False)  # the text Prometheus would scrape from /metrics
        registry.register(metrics.collector())
        sys.stdout.write(generate_latest(registry).decode())
        print(json.dumps(health.status()))
        return 0
    server = health.serve_health(args.port, metrics=metrics)
    port = server.server_address[1]
    print(f"serving http://127.0.0.1:{port}/metrics and /health for {args.serve_seconds:g} s", flush=True)
    try:
        time.sleep(args.serve_seconds)
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
