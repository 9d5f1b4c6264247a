"""NATSSink against the real NATS server with JetStream on 127.0.0.1:4222: core publish, JetStream with
message-id de-duplication, a server that is down, and fork."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("nats", reason="needs the nats extra: pip install 'zlog[nats]'")
import nats
from conftest import modules_the_writer_imports

import zlog
from zlog.sinks.nats import NATSSink
from zlog.streams import subscribe

pytestmark = pytest.mark.usefixtures("nats_server")


def run(coro: Any) -> Any:
    return asyncio.new_event_loop().run_until_complete(coro)


async def _stream(action: str, name: str, subjects: list[str] | None = None) -> Any:
    nc = await nats.connect("nats://127.0.0.1:4222")
    try:
        js = nc.jetstream()
        if action == "add":
            await js.add_stream(name=name, subjects=subjects)
            return None
        if action == "info":
            return (await js.stream_info(name)).state.messages
        await js.delete_stream(name)
        return None
    finally:
        await nc.close()


@pytest.fixture
def prefix() -> str:
    return f"zlogtest.{uuid.uuid4().hex[:12]}"


@pytest.fixture
def jetstream(prefix: str) -> Iterator[str]:
    name = "ZLOGTEST_" + prefix.rsplit(".", 1)[1].upper()
    run(_stream("add", name, [f"{prefix}.>"]))
    yield name
    run(_stream("delete", name))


def wired(prefix: str, **kwargs: Any) -> tuple[zlog.Router, NATSSink]:
    router = zlog.Router()
    sink = NATSSink(subject_prefix=prefix, **kwargs)
    router.route_all(sink)
    return router, sink


def test_core_publish_on_one_subject_per_signal(prefix: str) -> None:
    got: list[bytes] = []
    reader = threading.Thread(
        target=lambda: got.extend(subscribe(f"nats://127.0.0.1:4222/{prefix}.JOB_FAILED", follow=True, timeout=2))
    )
    reader.start()
    time.sleep(0.5)
    router, sink = wired(prefix)
    router.emit("JOB_FAILED", "failed", job_id="j1")
    router.emit("JOB_DONE", "done", job_id="j2")  # another subject
    assert sink.close(timeout=10) and sink.sent == 2
    reader.join()
    assert [json.loads(x)["job_id"] for x in got] == ["j1"]


def test_jetstream_stores_each_event_once_even_when_a_batch_is_sent_again(prefix: str, jetstream: str) -> None:
    router, sink = wired(prefix, batch_size=100)
    writer: Any = sink.writer
    items = [
        (f"{prefix}.JOB_DONE", json.dumps({"signal": "JOB_DONE", "n": n}).encode(), writer.next_id())
        for n in range(100)
    ]
    writer._run(writer._publish(items))
    writer._run(writer._publish(items))  # what a retried batch sends: the same Nats-Msg-Id values
    for n in range(100, 150):
        router.emit("JOB_DONE", "done", n=n)
    assert sink.close(timeout=10)
    assert run(_stream("info", jetstream)) == 150
    lines = list(subscribe(f"nats://127.0.0.1:4222/{prefix}.>", follow=False, start="all"))
    assert sorted(json.loads(x)["n"] for x in lines) == list(range(150))


def test_a_server_that_is_down_never_blocks_emit_and_close_returns(prefix: str) -> None:
    router = zlog.Router()
    sink = NATSSink("nats://127.0.0.1:1", subject_prefix=prefix, maxsize=20)
    router.route("JOB_*", sink)
    for n in range(200):
        router.emit("JOB_DONE", "x", n=n)
    assert sink.flush(timeout=0.5) is False and sink.dropped >= 150
    started = time.monotonic()
    assert sink.close(timeout=1) is False and time.monotonic() - started < 10
    assert sink.sent == 0 and sink.reconnects >= 1
    assert sink.dropped == 200  # what was queued or being retried at close is counted too: none is lost silently


def test_a_forked_child_publishes_with_its_own_connection(prefix: str, jetstream: str) -> None:
    router, sink = wired(prefix)
    router.emit("FROM_PARENT", "p")
    assert sink.flush(timeout=10)
    pid = os.fork()
    if pid == 0:
        try:
            router.emit("FROM_CHILD", "c")
            os._exit(0 if sink.flush(timeout=10) else 1)
        except BaseException:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert sink.close(timeout=10)
    lines = list(subscribe(f"nats://127.0.0.1:4222/{prefix}.>", follow=False, start="all"))
    assert sorted(json.loads(x)["signal"] for x in lines) == ["FROM_CHILD", "FROM_PARENT"]


def test_bad_subject_prefix_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="without wildcards"):
        NATSSink(subject_prefix="zlog.*")


async def _stored(name: str) -> list[Any]:
    nc = await nats.connect("nats://127.0.0.1:4222")
    try:
        js = nc.jetstream()
        info = await js.stream_info(name)
        return [await js.get_msg(name, seq) for seq in range(info.state.first_seq, info.state.last_seq + 1)]
    finally:
        await nc.close()


def test_the_writer_thread_imports_nothing_so_a_fork_cannot_catch_it_importing(prefix: str, jetstream: str) -> None:
    assert (
        modules_the_writer_imports(f"from zlog.sinks.nats import NATSSink\nsink = NATSSink(subject_prefix={prefix!r})")
        == []
    )
    assert run(_stream("info", jetstream)) == 1


def test_every_event_gets_its_own_message_id(prefix: str, jetstream: str) -> None:
    router, sink = wired(prefix, batch_size=7)
    for n in range(50):
        router.emit("JOB_DONE", "done", n=n)
    assert sink.close(timeout=10) and sink.sent == 50
    ids = [m.headers["Nats-Msg-Id"] for m in run(_stored(jetstream))]
    assert len(ids) == len(set(ids)) == 50
    assert all(i.startswith(f"{socket.gethostname()}-{os.getpid()}-") for i in ids)  # host-pid-random-counter


def test_a_stream_that_refuses_messages_fails_the_batch_without_retrying_it(prefix: str) -> None:
    name = "ZLOGTEST_FULL_" + prefix.rsplit(".", 1)[1].upper()

    async def add() -> None:
        nc = await nats.connect("nats://127.0.0.1:4222")
        await nc.jetstream().add_stream(name=name, subjects=[f"{prefix}.>"], max_msgs=5, discard="new")
        await nc.close()

    run(add())
    try:
        router = zlog.Router()
        sink = NATSSink(subject_prefix=prefix, batch_size=10)
        router.route("JOB_*", sink)
        errors: list[zlog.Event] = []
        router.route("ZLOG_SINK_ERROR", errors.append)
        for n in range(10):
            router.emit("JOB_DONE", "done", n=n)
        assert sink.close(timeout=30)  # delivered or refused (a refusal can take 5 s to surface in nats-py)
        assert sink.sent == 5 and sink.errors >= 1 and sink.reconnects == 0 and run(_stream("info", name)) == 5
        assert errors and "maximum messages exceeded" in errors[0].message
    finally:
        run(_stream("delete", name))


def test_a_deleted_stream_falls_back_to_core_publish(prefix: str) -> None:
    name = "ZLOGTEST_GONE_" + prefix.rsplit(".", 1)[1].upper()
    run(_stream("add", name, [f"{prefix}.>"]))
    router, sink = wired(prefix)
    router.emit("JOB_DONE", "done", n=1)
    assert sink.flush(timeout=10)
    run(_stream("delete", name))
    router.emit("JOB_DONE", "done", n=2)  # JetStream has no stream for it now: looked up again, then core
    assert sink.close(timeout=10) and sink.sent == 2 and sink.dropped == 0


def test_a_server_without_jetstream_gets_core_publishes(tmp_path: Any) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    try:
        server = subprocess.Popen(
            ["nats-server", "-a", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
    except FileNotFoundError:
        pytest.skip("nats-server is not installed")
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        got: list[bytes] = []
        reader = threading.Thread(
            target=lambda: got.extend(subscribe(f"nats://127.0.0.1:{port}/zlog.events.>", follow=True, timeout=2))
        )
        reader.start()
        time.sleep(0.5)
        router = zlog.Router()
        sink = NATSSink(f"nats://127.0.0.1:{port}")
        router.route_all(sink)
        router.emit("JOB_DONE", "done", job_id="j1")
        assert sink.close(timeout=10) and sink.sent == 1 and sink.reconnects == 0
        reader.join()
        assert [json.loads(x)["job_id"] for x in got] == ["j1"]
    finally:
        server.terminate()
        server.wait(10)
