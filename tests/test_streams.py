"""Reading events back across processes: zlog.streams.subscribe, `zlog tail --from`, and the SCALE TESTS
(test_scale_*: 8 worker processes x 10,000 events, received by one subscriber exactly once) through NATS
JetStream and a Redis Stream; about 10 s each here."""

from __future__ import annotations

import asyncio
import itertools
import json
import multiprocessing
import subprocess
import sys
import threading
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

pytest.importorskip("redis", reason="needs the redis extra")
pytest.importorskip("nats", reason="needs the nats extra")
import nats
import redis

import zlog
from zlog.streams import subscribe

WORKERS, EVENTS = 8, 10_000


def worker_redis(stream: str, worker: int) -> None:
    from zlog.sinks.redis import RedisSink

    router = zlog.Router()
    sink = RedisSink(stream=stream, maxlen=None, maxsize=EVENTS)
    router.route_all(sink)
    for seq in range(EVENTS):
        router.emit("JOB_DONE", "done", worker=worker, seq=seq)
    sys.exit(0 if sink.close(timeout=60) and sink.dropped == 0 else 1)


def worker_nats(prefix: str, worker: int) -> None:
    from zlog.sinks.nats import NATSSink

    router = zlog.Router()
    sink = NATSSink(subject_prefix=prefix, maxsize=EVENTS)
    router.route_all(sink)
    for seq in range(EVENTS):
        router.emit("JOB_DONE", "done", worker=worker, seq=seq)
    sys.exit(0 if sink.close(timeout=60) and sink.dropped == 0 else 1)


def run_workers(target: Callable[[str, int], None], arg: str) -> None:
    context = multiprocessing.get_context("fork")
    processes = [context.Process(target=target, args=(arg, w)) for w in range(WORKERS)]
    for p in processes:
        p.start()
    for p in processes:
        p.join(timeout=120)
    assert [p.exitcode for p in processes] == [0] * WORKERS


def assert_exactly_once(lines: list[bytes]) -> None:
    seen = Counter((e["worker"], e["seq"]) for e in map(json.loads, lines))
    assert len(lines) == WORKERS * EVENTS
    assert set(seen) == {(w, s) for w in range(WORKERS) for s in range(EVENTS)}
    assert max(seen.values()) == 1


@pytest.mark.usefixtures("redis_server")
def test_scale_8_processes_through_a_redis_stream_arrive_exactly_once() -> None:
    stream = f"zlogtest:{uuid.uuid4().hex}"
    try:
        run_workers(worker_redis, stream)
        assert_exactly_once(list(subscribe(f"redis://127.0.0.1:6379/{stream}", follow=False, start="all")))
    finally:
        redis.Redis().delete(stream)


async def _jetstream(action: str, name: str, subject: str = "") -> None:
    nc = await nats.connect("nats://127.0.0.1:4222")
    try:
        js = nc.jetstream()
        if action == "add":
            await js.add_stream(name=name, subjects=[subject])
        else:
            await js.delete_stream(name)
    finally:
        await nc.close()


@pytest.mark.usefixtures("nats_server")
def test_scale_8_processes_through_nats_jetstream_arrive_exactly_once() -> None:
    prefix = f"zlogtest.{uuid.uuid4().hex[:12]}"
    name = "ZLOGSCALE_" + prefix.rsplit(".", 1)[1].upper()
    asyncio.new_event_loop().run_until_complete(_jetstream("add", name, f"{prefix}.>"))
    try:
        run_workers(worker_nats, prefix)
        lines = list(subscribe(f"nats://127.0.0.1:4222/{prefix}.>", follow=False, start="all"))  # ends when caught up
        assert_exactly_once(lines)
    finally:
        asyncio.new_event_loop().run_until_complete(_jetstream("delete", name))


@pytest.mark.usefixtures("redis_server")
def test_zlog_tail_from_a_redis_stream_filters_like_a_file() -> None:
    from zlog.sinks.redis import RedisSink

    stream = f"zlogtest:{uuid.uuid4().hex}"
    router = zlog.Router()
    sink = RedisSink(stream=stream)
    router.route_all(sink)
    router.emit(zlog.Signal("JOB_FAILED", level="error"), "failed", job_id="j1")
    router.emit("JOB_DONE", "done", job_id="j2")
    assert sink.close(timeout=10)
    zlog_cli = str(Path(sys.executable).with_name("zlog"))
    try:
        done = subprocess.run(
            [
                zlog_cli,
                "tail",
                "--from",
                f"redis://127.0.0.1:6379/{stream}",
                "--signal",
                "JOB_FAILED",
                "--format",
                "json",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        redis.Redis().delete(stream)
    assert done.returncode == 0, done.stderr
    assert [json.loads(x)["job_id"] for x in done.stdout.splitlines()] == ["j1"]


@pytest.mark.usefixtures("redis_server")
def test_redis_subscriber_yields_what_the_sink_wrote_stored_then_live() -> None:
    from zlog.sinks.redis import RedisSink

    stream = f"zlogtest:{uuid.uuid4().hex}"
    url = f"redis://127.0.0.1:6379/0/{stream}"
    router = zlog.Router()
    sink = RedisSink(stream=stream)
    router.route_all(sink)
    try:
        router.emit("JOB_DONE", "done", n=1)
        assert sink.flush(timeout=10)
        assert [json.loads(x)["n"] for x in subscribe(url, follow=False, start="all")] == [1]
        assert list(subscribe(url, follow=False)) == []  # "new" without following: nothing yet
        live = subscribe(url, follow=True, timeout=5)  # "new": from now on
        got: list[bytes] = []
        reader = threading.Thread(target=lambda: got.extend(itertools.islice(live, 2)))
        reader.start()
        router.emit("JOB_DONE", "done", n=2)
        router.emit("JOB_DONE", "done", n=3)
        assert sink.close(timeout=10)
        reader.join(30)
        assert [json.loads(x)["n"] for x in got] == [2, 3]
    finally:
        redis.Redis().delete(stream)


@pytest.mark.usefixtures("redis_server")
def test_a_redis_key_that_is_not_a_stream_is_a_value_error() -> None:
    key = f"zlogtest:{uuid.uuid4().hex}"
    redis.Redis().set(key, "x")
    try:
        with pytest.raises(ValueError, match="not a stream"):
            subscribe(f"redis://127.0.0.1:6379/{key}")
    finally:
        redis.Redis().delete(key)


def test_bad_urls_and_unreachable_servers_are_clear_errors() -> None:
    with pytest.raises(ValueError, match="expected redis://"):
        subscribe("http://example.org/x")
    with pytest.raises(ValueError, match="STREAM"):
        subscribe("redis://127.0.0.1:6379/")
    with pytest.raises(ValueError, match="SUBJECT"):
        subscribe("nats://127.0.0.1:4222")
    with pytest.raises(ValueError, match="start must be"):
        subscribe("redis://127.0.0.1:6379/x", start="oldest")
    with pytest.raises(ConnectionError, match="cannot reach Redis"):
        subscribe("redis://127.0.0.1:1/x")
    with pytest.raises(ConnectionError, match="cannot subscribe"):
        subscribe("nats://127.0.0.1:1/x")
