"""Events per second from one process into Redis and NATS through zlog's sinks, beside the raw client's
own publish rate in the same run, and the cost of ``zlog.otel.TraceContext`` on ``emit``.

    python bench/bench_streams.py --n 200000
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
import time
import uuid
from collections.abc import Callable

import orjson

import zlog

LINE = orjson.dumps(
    {
        "time": "2026-11-23T04:00:00.000000Z",
        "level": "info",
        "signal": "JOB_COMPLETED",
        "message": "Job processing completed",
        "job_id": "job_123",
        "job_type": "email",
        "duration_seconds": 1.2345,
    }
)
TARGET = 50_000


def reachable(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def through_sink(sink: zlog.Background, router: zlog.Router, n: int) -> float:
    emit = router.emit
    signal = zlog.Signal("JOB_COMPLETED", level="info")
    start = time.perf_counter()
    for i in range(n):
        emit(signal, "Job processing completed", job_id="job_123", job_type="email", duration_seconds=1.2345)
        if i % 5000 == 4999:
            while sink.pending() > 20_000:  # keep the queue from overflowing: measure delivery, not drops
                time.sleep(0.001)
    assert sink.flush(timeout=120) and sink.dropped == 0
    return n / (time.perf_counter() - start)


def nats_sink_rate(subject_prefix: str, n: int) -> float:
    """Events/s through a NATSSink publishing under ``subject_prefix``, until flushed."""
    from zlog.sinks.nats import NATSSink

    router = zlog.Router()
    sink = NATSSink(subject_prefix=subject_prefix, maxsize=50_000)
    router.route_all(sink)
    rate = through_sink(sink, router, n)
    sink.close(timeout=10)
    return rate


def redis_rates(n: int) -> tuple[float, float]:
    import redis

    from zlog.sinks.redis import RedisSink

    stream = f"zlogbench:{uuid.uuid4().hex}"
    client = redis.Redis()
    try:
        start = time.perf_counter()
        for offset in range(0, n, 256):
            pipe = client.pipeline(transaction=False)
            for _ in range(min(256, n - offset)):
                pipe.xadd(stream, {"signal": "JOB_COMPLETED", "event": LINE}, maxlen=n * 2, approximate=True)
            pipe.execute()
        raw = n / (time.perf_counter() - start)
        client.delete(stream)
        router = zlog.Router()
        sink = RedisSink(stream=stream, maxlen=n * 2, maxsize=50_000)
        router.route_all(sink)
        rate = through_sink(sink, router, n)
        sink.close(timeout=10)
        return raw, rate
    finally:
        client.delete(stream)


def nats_rates(n: int) -> tuple[float, float]:
    import nats

    subject = f"zlogbench.{uuid.uuid4().hex[:8]}"

    async def raw() -> float:
        nc = await nats.connect("nats://127.0.0.1:4222")
        start = time.perf_counter()
        for i in range(n):
            await nc.publish(f"{subject}.JOB_COMPLETED", LINE)
            if i % 256 == 255:
                await nc.flush()
        await nc.flush()
        rate = n / (time.perf_counter() - start)
        await nc.close()
        return rate

    raw_rate = asyncio.new_event_loop().run_until_complete(raw())
    return raw_rate, nats_sink_rate(subject, n)


def jetstream_rates(n: int) -> tuple[float, float]:
    import nats

    subject = f"zlogbench.{uuid.uuid4().hex[:8]}"
    name = "ZLOGBENCH_" + subject.rsplit(".", 1)[1].upper()

    async def stream(action: str) -> None:
        nc = await nats.connect("nats://127.0.0.1:4222")
        js = nc.jetstream()
        await (js.add_stream(name=name, subjects=[f"{subject}.>"]) if action == "add" else js.delete_stream(name))
        await nc.close()

    async def raw() -> float:  # the same as the sink: batches of 256 publishes with a Nats-Msg-Id, acks gathered
        nc = await nats.connect("nats://127.0.0.1:4222")
        js = nc.jetstream()
        start = time.perf_counter()
        for offset in range(0, n, 256):
            await asyncio.gather(
                *(
                    js.publish(f"{subject}.JOB_COMPLETED", LINE, headers={"Nats-Msg-Id": f"r{i}"})
                    for i in range(offset, min(n, offset + 256))
                )
            )
        rate = n / (time.perf_counter() - start)
        await nc.close()
        return rate

    loop = asyncio.new_event_loop()
    loop.run_until_complete(stream("add"))
    try:
        raw_rate = loop.run_until_complete(raw())
        return raw_rate, nats_sink_rate(subject, n)
    finally:
        loop.run_until_complete(stream("delete"))


def processor_cost(n: int) -> list[tuple[str, float]]:
    from opentelemetry.sdk.trace import TracerProvider

    from zlog.otel import TraceContext

    def timed(router: zlog.Router, wrap: Callable[[Callable[[], None]], None]) -> float:
        emit = router.emit
        result: list[float] = []

        def body() -> None:
            start = time.perf_counter_ns()
            for _ in range(n):
                emit("JOB_DONE", "done", job_id="j1")
            result.append((time.perf_counter_ns() - start) / n)

        wrap(body)
        return result[0]

    plain, traced = zlog.Router(), zlog.Router()
    for r in (plain, traced):
        r.route_all(lambda e: None)
    traced.add_processor(TraceContext())
    tracer = TracerProvider().get_tracer("bench")

    def in_span(body: Callable[[], None]) -> None:
        with tracer.start_as_current_span("job"):
            body()

    return [
        ("emit, no processor", min(timed(plain, lambda b: b()) for _ in range(3))),
        ("emit + TraceContext, outside a span", min(timed(traced, lambda b: b()) for _ in range(3))),
        ("emit + TraceContext, inside a span", min(timed(traced, in_span) for _ in range(3))),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=200_000)
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {args.n:,} events per measurement\n")
    print("| target | raw client events/s | zlog sink events/s | target | result |\n|---|---:|---:|---:|---|")
    for name, port, measure in (
        ("Redis Stream (XADD)", 6379, redis_rates),
        ("NATS (core publish)", 4222, nats_rates),
        ("NATS JetStream (msg-id dedup)", 4222, jetstream_rates),
    ):
        if not reachable(port):
            print(f"| {name} | server not reachable on 127.0.0.1:{port}: skipped | | | |")
            continue
        raw, rate = measure(args.n)
        print(f"| {name} | {raw:,.0f} | {rate:,.0f} | {TARGET:,} | {'MET' if rate >= TARGET else 'MISSED'} |")
    try:
        costs = processor_cost(100_000)
    except ImportError:
        print("\nopentelemetry-sdk not installed: TraceContext cost skipped")
        return 0
    print("\n| emit | ns/event |\n|---|---:|")
    for label, ns in costs:
        print(f"| {label} | {ns:,.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
