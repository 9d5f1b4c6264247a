"""Core hot-path benchmark: zlog against a floor and structlog, in one run, as ratios.

Every case emits the same event, a job completion with five fields::

    emit(JOB_COMPLETED, "Job processing completed", worker_id="worker-1", job_id="job_123",
         job_type="email", attempts=1, duration_ms=1234.5)

Method: R rounds; each round runs every case once in a seeded shuffled order, so a slow stretch of
the machine hits one sample of many cases rather than all samples of one. A sample: fresh setup,
warm-up, gc.collect(), N timed events (including the final flush), teardown, then the output file is
checked (line count, every line parsed, fields compared) and deleted. Reported: median and min
ns/event, and the ratios the targets are stated in.

    python bench/bench_core.py                 # about a minute; --n, --rounds, --seed, --json
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from typing import Any

import floors
import orjson

import zlog

Case = Callable[[str], "tuple[Callable[[int], None], Callable[[], None]]"]
MESSAGE = "Job processing completed"
FIELDS: dict[str, Any] = {
    "worker_id": "worker-1",
    "job_id": "job_123",
    "job_type": "email",
    "attempts": 1,
    "duration_ms": 1234.5,
}


@zlog.signal
def JOB_COMPLETED(*, worker_id: str, job_id: str, job_type: str, attempts: int, duration_ms: float) -> None:
    """A job finished successfully."""


@zlog.signal
def JOB_QUEUED(*, job_id: str) -> None:
    """A job was queued (routed, so the router has a table; JOB_COMPLETED is not routed)."""


# ----------------------------------------------------------------------------- cases
# Each case writes the emit call out in its own loop, on purpose: CPython 3.11 specialises a call site
# for the function it calls, so a loop shared by every case would measure its respecialisation too.
def case_nop(path: str) -> tuple[Callable[[int], None], Callable[[], None]]:
    def nop(signal: object, message: str, /, **fields: Any) -> None:
        pass

    def run(n: int) -> None:
        for _ in range(n):
            nop(
                JOB_COMPLETED,
                "Job processing completed",
                worker_id="worker-1",
                job_id="job_123",
                job_type="email",
                attempts=1,
                duration_ms=1234.5,
            )

    return run, lambda: None


def _unrouted(signal: object) -> Case:
    def setup(path: str) -> tuple[Callable[[int], None], Callable[[], None]]:
        zlog.reset()
        zlog.route(JOB_QUEUED, lambda e: None)
        emit = zlog.emit

        def run(n: int) -> None:
            for _ in range(n):
                emit(
                    signal,
                    "Job processing completed",
                    worker_id="worker-1",
                    job_id="job_123",  # type: ignore[call-overload]
                    job_type="email",
                    attempts=1,
                    duration_ms=1234.5,
                )

        return run, zlog.reset

    return setup


def _zlog_json(buffered: bool, caller: bool = False) -> Case:
    """``zlog.emit`` into a ``JSONSink``; with ``caller``, the opt-in ``processors.CallerInfo`` on the router."""

    def setup(path: str) -> tuple[Callable[[int], None], Callable[[], None]]:
        f = open(path, "ab")  # noqa: SIM115 - closed by the case teardown
        zlog.reset()
        sink = zlog.JSONSink(f, buffered=buffered)
        zlog.route(JOB_COMPLETED, sink)
        if caller:
            zlog.add_processor(zlog.processors.CallerInfo())
        emit = zlog.emit

        def run(n: int) -> None:
            for _ in range(n):
                emit(
                    JOB_COMPLETED,
                    "Job processing completed",
                    worker_id="worker-1",
                    job_id="job_123",
                    job_type="email",
                    attempts=1,
                    duration_ms=1234.5,
                )
            sink.flush()

        def teardown() -> None:
            zlog.reset()
            sink.close()
            f.close()

        return run, teardown

    return setup


def case_fanout(path: str) -> tuple[Callable[[int], None], Callable[[], None]]:
    """JSON lines + metrics + alerts + audit (fsync off), the job-system fan-out of the sinks issue."""
    f = open(path, "ab")  # noqa: SIM115 - closed by the case teardown
    folder = tempfile.mkdtemp(prefix="zlog-bench-audit-")
    zlog.reset()
    json_sink = zlog.JSONSink(f, buffered=True)
    metrics = zlog.MetricsSink(declare=[JOB_COMPLETED])
    metrics.histogram("zlog_job_duration_seconds", JOB_COMPLETED, field="duration_ms", scale=0.001, labels=["job_type"])
    alerts = zlog.AlertSink([])
    alerts.threshold(JOB_COMPLETED, count=1_000_000_000, window=60, name="Never")
    audit = zlog.AuditSink(os.path.join(folder, "audit.log"), fsync="none")
    zlog.route(JOB_COMPLETED, json_sink, metrics, alerts, audit)
    emit = zlog.emit

    def run(n: int) -> None:
        for _ in range(n):
            emit(
                JOB_COMPLETED,
                "Job processing completed",
                worker_id="worker-1",
                job_id="job_123",
                job_type="email",
                attempts=1,
                duration_ms=1234.5,
            )
        json_sink.flush()

    def teardown() -> None:
        zlog.reset()
        audit.close()
        f.close()
        shutil.rmtree(folder, ignore_errors=True)

    return run, teardown


class _NoFlushBytesLogger:
    """structlog's BytesLogger without the per-line flush (for the buffered comparison)."""

    def __init__(self, f: Any) -> None:
        self._write = f.write
        self._lock = threading.Lock()

    def msg(self, message: bytes) -> None:
        with self._lock:
            self._write(message + b"\n")

    info = msg


