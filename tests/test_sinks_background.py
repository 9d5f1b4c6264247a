"""Background: a bounded queue and one writer thread between emit and a slow or failing sink."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from zlog import Background, Event, Router
from zlog.typing import SinkLike


class Gate:
    """A sink that blocks until opened, recording what it got and on which thread."""

    def __init__(self) -> None:
        self.open = threading.Event()
        self.entered = threading.Event()  # the writer is inside handle()
        self.events: list[Event] = []
        self.threads: set[str] = set()
        self.flushed = 0
        self.closed = False

    def handle(self, event: Event) -> None:
        self.entered.set()
        self.open.wait(10)
        self.threads.add(threading.current_thread().name)
        self.events.append(event)

    def flush(self, timeout: float | None = None) -> bool:
        self.flushed += 1
        return True

    def close(self, timeout: float | None = None) -> bool:
        self.closed = True
        return True


def wired(sink: SinkLike, **kwargs: Any) -> tuple[Router, Background, list[Event]]:
    router = Router()
    reports: list[Event] = []
    router.route("ZLOG_*", reports.append)
    bg = Background(sink, **kwargs)
    router.route("JOB_*", bg)
    return router, bg, reports


def test_events_reach_the_sink_in_order_on_the_writer_thread() -> None:
    gate = Gate()
    gate.open.set()
    router, bg, _ = wired(gate)
    for i in range(100):
        router.emit("JOB_DONE", str(i))
    assert bg.flush(timeout=10)
    assert [e.message for e in gate.events] == [str(i) for i in range(100)]
    assert gate.threads == {f"zlog-{bg.name}"}
    assert gate.flushed == 1


def test_sinks_with_handle_batch_get_batches() -> None:
    batches: list[int] = []

    class Batcher:
        def handle(self, event: Event) -> None:
            raise AssertionError("handle_batch should be used")

        def handle_batch(self, events: list[Event]) -> None:
            batches.append(len(events))

    router, bg, _ = wired(Batcher(), batch_size=50)
    bg.handle(Event("JOB_X", "warm up"))
    bg.flush(timeout=10)
    for i in range(120):
        router.emit("JOB_DONE", str(i))
    assert bg.flush(timeout=10)
    assert sum(batches) == 121 and max(batches) <= 50


@pytest.mark.parametrize("policy", ["drop_newest", "drop_oldest"])
def test_a_full_queue_drops_by_policy_counts_and_reports(policy: str) -> None:
    gate = Gate()
    router, bg, reports = wired(gate, maxsize=5, overflow=policy)
    router.emit("JOB_DONE", "first")  # taken by the writer, which then blocks in the sink
    deadline = time.monotonic() + 5
    while bg.pending() and bg._busy == 0 and time.monotonic() < deadline:
        time.sleep(0.001)
    for i in range(20):
        router.emit("JOB_DONE", str(i))
    assert bg.dropped == 15
    gate.open.set()
    assert bg.flush(timeout=10)
    kept = [e.message for e in gate.events]
    assert kept == (
        ["first", "0", "1", "2", "3", "4"] if policy == "drop_newest" else ["first", "15", "16", "17", "18", "19"]
    )
    dropped = [e for e in reports if e.signal == "ZLOG_EVENTS_DROPPED"]
    assert len(dropped) == 1  # rate-limited: one report per interval
    assert dropped[0].fields["sink"] == bg.name and dropped[0].fields["policy"] == policy


def test_block_policy_waits_for_room_and_loses_nothing() -> None:
    gate = Gate()
    router, bg, _ = wired(gate, maxsize=2, overflow="block")
    done = threading.Event()

    def producer() -> None:
        for i in range(10):
            router.emit("JOB_DONE", str(i))
        done.set()

    thread = threading.Thread(target=producer)
    thread.start()
    assert not done.wait(0.2)  # blocked: the queue is full and the sink is stalled
    gate.open.set()
    thread.join(10)
    assert done.is_set() and bg.flush(timeout=10)
    assert len(gate.events) == 10 and bg.dropped == 0


def test_emit_does_not_block_with_a_stalled_sink_under_drop_policies() -> None:
    gate = Gate()
    router, bg, _ = wired(gate, maxsize=100)
    start = time.monotonic()
    for _ in range(1000):
        router.emit("JOB_DONE", "x")
    assert time.monotonic() - start < 5  # a blocking emit would wait 10 s on the gate
    assert bg.flush(timeout=0.05) is False  # the writer is stuck: flush reports the timeout
    gate.open.set()
    assert bg.flush(timeout=10)


def test_sink_errors_on_the_writer_are_counted_and_reported() -> None:
    def broken(event: Event) -> None:
        raise OSError("disk gone")

    router, bg, reports = wired(broken)
    router.emit("JOB_DONE", "x")
    bg.flush(timeout=10)
    assert bg.errors == 1
    [report] = [e for e in reports if e.signal == "ZLOG_SINK_ERROR"]
    assert isinstance(report.fields["error"], OSError)
    assert report.fields["sink"] == "broken"  # named after the sink that failed, not the queue in front of it
    assert router.sink_errors()["broken"] == 1


def test_router_flush_and_close_drain_background_sinks() -> None:
    gate = Gate()
    gate.open.set()
    router, bg, _ = wired(gate)
    for i in range(50):
        router.emit("JOB_DONE", str(i))
    assert router.flush(timeout=10)
    assert len(gate.events) == 50
    router.emit("JOB_DONE", "last")
    router.close(timeout=10)
    assert len(gate.events) == 51 and gate.closed
    with pytest.raises(RuntimeError):
        bg.handle(Event("JOB_DONE", "after close"))


def test_invalid_settings_are_clear_errors() -> None:
    with pytest.raises(ValueError):
        Background(print, overflow="sometimes")
    with pytest.raises(ValueError):
        Background(print, maxsize=0)
    with pytest.raises(TypeError):
        Background(42)  # type: ignore[arg-type]


def test_100000_queued_events_survive_a_normal_exit(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    code = textwrap.dedent(
        f"""
        import zlog
        f = open({str(out)!r}, "wb")
        zlog.route_all(zlog.Background(zlog.JSONSink(f, buffered=True), maxsize=200_000, overflow="block"))
        for i in range(100_000):
            zlog.emit("JOB_DONE", "done", n=i)
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    lines = out.read_bytes().splitlines()
    assert len(lines) == 100_000
    assert [json.loads(line)["n"] for line in lines[:3]] == [0, 1, 2]
    assert json.loads(lines[-1])["n"] == 99_999


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_200_forks_while_another_thread_emits_neither_deadlock_nor_lose_child_events(tmp_path: Path) -> None:
    out = tmp_path / "fork.jsonl"
    code = textwrap.dedent(
        f"""
        import os, sys, threading, time, zlog
        f = open({str(out)!r}, "ab", buffering=0)
        bg = zlog.Background(zlog.JSONSink(f), maxsize=100_000, overflow="block")
        zlog.route_all(bg)
        stop = threading.Event()
        def parent_noise():
            while not stop.is_set():
                zlog.emit("PARENT", "noise")
        noise = threading.Thread(target=parent_noise, daemon=True)
        noise.start()
        children = []
        for n in range(200):
            pid = os.fork()
            if pid == 0:
                for k in range(3):
                    zlog.emit("CHILD", "child event", child=n, k=k)
                ok = zlog.flush(timeout=10)
                os._exit(0 if ok else 3)
            children.append(pid)
        failed = 0
        for pid in children:
            deadline = time.monotonic() + 20
            while True:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    failed += os.waitstatus_to_exitcode(status) != 0
                    break
                if time.monotonic() > deadline:
                    os.kill(pid, 9)
                    os.waitpid(pid, 0)
                    failed += 1
                    print("deadlocked child", pid, file=sys.stderr)
                    break
                time.sleep(0.005)
        stop.set()
        noise.join()
        zlog.flush(timeout=30)
        sys.exit(1 if failed else 0)
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    child = [json.loads(line) for line in out.read_bytes().splitlines() if b'"CHILD"' in line]
    assert sorted((c["child"], c["k"]) for c in child) == [(n, k) for n in range(200) for k in range(3)]


class StuckFlush:
    """A sink whose flush blocks (a full pipe, a hung server) and ignores its timeout."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.events: list[Event] = []

    def handle(self, event: Event) -> None:
        self.events.append(event)

    def flush(self, timeout: float | None = None) -> bool:
        self.release.wait(60)
        return True


def test_flush_with_a_timeout_returns_by_the_deadline_when_the_sink_under_background_blocks() -> None:
    stuck = StuckFlush()
    router = Router()
    background = Background(stuck)
    router.route("JOB_*", background)
    router.emit("JOB_DONE", "x")
    try:
        start = time.monotonic()
        assert router.flush(timeout=1) is False
        assert background.flush(timeout=0.5) is False
        assert time.monotonic() - start < 4
        assert [e.message for e in stuck.events] == ["x"]  # the event itself was written
    finally:
        stuck.release.set()


def test_interpreter_exit_is_not_held_by_a_sink_that_blocks_in_flush(tmp_path: Path) -> None:
    code = textwrap.dedent(
        """
        import threading, zlog
        class Stuck:
            def handle(self, event): pass
            def flush(self, timeout=None):
                threading.Event().wait(600)
                return True
        zlog.route_all(zlog.Background(Stuck(), exit_timeout=1.0))
        zlog.emit("JOB_DONE", "done")
        """
    )
    start = time.monotonic()
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    assert time.monotonic() - start < 30  # about exit_timeout plus the interpreter's start


def test_events_left_when_close_runs_out_of_time_are_counted_and_reported() -> None:
    gate = Gate()  # never opened: the writer stays stuck in the sink with the first event
    router, bg, reports = wired(gate, maxsize=100)
    router.emit("JOB_DONE", "first")
    assert gate.entered.wait(5)
    for i in range(9):
        router.emit("JOB_DONE", str(i))
    assert bg.close(timeout=0.3) is False
    assert bg.dropped == 9  # the first event is in the sink's hands; the nine behind it are lost
    [report] = [r for r in reports if r.signal == "ZLOG_EVENTS_DROPPED"]
    assert report.fields["dropped"] == 9 and "closed" in report.fields["reason"]
    gate.open.set()


def test_events_left_at_exit_are_counted_and_reported(tmp_path: Path) -> None:
    code = textwrap.dedent(
        """
        import sys, threading, zlog
        class Stalled:
            def handle(self, event):
                threading.Event().wait(600)
        zlog.route("JOB_*", zlog.Background(Stalled(), exit_timeout=0.5))
        zlog.route("ZLOG_EVENTS_DROPPED", zlog.JSONSink(sys.stdout))
        for i in range(5):
            zlog.emit("JOB_DONE", "done")
        """
    )
    done = subprocess.run([sys.executable, "-c", code], check=True, timeout=60, capture_output=True, text=True)
    [report] = [json.loads(line) for line in done.stdout.splitlines()]
    assert report["signal"] == "ZLOG_EVENTS_DROPPED" and report["total_dropped"] == 5  # queued or in the sink's hands
    assert "exited" in report["reason"]


@pytest.mark.parametrize(
    ("module", "sink"),
    [
        ("zlog.sinks.redis", "RedisSink('redis://127.0.0.1:1/0', exit_timeout=0.5)"),
        ("zlog.sinks.nats", "NATSSink('nats://127.0.0.1:1', exit_timeout=0.5)"),
    ],
    ids=["redis", "nats"],
)
def test_events_still_queued_for_an_unreachable_stream_server_at_exit_are_counted_and_reported(
    module: str, sink: str
) -> None:
    code = textwrap.dedent(
        f"""
        import sys, zlog
        from {module} import *
        zlog.route("JOB_*", {sink})
        zlog.route("ZLOG_EVENTS_DROPPED", zlog.JSONSink(sys.stdout))
        for i in range(50):
            zlog.emit("JOB_DONE", "done", n=i)
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    reports = [json.loads(line) for line in done.stdout.splitlines()]
    assert sum(r["dropped"] for r in reports) == 50  # every event is accounted for, none silently lost
    assert reports[-1]["total_dropped"] == 50 and reports[-1]["sink"] == module.rsplit(".", 1)[1]
