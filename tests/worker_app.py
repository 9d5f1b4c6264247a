"""A job application as the worker-process tests run it: its zlog set-up and one job.

Child processes import this module (``spawn`` and ``forkserver`` children by unpickling the job), so it
holds only what a user's application module would: a set-up function for the pool's ``initializer``
and the job itself, which ends with ``zlog.flush()`` as docs/workers.md recommends.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import zlog


@dataclass(frozen=True)
class Config:
    """Where one run's events go: a directory for the files, and optionally a Redis stream, a NATS subject
    prefix and a Prometheus multiprocess directory."""

    workdir: str
    redis_stream: str | None = None
    redis_url: str = "redis://127.0.0.1:6379/13"
    nats_prefix: str | None = None
    metrics_dir: str | None = None


_configured: list[Config] = []  # the set-up this process runs (a forked child inherits its parent's)


def setup(config: Config) -> None:
    """Route ``JOB_COMPLETED`` to every sink under test; a process that already has this set-up keeps it."""
    if _configured and _configured[0] == config:
        return
    zlog.reset()
    _configured[:] = [config]
    work = Path(config.workdir)
    sinks: list[zlog.typing.SinkLike] = [
        zlog.RotatingFileSink(work / "rotating.{pid}.log", buffered=True, name="rotating"),
        zlog.JSONSink(open(work / "shared.log", "ab"), name="shared"),  # noqa: SIM115 - the process keeps it open
        zlog.Background(zlog.JSONSink(open(work / "background.log", "ab"), buffered=True), name="background"),  # noqa: SIM115
    ]
    if config.redis_stream is not None:
        from zlog.sinks.redis import RedisSink

        sinks.append(RedisSink(config.redis_url, stream=config.redis_stream, maxlen=None))
    if config.nats_prefix is not None:
        from zlog.sinks.nats import NATSSink

        sinks.append(NATSSink(subject_prefix=config.nats_prefix))
    if config.metrics_dir is not None:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = config.metrics_dir
        metrics = zlog.MetricsSink(multiprocess=True)
        metrics.histogram("job_duration_seconds", "JOB_COMPLETED", field="duration_seconds", buckets=[0.5, 1])
        sinks.append(metrics)
    zlog.route("JOB_COMPLETED", *sinks)


def job(number: int) -> int:
    """One job: its completion event, then a flush so that a child ended by ``os._exit`` loses nothing."""
    zlog.emit("JOB_COMPLETED", "Job completed", job_id=f"j{number}", duration_seconds=0.25, pid=os.getpid())
    zlog.flush()
    return os.getpid()


def job_then_exit(number: int) -> None:
    """A fork-per-job child as RQ runs one: the job, the child-shutdown call, then ``os._exit``."""
    zlog.emit("JOB_COMPLETED", "Job completed", job_id=f"j{number}", duration_seconds=0.25, pid=os.getpid())
    zlog.shutdown()
    os._exit(0)


#: Events the parent emits before it forks (never flushed by it before the children exist).
PARENT_EVENTS = 5


def run(kind: str, method: str, jobs: int, config: Config) -> None:
    """Run ``jobs`` jobs as a worker program of ``kind`` would: ``"pool"`` (``multiprocessing.Pool``),
    ``"executor"`` (``ProcessPoolExecutor``, one task per child) or ``"fork-per-job"`` (RQ's model)."""
    setup(config)
    for n in range(PARENT_EVENTS):
        zlog.emit("JOB_COMPLETED", "Job completed", job_id=f"parent{n}", duration_seconds=0.25, pid=os.getpid())
    context = multiprocessing.get_context(method)
    if method == "forkserver":
        # children start with the application and its sinks imported, as a worker program would preload them
        context.set_forkserver_preload(
            [
                "worker_app",
                "zlog.sinks.redis",
                "zlog.sinks.nats",
                "zlog.sinks.rotating",
                "zlog.sinks.metrics",
                "prometheus_client.multiprocess",
            ]
        )
    if kind == "pool":
        per_child = 1 if method != "spawn" else 50  # a spawned child starts a new interpreter: recycle less often
        with context.Pool(2, initializer=setup, initargs=(config,), maxtasksperchild=per_child) as pool:
            pids = pool.map(job, range(jobs), chunksize=1)
            pool.close()
            pool.join()
    elif kind == "executor":
        one_task: dict[str, Any] = {"max_tasks_per_child": 1}  # Python 3.11+; the project's types target 3.10
        with ProcessPoolExecutor(2, mp_context=context, initializer=setup, initargs=(config,), **one_task) as ex:
            pids = list(ex.map(job, range(jobs)))
    else:
        assert kind == "fork-per-job" and method == "fork"
        pids = []
        running: list[int] = []
        for number in range(jobs):
            if len(running) == 2:
                os.waitpid(running.pop(0), 0)
            pid = os.fork()
            if pid == 0:
                job_then_exit(number)
            running.append(pid)
            pids.append(pid)
        for pid in running:
            os.waitpid(pid, 0)
    print(len(set(pids)), flush=True)  # how many processes ran the jobs


def main() -> None:
    """``python -c "import worker_app; worker_app.main()" KIND METHOD JOBS CONFIG_JSON`` (imported, not run
    as ``__main__``, so that the children find the jobs under this module's name)."""
    import json

    run(sys.argv[1], sys.argv[2], int(sys.argv[3]), Config(**json.loads(sys.argv[4])))
