"""zlog in a ``multiprocessing`` pool whose children are recycled after every job.

Run ``python examples/process_pool.py [JOBS] [fork|forkserver|spawn]``: it prints how many completion lines
the pool's children wrote (one per job) and how many processes ran the jobs.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import sys
import tempfile

import zlog


def setup(path: str) -> None:
    """Route the job signals; the pool's initializer, so that spawned children get the same routing."""
    if not zlog.routes():  # a forked child already has its parent's routes
        zlog.route("JOB_*", zlog.Background(zlog.JSONSink(open(path, "ab"), buffered=True)))  # noqa: SIM115


def job(number: int) -> int:
    zlog.emit("JOB_COMPLETED", "Job completed", job_id=f"j{number}")
    zlog.flush()  # the child may end with os._exit right after this job: write what zlog holds now
    return os.getpid()


if __name__ == "__main__":
    jobs = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    method = sys.argv[2] if len(sys.argv) > 2 else "spawn"
    path = os.path.join(tempfile.mkdtemp(), "jobs.log")
    setup(path)
    context = multiprocessing.get_context(method)
    with context.Pool(2, initializer=setup, initargs=(path,), maxtasksperchild=1) as pool:
        pids = pool.map(job, range(jobs), chunksize=1)  # one job per task: a new child for each
    with open(path, "rb") as lines:
        done = [json.loads(line)["job_id"] for line in lines]
    print(f"{len(done)} completion lines ({len(set(done))} distinct) from {len(set(pids))} processes")