def _structlog(flush_each: bool) -> Case:
    def setup(path: str) -> tuple[Callable[[int], None], Callable[[], None]]:
        import logging

        import structlog

        f = open(path, "ab")  # noqa: SIM115 - closed by the case teardown
        factory: Any = structlog.BytesLoggerFactory(f) if flush_each else (lambda *a: _NoFlushBytesLogger(f))
        structlog.reset_defaults()
        structlog.configure(  # structlog's performance docs: orjson, BytesLogger, filtering, cached
            processors=[
                structlog.contextvars.merge_contextvars,
                structlog.processors.add_log_level,
                structlog.processors.format_exc_info,
                structlog.processors.TimeStamper(fmt="iso", utc=True),
                structlog.processors.JSONRenderer(serializer=orjson.dumps),
            ],
            wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
            logger_factory=factory,
            cache_logger_on_first_use=True,
        )
        log = structlog.get_logger().bind()

        def run(n: int) -> None:
            for _ in range(n):
                log.info(
                    "Job processing completed",
                    signal="JOB_COMPLETED",
                    worker_id="worker-1",
                    job_id="job_123",
                    job_type="email",
                    attempts=1,
                    duration_ms=1234.5,
                )
            f.flush()

        def teardown() -> None:
            structlog.reset_defaults()
            f.close()

        return run, teardown

    return setup


CASES: dict[str, tuple[str, Case, bool]] = {
    # id: (description, setup, writes lines)
    "nop": ("empty function, same arguments", case_nop, False),
    "z_none_sig": ("zlog.emit, typed signal routed nowhere", _unrouted(JOB_COMPLETED), False),
    "z_none_str": ("zlog.emit, str signal routed nowhere", _unrouted("JOB_COMPLETED"), False),
    "floor_buf": ("floor: cached-second ts + orjson + buffered write", floors.floor(False), True),
    "floor_flush": ("floor + flush per line", floors.floor(True), True),
    "z_buf": ("zlog.emit -> JSONSink(buffered=True)", _zlog_json(True), True),
    "z_unbuf": ("zlog.emit -> JSONSink(buffered=False)", _zlog_json(False), True),
    "z_caller": ("zlog.emit -> JSONSink(buffered=True) with CallerInfo", _zlog_json(True, caller=True), True),
    "floor_fanout": ("fan-out floor: the same four outputs' work inline by hand", floors.fanout_floor, True),
    "z_fanout": ("zlog.emit -> JSON + metrics + alerts + audit (fsync off)", case_fanout, True),
    "sl_flush": ("structlog fastest documented config (BytesLogger flushes)", _structlog(True), True),
    "sl_buf": ("structlog same, BytesLogger without flush", _structlog(False), True),
}

