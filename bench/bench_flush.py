"""The cost of ``zlog.flush()`` after each job, the default where worker children are recycled.

Routes the sinks a worker typically has (a JSON file, a buffered rotating file, a ``Background`` JSON
file and, when Redis is up, a ``RedisSink``) and times, per job of one event: the emit alone, the emit
followed by ``zlog.flush()``, and ``zlog.flush()`` with nothing left to write. Medians of ``--runs`` runs.

    python bench/bench_flush.py              # --jobs 2000 --runs 5 [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench_streams import reachable

import zlog

REDIS_URL = "redis://127.0.0.1:6379/15"


def _sinks(work: Path, stream: str | None) -> list[Any]:
    sinks: list[Any] = [
        zlog.JSONSink(open(work / "shared.log", "ab")),  # noqa: SIM115 - closed with the directory
        zlog.RotatingFileSink(work / "rotating.{pid}.log", buffered=True),
        zlog.Background(zlog.JSONSink(open(work / "background.log", "ab"), buffered=True)),  # noqa: SIM115
    ]
    if stream is not None:
        from zlog.sinks.redis import RedisSink

        sinks.append(RedisSink(REDIS_URL, stream=stream, maxlen=10_000))
    return sinks


def _per_job_us(jobs: int, body: Callable[[int], None]) -> float:
    start = time.perf_counter()
    for n in range(jobs):
        body(n)
    return (time.perf_counter() - start) / jobs * 1e6


def run_once(jobs: int, with_redis: bool) -> dict[str, float]:
    """Microseconds per job for each case, in one process with the worker's sinks routed."""
    stream = f"zlog:bench:flush:{uuid.uuid4().hex}" if with_redis else None
    with tempfile.TemporaryDirectory() as work:
        zlog.route("JOB_COMPLETED", *_sinks(Path(work), stream))
        emit, flush = zlog.emit, zlog.flush

        def job(n: int) -> None:
            emit("JOB_COMPLETED", "Job completed", job_id=f"j{n}", job_type="email", duration_seconds=0.25)

        def job_then_flush(n: int) -> None:
            job(n)
            flush()

        def idle(n: int) -> None:
            flush()

        try:
            job(0)
            flush()  # writer threads started, connections open
            out = {"emit_only": _per_job_us(jobs, job)}
            flush()  # what the emits queued is written before the next case
            out["emit_then_flush"] = _per_job_us(jobs, job_then_flush)
            out["idle_flush"] = _per_job_us(jobs, idle)
        finally:
            zlog.close(timeout=30)
            if stream is not None:
                import redis

                redis.Redis.from_url(REDIS_URL).delete(stream)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", help="write the results to this file")
    args = parser.parse_args(argv)
    with_redis = reachable(6379)
    runs = [run_once(args.jobs, with_redis) for _ in range(args.runs)]
    result = {
        "sinks": ["JSONSink file", "RotatingFileSink buffered", "Background(JSONSink buffered)"]
        + (["RedisSink"] if with_redis else []),
        "jobs": args.jobs,
        "runs": args.runs,
        "us_per_job_median": {k: round(statistics.median(r[k] for r in runs), 2) for k in runs[0]},
        "us_per_job_min": {k: round(min(r[k] for r in runs), 2) for k in runs[0]},
    }
    print(json.dumps(result, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
