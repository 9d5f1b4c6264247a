"""How late the asyncio event loop runs while 100 tasks emit, with sinks whose server is stalled.

A ticker coroutine sleeps 1 ms again and again and records how late it wakes (actual - expected):
that is the lag every other coroutine of the application sees. Meanwhile 100 tasks each emit up to
``--per-task`` events, ``--interval`` seconds apart, the tasks' starts spread over one interval
(20,000 events over about eight seconds by default, at most ``--seconds``). Cases:

- ``baseline``: the events are routed to no sink: the lag the load itself makes (the other cases
  are reported with their p99 over this one's too).
- ``redis_stalled`` / ``nats_stalled``: a ``RedisSink`` / ``NATSSink`` (default settings) connected
  through a TCP proxy on 127.0.0.1 to the real server (6379 / 4222), paused once the sink is connected:
  the connection stays up and nothing moves.
- ``async_redis_stalled``: an ``async def`` sink doing ``redis.asyncio`` XADDs through a paused proxy
  (``zlog.route`` wraps it in an ``AsyncSink``).
- ``blocking_sync``: a plain sync sink that blocks 2 ms per event (``time.sleep``), routed directly.
- ``blocking_in_background``: the same sink inside ``zlog.Background``.

The proxy runs in its own process, so that its threads do not share the measured interpreter's GIL.
The cases run ``--rounds`` times, interleaved (a slow stretch of the machine hits all of them); the
table gives the median over the rounds of each percentile. Target: p99 lag under 1 ms with the
stalled Redis and NATS sinks.

    python bench/bench_loop_lag.py                # about 5 minutes; --rounds, --only, --json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from bench_streams import reachable

import zlog
from zlog import Event
from zlog.sinks import AsyncSink

CASES = ("baseline", "redis_stalled", "nats_stalled", "async_redis_stalled", "blocking_sync", "blocking_in_background")
TARGET_P99_MS = 1.0
TARGETED = ("redis_stalled", "nats_stalled")
REDIS_DB = 15  # the benchmark's own Redis database


# -- the stalling proxy (a child process) ------------------------------------------------------------
def proxy_main(upstream: int) -> None:
    """Forward 127.0.0.1:<port printed on stdout> to 127.0.0.1:``upstream``; stdin lines ``pause`` and
    ``resume`` stop and restart the forwarding (bytes read meanwhile are held); EOF ends the proxy."""
    flowing = threading.Event()
    flowing.set()
    server = socket.create_server(("127.0.0.1", 0))

    def pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                flowing.wait()
                data = src.recv(65536)
                if not data:
                    break
                flowing.wait()  # paused after the read: the bytes wait here
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                s.close()

    def accept() -> None:
        while True:
            client, _ = server.accept()  # the kernel completes connections while paused too
            flowing.wait()
            upstream_socket = socket.create_connection(("127.0.0.1", upstream))
            for a, b in ((client, upstream_socket), (upstream_socket, client)):
                threading.Thread(target=pump, args=(a, b), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    print(server.getsockname()[1], flush=True)
    for line in sys.stdin:
        if line.strip() == "pause":
            flowing.clear()
        elif line.strip() == "resume":
            flowing.set()
        print("ok", flush=True)


class Proxy:
    """The proxy process, seen from the benchmark."""

    def __init__(self, upstream: int) -> None:
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--proxy", str(upstream)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        self.port = int(self.process.stdout.readline())

    def _say(self, command: str) -> None:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        assert self.process.stdout.readline().strip() == "ok"

    def pause(self) -> None:
        self._say("pause")

    def stop(self) -> None:
        self.process.kill()
        self.process.wait(10)


# -- the cases -------------------------------------------------------------------------------------
# A case routes its sinks on the router and yields the sink to report the stats of (or None); it cleans up after.


@contextmanager
def baseline(router: zlog.Router) -> Iterator[Any]:
    yield None


@contextmanager
def redis_stalled(router: zlog.Router) -> Iterator[Any]:
    import redis

    from zlog.sinks.redis import RedisSink

    stream = f"zlogbench:lag:{uuid.uuid4().hex}"
    proxy = Proxy(6379)
    sink = RedisSink(f"redis://127.0.0.1:{proxy.port}/{REDIS_DB}", stream=stream)
    try:
        router.route("JOB_*", sink)
        router.emit("JOB_DONE", "warm-up")  # connected through the proxy before it pauses
        assert sink.flush(timeout=10) and sink.sent == 1
        proxy.pause()
        yield sink
    finally:
        sink.close(timeout=0.5)
        proxy.stop()
        direct = redis.Redis(db=REDIS_DB)
        direct.delete(stream)
        direct.close()


@contextmanager
def nats_stalled(router: zlog.Router) -> Iterator[Any]:
    from zlog.sinks.nats import NATSSink

    proxy = Proxy(4222)
    sink = NATSSink(f"nats://127.0.0.1:{proxy.port}", subject_prefix=f"zlogbench.lag.{uuid.uuid4().hex}")
    try:
        router.route("JOB_*", sink)
        router.emit("JOB_DONE", "warm-up")
        assert sink.flush(timeout=10) and sink.sent == 1
        proxy.pause()
        yield sink
    finally:
        sink.close(timeout=0.5)
        proxy.stop()


@contextmanager
def async_redis_stalled(router: zlog.Router) -> Iterator[Any]:
    import redis
    import redis.asyncio

    stream = f"zlogbench:lag:{uuid.uuid4().hex}"
    proxy = Proxy(6379)

    class XAdd:
        def __init__(self) -> None:
            self.client = redis.asyncio.Redis(port=proxy.port, db=REDIS_DB)
            self.sent = 0

        async def handle(self, event: Event) -> None:
            await self.client.xadd(stream, {"signal": event.signal, "message": event.message})
            self.sent += 1

        async def close(self, timeout: float | None = None) -> bool:
            await self.client.aclose()
            return True

    inner = XAdd()
    router.route("JOB_*", inner)
    sink = router.sinks_for("JOB_DONE")[0]
    assert isinstance(sink, AsyncSink)  # routed directly, wrapped by the router
    try:
        router.emit("JOB_DONE", "warm-up")
        assert sink.flush(timeout=10) and inner.sent == 1
        proxy.pause()
        yield sink
    finally:
        sink.close(timeout=0.5)
        proxy.stop()
        direct = redis.Redis(db=REDIS_DB)
        direct.delete(stream)
        direct.close()


def _blocking(event: Event) -> None:
    time.sleep(0.002)


@contextmanager
def blocking_sync(router: zlog.Router) -> Iterator[Any]:
    router.route("JOB_*", _blocking)
    yield None


@contextmanager
def blocking_in_background(router: zlog.Router) -> Iterator[Any]:
    sink = zlog.Background(_blocking)
    router.route("JOB_*", sink)
    try:
        yield sink
    finally:
        sink.close(timeout=0.5)


SETUPS: dict[str, Callable[[zlog.Router], Any]] = {
    "baseline": baseline,
    "redis_stalled": redis_stalled,
    "nats_stalled": nats_stalled,
    "async_redis_stalled": async_redis_stalled,
    "blocking_sync": blocking_sync,
    "blocking_in_background": blocking_in_background,
}
NEEDS = {"redis_stalled": 6379, "nats_stalled": 4222, "async_redis_stalled": 6379}


# -- the measurement -------------------------------------------------------------------------------
async def _load(
    router: zlog.Router, tasks: int, per_task: int, interval: float, seconds: float
) -> tuple[list[float], int]:
    lags: list[float] = []
    emitted = 0
    stop = asyncio.Event()

    async def ticker() -> None:
        while not stop.is_set():
            expected = time.monotonic() + 0.001
            await asyncio.sleep(0.001)
            lags.append(time.monotonic() - expected)

    async def producer(task: int, until: float) -> None:
        nonlocal emitted
        await asyncio.sleep(interval * task / tasks)  # spread out: not all tasks wake in the same tick
        for seq in range(per_task):
            if time.monotonic() > until:
                return
            router.emit("JOB_DONE", "Job processing completed", task=task, seq=seq, job_type="email")
            emitted += 1
            await asyncio.sleep(interval)

    tick = asyncio.create_task(ticker())
    await asyncio.sleep(0.05)  # the ticker runs before the load starts
    until = time.monotonic() + seconds
    await asyncio.gather(*(producer(t, until) for t in range(tasks)))
    stop.set()
    await tick
    return lags, emitted


def _percentile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def run_case(
    case: str, *, tasks: int = 100, per_task: int = 200, interval: float = 0.04, seconds: float = 10.0
) -> dict[str, Any]:
    """Run one case; its lag percentiles in ms, the events emitted and the sink's stats."""
    router = zlog.Router()
    reports: list[Event] = []
    router.route("ZLOG_*", reports.append)  # drop reports stay in the process, not on stderr
    with SETUPS[case](router) as sink:
        start = time.monotonic()
        lags, emitted = asyncio.run(_load(router, tasks, per_task, interval, seconds))
        elapsed = time.monotonic() - start
        stats = sink.stats() if sink is not None else {}
    ordered = sorted(lags)
    ms = [x * 1000 for x in ordered]
    return {
        "case": case,
        "ticks": len(ms),
        "emitted": emitted,
        "seconds": round(elapsed, 3),
        "p50_ms": round(_percentile(ms, 0.5), 4),
        "p90_ms": round(_percentile(ms, 0.9), 4),
        "p99_ms": round(_percentile(ms, 0.99), 4),
        "max_ms": round(ms[-1], 4),
        "dropped": stats.get("dropped"),
        "queued": stats.get("queued"),
        "sent": stats.get("sent"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--tasks", type=int, default=100)
    parser.add_argument("--per-task", type=int, default=200, help="events each task emits at most")
    parser.add_argument("--interval", type=float, default=0.04, help="seconds between a task's emits")
    parser.add_argument("--seconds", type=float, default=10.0, help="the longest a case's load runs")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", default="", help="comma-separated cases")
    parser.add_argument("--json", dest="json_out", help="write the results here")
    parser.add_argument("--proxy", type=int, help=argparse.SUPPRESS)  # the proxy process itself
    args = parser.parse_args(argv)
    if args.proxy is not None:
        proxy_main(args.proxy)
        return 0
    cases = [c for c in CASES if not args.only or c in args.only.split(",")]
    print(
        f"python {platform.python_version()}, {os.cpu_count()} cpus; {args.tasks} tasks x up to {args.per_task} "
        f"events, {args.interval * 1000:g} ms apart, at most {args.seconds:g} s; ticker: sleep(0.001)\n"
    )
    skipped = [c for c in cases if c in NEEDS and not reachable(NEEDS[c])]
    runs: dict[str, list[dict[str, Any]]] = {c: [] for c in cases if c not in skipped}
    for _ in range(args.rounds):
        for case in runs:
            runs[case].append(
                run_case(case, tasks=args.tasks, per_task=args.per_task, interval=args.interval, seconds=args.seconds)
            )
    print("| case | events | ticks | p50 ms | p90 ms | p99 ms | max ms | p99 over baseline | dropped | queued |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    medians: dict[str, dict[str, float]] = {}
    for case, rs in runs.items():
        m = medians[case] = {k: statistics.median(r[k] for r in rs) for k in ("p50_ms", "p90_ms", "p99_ms", "max_ms")}
        over = f"{m['p99_ms'] - medians['baseline']['p99_ms']:+.3f}" if "baseline" in medians else ""
        last = rs[-1]
        print(
            f"| {case} | {last['emitted']:,} | {last['ticks']:,} | {m['p50_ms']:.3f} | {m['p90_ms']:.3f} | "
            f"{m['p99_ms']:.3f} | {m['max_ms']:.3f} | {over} | {'' if last['dropped'] is None else last['dropped']} | "
            f"{'' if last['queued'] is None else last['queued']} |"
        )
    for case in skipped:
        print(f"| {case} | server not reachable on 127.0.0.1:{NEEDS[case]}: skipped | | | | | | | | |")
    met = all(medians[c]["p99_ms"] < TARGET_P99_MS for c in TARGETED if c in medians)
    print(f"\ntarget p99 < {TARGET_P99_MS:g} ms with the stalled Redis and NATS sinks: {'met' if met else 'MISSED'}")
    if args.json_out:
        with open(args.json_out, "w") as fh:
            json.dump(
                {"args": vars(args), "python": platform.python_version(), "medians": medians, "runs": runs},
                fh,
                indent=1,
            )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
