"""AsyncSink: async sinks awaited in order on zlog's own thread and event loop, bounded like Background."""

from __future__ import annotations

import asyncio
import functools
import gc
import os
import subprocess
import sys
import textwrap
import threading
import time
import uuid
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import require_service

import zlog
from zlog import Event, Router
from zlog.sinks import AsyncSink, Background, Fallback, Retry
from zlog.testing import CapturedEvents
from zlog.typing import SinkLike

REDIS_DB = 14  # this module's own Redis database


class Recorder:
    """An async sink object: what it got, on which event loop and thread, and its flush and close."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self.loops: dict[str, list[asyncio.AbstractEventLoop]] = {"handle": [], "flush": [], "close": []}
        self.threads: set[str] = set()

    async def handle(self, event: Event) -> None:
        await asyncio.sleep(0)
        self.loops["handle"].append(asyncio.get_running_loop())
        self.threads.add(threading.current_thread().name)
        self.messages.append(event.message)

    async def flush(self, timeout: float | None = None) -> bool:
        await asyncio.sleep(0)
        self.loops["flush"].append(asyncio.get_running_loop())
        return True

    async def close(self, timeout: float | None = None) -> bool:
        await asyncio.sleep(0)
        self.loops["close"].append(asyncio.get_running_loop())
        return True


class Stalled:
    """An async sink that awaits an asyncio.Event nobody sets."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.cancelled = threading.Event()

    async def handle(self, event: Event) -> None:
        self.entered.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled.set()
            raise


def test_10000_events_from_100_tasks_arrive_complete_and_in_each_tasks_order_after_aflush() -> None:
    got: list[tuple[int, int]] = []

    async def sink(event: Event) -> None:
        await asyncio.sleep(0)
        got.append((event.fields["task"], event.fields["seq"]))

    async def producer(task: int) -> None:
        for seq in range(100):
            zlog.emit("JOB_DONE", "done", task=task, seq=seq)
            await asyncio.sleep(0)

    async def main() -> bool:
        await asyncio.gather(*(producer(t) for t in range(100)))
        return await zlog.aflush(5)

    with zlog.default_router.isolated():
        zlog.route("JOB_*", sink)
        assert asyncio.run(main()) is True
        assert zlog.close(timeout=5) is True
    assert len(got) == 10_000
    for task in range(100):
        assert [seq for t, seq in got if t == task] == list(range(100))


def test_a_stalled_async_sink_drops_the_excess_and_flush_and_close_keep_their_deadlines() -> None:
    stalled = Stalled()
    router = Router()
    reports = CapturedEvents(name="reports")
    router.route("ZLOG_EVENTS_DROPPED", reports)
    sink = AsyncSink(stalled, maxsize=3)
    router.route("JOB_*", sink)
    router.emit("JOB_DONE", "first")
    assert stalled.entered.wait(5)  # the writer awaits the first event, for ever
    for i in range(10):
        router.emit("JOB_DONE", str(i))
    assert sink.stats()["dropped"] == 7 and sink.stats()["queued"] == 4  # three queued, one in the sink
    assert sink.flush(timeout=0.2) is False
    assert sink.close(timeout=0.3) is False
    assert stalled.cancelled.wait(5)  # the await was cancelled: the writer's loop is free
    assert sink.dropped == 11 and router.dropped()[sink.name] == 11
    assert reports[-1].fields["sink"] == sink.name and reports[-1].fields["total_dropped"] == 11


class AsyncHandle:
    def __init__(self) -> None:
        self.got: list[str] = []

    async def handle(self, event: Event) -> None:
        await asyncio.sleep(0)
        self.got.append(event.message)


class AsyncCall:
    def __init__(self) -> None:
        self.got: list[str] = []

    async def __call__(self, event: Event) -> None:
        await asyncio.sleep(0)
        self.got.append(event.message)


async def append_to(got: list[str], event: Event) -> None:
    await asyncio.sleep(0)
    got.append(event.message)


def _function() -> tuple[SinkLike, list[str]]:
    got: list[str] = []

    async def sink(event: Event) -> None:
        await asyncio.sleep(0)
        got.append(event.message)

    return sink, got


def _handle() -> tuple[SinkLike, list[str]]:
    sink = AsyncHandle()
    return sink, sink.got


def _call() -> tuple[SinkLike, list[str]]:
    sink = AsyncCall()
    return sink, sink.got


def _partial() -> tuple[SinkLike, list[str]]:
    got: list[str] = []
    return functools.partial(append_to, got), got


def _named() -> tuple[SinkLike, list[str]]:
    got: list[str] = []
    return zlog.sink("named")(functools.partial(append_to, got)), got