TARGETS = [  # (label, case, reference, max ratio)
    ("unrouted typed signal / empty function", "z_none_sig", "nop", 1.5),
    ("unrouted str signal / empty function", "z_none_str", "nop", 1.5),
    ("JSONSink(buffered=False) / floor + flush", "z_unbuf", "floor_flush", 1.5),
    ("JSONSink(buffered=True) / buffered floor", "z_buf", "floor_buf", 1.5),
    ("fan-out to JSON + metrics + alerts + audit / buffered floor", "z_fanout", "floor_buf", 3.0),
    ("fan-out / fan-out floor (zlog's own overhead on four sinks)", "z_fanout", "floor_fanout", 1.5),
    ("JSONSink(buffered=False) / structlog flushing", "z_unbuf", "sl_flush", 0.5),
    ("JSONSink(buffered=True) / structlog no flush", "z_buf", "sl_buf", 0.5),
]


#: Costs shown next to the targets, without a limit: (label, case, reference).
COSTS = [
    ("caller information on / off (JSONSink buffered)", "z_caller", "z_buf"),
]


def _verify(cid: str, path: str, expected: int) -> None:
    with open(path, "rb") as fh:
        lines = fh.read().splitlines()
    if len(lines) != expected:
        raise SystemExit(f"{cid}: expected {expected} lines, found {len(lines)}")
    for raw in (lines[0], lines[-1], lines[len(lines) // 2]):
        obj = orjson.loads(raw)
        message = obj.get("message", obj.get("event"))
        if message != MESSAGE or any(obj.get(k) != v for k, v in FIELDS.items()):
            raise SystemExit(f"{cid}: unexpected line {raw[:200]!r}")


def sample(cid: str, n: int, warmup: int, tmp: str) -> float:
    _, setup, writes = CASES[cid]
    path = os.path.join(tmp, f"{cid}.jsonl")
    run, teardown = setup(path)
    try:
        run(warmup)
        gc.collect()
        start = time.perf_counter_ns()
        run(n)
        elapsed = time.perf_counter_ns() - start
    finally:
        teardown()
    if writes:
        _verify(cid, path, warmup + n)
        os.remove(path)
    return elapsed / n


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=50_000, help="timed events per sample")
    parser.add_argument("--warmup", type=int, default=2_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--only", default="", help="comma-separated case ids")
    parser.add_argument("--json", dest="json_out", help="write raw results here")
    args = parser.parse_args(argv)
    ids = [c for c in CASES if not args.only or c in args.only.split(",")]
    rng = random.Random(args.seed)
    samples: dict[str, list[float]] = {c: [] for c in ids}
    with tempfile.TemporaryDirectory(prefix="zlog-bench-") as tmp:
        for _ in range(args.rounds):
            order = ids[:]
            rng.shuffle(order)
            for cid in order:
                samples[cid].append(sample(cid, args.n, args.warmup, tmp))
    med = {c: statistics.median(v) for c, v in samples.items()}
    print(
        f"python {platform.python_version()}, orjson {orjson.__version__}, {os.cpu_count()} cpus, "
        f"n={args.n} x {args.rounds} rounds, seed {args.seed}\n"
    )
    print("| case | what | median ns/event | min ns/event |")
    print("|---|---|---:|---:|")
    for cid in ids:
        print(f"| {cid} | {CASES[cid][0]} | {med[cid]:,.0f} | {min(samples[cid]):,.0f} |")
    print("\n| target | ratio (medians) | limit | result |")
    print("|---|---:|---:|---|")
    failed = False
    for label, case, ref, limit in TARGETS:
        if case in med and ref in med:
            ratio = med[case] / med[ref]
            ok = ratio <= limit
            failed |= not ok
            print(f"| {label} | {ratio:.2f} | <= {limit} | {'met' if ok else 'MISSED'} |")
    for label, case, ref in COSTS:
        if case in med and ref in med:
            print(f"| {label} | {med[case] / med[ref]:.2f} (+{med[case] - med[ref]:,.0f} ns) | - | cost |")
    if args.json_out:
        with open(args.json_out, "w") as fh:
            json.dump({"args": vars(args), "samples": samples, "medians": med}, fh, indent=1)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
