"""The floors of the core benchmark: the least Python that produces the same outputs as zlog, by hand.

``floor`` is one JSON line (a prebuilt dict, a timestamp cached per second, ``orjson.dumps``, a buffered
``write``); ``fanout_floor`` is the work of the four fan-out sinks written inline. What is left between
a floor and the zlog case next to it is zlog's own overhead.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import threading
import time
from bisect import bisect_left
from collections import deque
from collections.abc import Callable
from typing import Any

import orjson

Case = Callable[[str], "tuple[Callable[[int], None], Callable[[], None]]"]


def cached_second_stamp() -> Callable[[], str]:
    state: list[Any] = [-1, ""]
    time_ns, strftime, gmtime = time.time_ns, time.strftime, time.gmtime

    def ts() -> str:
        sec, ns = divmod(time_ns(), 1_000_000_000)
        if sec != state[0]:
            state[0] = sec
            state[1] = strftime("%Y-%m-%dT%H:%M:%S.", gmtime(sec))
        return f"{state[1]}{ns // 1000:06d}Z"

    return ts


def floor(flush_each: bool) -> Case:
    def setup(path: str) -> tuple[Callable[[int], None], Callable[[], None]]:
        f = open(path, "ab")  # noqa: SIM115 - closed by the case teardown
        write, flush, dumps, ts = f.write, f.flush, orjson.dumps, cached_second_stamp()

        def emit(signal: str, message: str, **fields: Any) -> None:
            write(dumps({"time": ts(), "signal": signal, "message": message, **fields}) + b"\n")
            if flush_each:
                flush()

        def run(n: int) -> None:
            for _ in range(n):
                emit(
                    "JOB_COMPLETED",
                    "Job processing completed",
                    worker_id="worker-1",
                    job_id="job_123",
                    job_type="email",
                    attempts=1,
                    duration_ms=1234.5,
                )
            f.flush()

        return run, f.close

    return setup


def fanout_floor(path: str) -> tuple[Callable[[int], None], Callable[[], None]]:
    """The fan-out's work written inline by hand: the least Python that produces the same outputs.

    The JSON line of ``floor_buf``; a per-signal count and a labelled histogram; a bucketed sliding-window
    count; an audit record sealed like AuditSink's (SHA-256 of the line up to ``hash``, then of the whole
    line for the next ``prev``), buffered to 64 KiB. Each under its own lock, as sinks must be. No routing,
    no validation, no configuration: what is left between this and ``z_fanout`` is zlog's own overhead.
    """
    f = open(path, "ab")  # noqa: SIM115 - closed by the case teardown
    folder = tempfile.mkdtemp(prefix="zlog-bench-audit-")
    afd = os.open(os.path.join(folder, "audit.log"), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    write, dumps, ts, monotonic, sha256 = f.write, orjson.dumps, cached_second_stamp(), time.monotonic, hashlib.sha256
    metrics_lock, alerts_lock, audit_lock = threading.Lock(), threading.Lock(), threading.Lock()
    counts: dict[str, int] = {}
    bounds = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
    series: dict[tuple[str, ...], list[Any]] = {}
    window: deque[list[float]] = deque()
    chain: list[Any] = [0, "0" * 64, 0]  # seq, prev, pending bytes
    pending: list[bytes] = []

    def emit(signal: str, message: str, **fields: Any) -> None:
        stamp = ts()
        write(dumps({"time": stamp, "signal": signal, "message": message, **fields}) + b"\n")
        metrics_lock.acquire()  # acquire/release in try/finally: what zlog's sinks do, cheaper than ``with``
        try:
            counts[signal] = counts.get(signal, 0) + 1
            seconds = fields["duration_ms"] * 0.001
            state = series.get((fields["job_type"],))
            if state is None:
                state = series[(fields["job_type"],)] = [0] * len(bounds) + [0, 0.0]
            index = bisect_left(bounds, seconds)
            if index < len(bounds):
                state[index] += 1
            state[-2] += 1
            state[-1] += seconds
        finally:
            metrics_lock.release()
        now = monotonic()
        alerts_lock.acquire()
        try:  # a 60 s window of 0.6 s buckets
            if window and now - window[-1][0] < 0.6:
                window[-1][1] += 1
            else:
                window.append([now, 1])
            while window[0][0] <= now - 60.0:
                window.popleft()
        finally:
            alerts_lock.release()
        audit_lock.acquire()
        try:
            body = dumps(
                {
                    "seq": chain[0],
                    "time": stamp,
                    "signal": signal,
                    "message": message,
                    "fields": fields,
                    "prev": chain[1],
                }
            )
            head = body[:-1] + b',"hash":"'
            h = sha256(head)
            tail = h.hexdigest().encode() + b'"}'
            h.update(tail)
            pending.append(head + tail + b"\n")
            chain[0] += 1
            chain[1] = h.hexdigest()
            chain[2] += len(head) + 67
            if chain[2] >= 65536:
                os.write(afd, b"".join(pending))
                pending.clear()
                chain[2] = 0
        finally:
            audit_lock.release()

    def run(n: int) -> None:
        for _ in range(n):
            emit(
                "JOB_COMPLETED",
                "Job processing completed",
                worker_id="worker-1",
                job_id="job_123",
                job_type="email",
                attempts=1,
                duration_ms=1234.5,
            )
        f.flush()

    def teardown() -> None:
        os.close(afd)
        f.close()
        shutil.rmtree(folder, ignore_errors=True)

    return run, teardown