ASYNC_SINKS: dict[str, Callable[[], tuple[SinkLike, list[str]]]] = {
    "async-def": _function,
    "async-handle": _handle,
    "async-call": _call,
    "partial": _partial,
    "named": _named,
}


@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.parametrize("kind", sorted(ASYNC_SINKS))
def test_an_async_sink_routed_directly_is_awaited_and_never_dropped(kind: str) -> None:
    sink, got = ASYNC_SINKS[kind]()
    router = Router()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # "coroutine ... was never awaited" is recorded, not lost in a __del__
        router.route("JOB_*", sink)
        [wrapper] = router.sinks_for("JOB_DONE")
        assert isinstance(wrapper, AsyncSink)
        for i in range(3):
            router.emit("JOB_DONE", str(i))
        assert router.close(timeout=5) is True
        gc.collect()
    assert got == ["0", "1", "2"]
    assert [w for w in caught if issubclass(w.category, RuntimeWarning)] == []


def test_an_async_sink_on_several_routes_and_routers_functions_gets_each_event_once() -> None:
    sink, got = _handle()
    with zlog.default_router.isolated():
        zlog.route("JOB_*", sink)
        zlog.route("JOB_DONE", sink)
        zlog.route_all(sink)
        assert len({id(s) for r in zlog.routes() for s in r.sinks}) == 1  # one AsyncSink for the three
        zlog.emit("JOB_DONE", "once")
        assert zlog.close(timeout=5) is True
    assert got == ["once"]


def test_an_async_sink_passed_wrapped_is_routed_as_it_is() -> None:
    recorder = Recorder()
    wrapper = AsyncSink(recorder, maxsize=50, name="recorder")
    router = Router()
    router.route("JOB_*", wrapper)
    assert router.sinks_for("JOB_DONE") == (wrapper,)
    router.emit("JOB_DONE", "x")
    assert router.close(timeout=5) is True
    assert recorder.messages == ["x"] and wrapper.stats()["maxsize"] == 50 and wrapper.closed


def test_the_inner_sinks_async_flush_and_close_are_awaited_on_its_own_loop_off_the_callers() -> None:
    recorder = Recorder()
    router = Router()
    router.route("JOB_*", recorder)

    async def main() -> asyncio.AbstractEventLoop:
        router.emit("JOB_DONE", "x")
        assert await router.aflush(5) is True
        router.emit("JOB_DONE", "y")
        assert router.flush() is True  # a blocking flush from a coroutine still awaits it on the sink's loop
        assert await router.aclose(5) is True
        return asyncio.get_running_loop()

    caller = asyncio.run(main())
    assert recorder.messages == ["x", "y"]
    loops = {id(loop) for calls in recorder.loops.values() for loop in calls}
    assert len(loops) == 1 and [len(calls) for calls in recorder.loops.values()] == [2, 2, 1]
    assert recorder.loops["handle"][0] is not caller and recorder.loops["handle"][0].is_closed()
    assert all(name.startswith("zlog-async(") for name in recorder.threads)


def test_closing_an_async_sink_that_never_got_an_event_still_awaits_its_close() -> None:
    recorder = Recorder()
    sink = AsyncSink(recorder)
    assert sink.close(timeout=5) is True
    assert len(recorder.loops["close"]) == 1 and recorder.loops["close"][0].is_closed()
    assert sink.flush(timeout=1) is True  # after close: answers, awaits nothing more


def test_a_failing_async_sink_is_counted_and_reported_and_the_next_event_still_arrives() -> None:
    got: list[str] = []

    async def flaky(event: Event) -> None:
        if event.message == "bad":
            raise ValueError("cannot take it")
        got.append(event.message)

    router = Router()
    reports = CapturedEvents(name="reports")
    router.route("ZLOG_SINK_ERROR", reports)
    router.route("JOB_*", flaky)
    for message in ("ok", "bad", "after"):
        router.emit("JOB_DONE", message)
    assert router.close(timeout=5) is True
    assert got == ["ok", "after"]
    [report] = reports
    assert isinstance(report.fields["error"], ValueError) and report.fields["failed_signal"] == "JOB_DONE"


def test_an_event_the_async_sink_emits_while_it_is_awaited_is_queued_behind_the_others() -> None:
    router = Router()
    got: list[str] = []

    async def chatty(event: Event) -> None:
        got.append(event.message)
        if event.message == "first":
            router.emit("JOB_DONE", "from the sink")  # on the writer: queued, not awaited nor waited for

    router.route("JOB_*", chatty)
    router.emit("JOB_DONE", "first")
    router.emit("JOB_DONE", "second")
    assert router.close(timeout=5) is True
    assert sorted(got) == ["first", "from the sink", "second"] and got[0] == "first"


