"""RedisSink against the real Redis on 127.0.0.1:6379: stream entries, trimming, pub/sub, a server that is
down, and fork."""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("redis", reason="needs the redis extra: pip install 'zlog[redis]'")
import redis
from conftest import modules_the_writer_imports

import zlog
from zlog.sinks.redis import RedisSink

pytestmark = pytest.mark.usefixtures("redis_server")


@pytest.fixture
def stream() -> Iterator[str]:
    name = f"zlogtest:{uuid.uuid4().hex}"
    yield name
    redis.Redis().delete(name)


def wired(**kwargs: Any) -> tuple[zlog.Router, RedisSink]:
    router = zlog.Router()
    sink = RedisSink(**kwargs)
    router.route_all(sink)
    return router, sink


def entries(stream: str) -> list[dict[Any, Any]]:
    """The fields of each entry of ``stream``, oldest first."""
    found = redis.Redis().xrange(stream)
    assert isinstance(found, list)
    fields = [entry for _, entry in found]
    assert all(entry is not None for entry in fields)
    return [entry for entry in fields if entry is not None]


def test_each_event_is_one_stream_entry_with_its_signal_and_json_line(stream: str) -> None:
    router, sink = wired(stream=stream)
    router.emit(zlog.Signal("JOB_FAILED", level="error"), "failed", job_id="j1")
    router.emit("JOB_DONE", "done", job_id="j2")
    assert sink.close(timeout=10) and sink.sent == 2
    found = entries(stream)
    assert [e[b"signal"] for e in found] == [b"JOB_FAILED", b"JOB_DONE"]
    first = json.loads(found[0][b"event"])
    assert (first["level"], first["signal"], first["job_id"]) == ("error", "JOB_FAILED", "j1")


def test_maxlen_trims_the_stream_approximately(stream: str) -> None:
    router, sink = wired(stream=stream, maxlen=100, batch_size=50)
    for n in range(2000):
        router.emit("TICK", "t", n=n)
    assert sink.close(timeout=10)
    length = redis.Redis().xlen(stream)
    assert 100 <= length < 2000


def test_a_profile_shapes_the_line(stream: str) -> None:
    router, sink = wired(stream=stream, profile="ecs")
    router.emit("JOB_DONE", "done")
    assert sink.close(timeout=10)
    [entry] = entries(stream)
    assert "@timestamp" in json.loads(entry[b"event"])


def test_pub_sub_channel_delivers_to_subscribers() -> None:
    channel = f"zlogtest:{uuid.uuid4().hex}"
    pubsub = redis.Redis().pubsub()
    pubsub.subscribe(channel)
    assert pubsub.get_message(timeout=2) is not None  # the subscribe confirmation
    router, sink = wired(channel=channel)
    router.emit("JOB_DONE", "done", job_id="j1")
    assert sink.close(timeout=10)
    message = pubsub.get_message(timeout=5)
    assert message is not None and json.loads(message["data"])["job_id"] == "j1"
    pubsub.close()


def test_a_server_that_is_down_never_blocks_emit_and_drops_are_counted() -> None:
    reports: list[zlog.Event] = []
    router = zlog.Router()
    router.route("ZLOG_EVENTS_DROPPED", reports.append)
    sink = RedisSink("redis://127.0.0.1:1/0", maxsize=50, batch_size=10, name="down")
    router.route("JOB_*", sink)
    started = time.monotonic()
    for n in range(500):
        router.emit("JOB_DONE", "x", n=n)
    assert time.monotonic() - started < 5  # generous: only shows emit does not wait for Redis
    assert sink.flush(timeout=0.5) is False
    assert sink.dropped >= 500 - 50 - 10 and sink.reconnects >= 1
    closing = time.monotonic()
    assert sink.close(timeout=1) is False
    assert time.monotonic() - closing < 10
    assert sink.sent == 0 and sink.dropped == 500  # what was queued or being retried at close is counted too
    assert reports and reports[0].fields["sink"] == "down"
    assert sum(r.fields["dropped"] for r in reports) == 500 and "closed" in reports[-1].message


def test_a_command_redis_refuses_fails_the_batch_without_retrying_it(stream: str) -> None:
    redis.Redis().set(stream, "not a stream")
    errors: list[zlog.Event] = []
    router = zlog.Router()
    router.route("ZLOG_SINK_ERROR", errors.append)
    sink = RedisSink(stream=stream)
    router.route("JOB_*", sink)
    router.emit("JOB_DONE", "done")
    assert sink.close(timeout=10)
    assert sink.sent == 0 and sink.errors == 1 and sink.reconnects == 0
    assert errors and "WRONGTYPE" in errors[0].message


def test_a_forked_child_delivers_its_own_events(stream: str) -> None:
    router, sink = wired(stream=stream)
    router.emit("FROM_PARENT", "p")
    assert sink.flush(timeout=10)
    pid = os.fork()
    if pid == 0:  # the child: its own connection and writer thread
        try:
            router.emit("FROM_CHILD", "c")
            os._exit(0 if sink.flush(timeout=10) else 1)
        except BaseException:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert sink.close(timeout=10)
    signals = [e[b"signal"] for e in entries(stream)]
    assert signals == [b"FROM_PARENT", b"FROM_CHILD"]


def test_the_writer_thread_imports_nothing_so_a_fork_cannot_catch_it_importing(stream: str) -> None:
    assert (
        modules_the_writer_imports(f"from zlog.sinks.redis import RedisSink\nsink = RedisSink(stream={stream!r})") == []
    )
    assert len(entries(stream)) == 1


def test_emit_from_many_threads_loses_nothing(stream: str) -> None:
    router, sink = wired(stream=stream, maxsize=100_000)

    def work(t: int) -> None:
        for n in range(1000):
            router.emit("TICK", "t", thread=t, n=n)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sink.close(timeout=30) and sink.dropped == 0
    assert redis.Redis().xlen(stream) == 4000