@pytest.mark.parametrize("wrap", [Background, Retry, lambda s: Fallback(s, CapturedEvents())])
def test_a_sync_wrapper_refuses_an_async_sink_and_names_async_sink(wrap: Callable[[SinkLike], Any]) -> None:
    sink, _ = _function()
    with pytest.raises(TypeError, match="AsyncSink"):
        wrap(sink)
    assert isinstance(Retry(AsyncSink(sink)), Retry)  # wrapped first, it is a sync sink like any other


def test_queued_events_of_an_async_sink_are_written_at_a_normal_exit(tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    code = textwrap.dedent(
        f"""
        import asyncio, zlog

        def append(line):
            with open({str(out)!r}, "a") as fh:
                fh.write(line + "\\n")

        async def sink(event):
            await asyncio.to_thread(append, event.message)  # an executor call, in the exit drain too

        zlog.route("JOB_*", sink)
        for i in range(100):
            zlog.emit("JOB_DONE", str(i))
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stderr == ""
    assert out.read_text().splitlines() == [str(i) for i in range(100)]


def test_aflush_and_aclose_return_by_their_timeout_while_the_event_loop_keeps_running() -> None:
    stalled = Stalled()
    ticks: list[float] = []

    async def ticker() -> None:
        while True:
            await asyncio.sleep(0.005)
            ticks.append(time.monotonic())

    async def main() -> tuple[bool, bool, int]:
        tick = asyncio.create_task(ticker())
        zlog.emit("JOB_DONE", "stalls")
        await asyncio.sleep(0)
        before = len(ticks)
        flushed = await asyncio.wait_for(zlog.aflush(0.3), 10)
        during = len(ticks) - before
        closed = await asyncio.wait_for(zlog.aclose(0.3), 10)
        tick.cancel()
        return flushed, closed, during

    with zlog.default_router.isolated():
        zlog.route("JOB_*", stalled)
        flushed, closed, during = asyncio.run(main())
    assert flushed is False and closed is False
    assert during >= 2  # the loop ticked while aflush waited
    assert stalled.cancelled.wait(5)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_does_not_deliver_the_parents_queued_events_again(tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    gate = threading.Event()

    async def sink(event: Event) -> None:
        while event.message == "first" and not gate.is_set():  # the parent's writer waits here
            await asyncio.sleep(0.005)
        with open(out, "a") as fh:
            fh.write(f"{os.getpid()} {event.message}\n")

    router = Router()
    router.route("JOB_*", sink)
    router.emit("JOB_DONE", "first")
    for i in range(5):
        router.emit("JOB_DONE", f"queued {i}")
    pid = os.fork()
    if pid == 0:  # the child: its own events only
        code = 1
        try:
            router.emit("JOB_DONE", "child")
            code = 0 if router.flush(timeout=5) else 2
        finally:
            os._exit(code)
    deadline = time.monotonic() + 30
    while (done := os.waitpid(pid, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    if done[0] == 0:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        pytest.fail("the forked child did not finish")
    assert os.waitstatus_to_exitcode(done[1]) == 0
    gate.set()
    assert router.close(timeout=5) is True
    lines = [line.split(" ", 1) for line in out.read_text().splitlines()]
    assert [m for p, m in lines if p == str(pid)] == ["child"]
    assert [m for p, m in lines if p == str(os.getpid())] == ["first", *(f"queued {i}" for i in range(5))]


def test_a_redis_asyncio_sink_writes_every_event_and_closes_its_client_on_the_writer_loop() -> None:
    require_service("Redis", "127.0.0.1", 6379)
    import redis
    import redis.asyncio

    stream = f"zlog:aio:{uuid.uuid4().hex}"

    class RedisStream:
        def __init__(self) -> None:
            self.client = redis.asyncio.Redis.from_url(f"redis://127.0.0.1:6379/{REDIS_DB}")

        async def handle(self, event: Event) -> None:
            await self.client.xadd(stream, {"signal": event.signal, "message": event.message})

        async def close(self, timeout: float | None = None) -> bool:
            await self.client.aclose()
            return True

    router = Router()
    router.route("JOB_*", RedisStream())
    for i in range(200):
        router.emit("JOB_DONE", str(i))
    assert router.close(timeout=10) is True
    check = redis.Redis.from_url(f"redis://127.0.0.1:6379/{REDIS_DB}")
    try:
        entries: Any = check.xrange(stream)
        assert [fields[b"message"].decode() for _, fields in entries] == [str(i) for i in range(200)]
    finally:
        check.delete(stream)
        check.close()
