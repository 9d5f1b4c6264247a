"""The sink contract (zlog.typing, docs/sinks/writing.md), checked on every sink class zlog ships.

A new sink gets every check here by adding one line to SINKS (and, for a wrapper, to WRAPPERS).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import io
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import require_service

from zlog import Event, Router, SinkClosedError
from zlog.sinks import (
    AlertSink,
    AsyncSink,
    AuditSink,
    Background,
    CircuitBreaker,
    ConsoleSink,
    Fallback,
    Filtered,
    HealthSink,
    JSONSink,
    MetricsSink,
    Retry,
    RotatingFileSink,
    Sampled,
    Throttle,
    Timeout,
)
from zlog.testing import CapturedEvents

EVENT = Event("JOB_DONE", "done", {"job_id": "j1"})
REDIS_DB = 11  # this module's own Redis database


def _redis(tmp: Path) -> Any:
    require_service("Redis", "127.0.0.1", 6379)
    from zlog.sinks.redis import RedisSink

    return RedisSink(f"redis://127.0.0.1:6379/{REDIS_DB}", stream=f"zlog:contract:{uuid.uuid4().hex}", maxlen=1000)


def _nats(tmp: Path) -> Any:
    require_service("NATS", "127.0.0.1", 4222)
    from zlog.sinks.nats import NATSSink

    return NATSSink(subject_prefix=f"zlog.contract.{uuid.uuid4().hex}")


def _otel(tmp: Path) -> Any:
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import ConsoleLogRecordExporter, SimpleLogRecordProcessor

    from zlog.otel import OTelSink

    provider = LoggerProvider()
    # an exporter without a lock of its own: the SDK's in-memory exporter keeps a lock that a forked child
    # can inherit held (the SDK's concern, not the sink's; docs/otel.md says how to fork with OTel)
    provider.add_log_record_processor(SimpleLogRecordProcessor(ConsoleLogRecordExporter(out=io.StringIO())))
    return OTelSink(provider)


_RECEIVERS: list[Any] = []  # one HTTP receiver on 127.0.0.1, shared by every HTTPSink check


def _http(tmp: Path) -> Any:
    from http_capture import Receiver

    from zlog.sinks.http import HTTPSink

    if not _RECEIVERS:
        _RECEIVERS.append(Receiver())
    return HTTPSink(_RECEIVERS[0].url)


def _logging(tmp: Path) -> Any:
    from zlog.stdlib import LoggingSink

    return LoggingSink(logging.StreamHandler(io.StringIO()))


def _metrics_multiprocess(tmp: Path) -> Any:
    """PROMETHEUS_MULTIPROC_DIR (tmp's own) set only while the sink is made: prometheus_client, imported
    before it, keeps its in-process values, so the sink writes the files itself, in the directory it was
    made with (tests/test_sinks_metrics_multiprocess.py checks prometheus_client's own files)."""
    import prometheus_client.values  # noqa: F401

    (tmp / "prometheus").mkdir()
    with pytest.MonkeyPatch.context() as env:
        env.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp / "prometheus"))
        return MetricsSink(declare="JOB_DONE", multiprocess=True)


#: Every sink class zlog ships, made fresh for each check (one line each).
SINKS: dict[str, Callable[[Path], Any]] = {
    "JSONSink": lambda tmp: JSONSink(io.BytesIO()),
    "JSONSink-text-buffered": lambda tmp: JSONSink(io.StringIO(), buffered=True),
    "ConsoleSink": lambda tmp: ConsoleSink(io.StringIO()),
    "AuditSink": lambda tmp: AuditSink(tmp / "audit.log"),
    "AuditSink-buffered": lambda tmp: AuditSink(tmp / "audit.log", fsync="none"),
    "MetricsSink": lambda tmp: MetricsSink(declare="JOB_DONE"),
    "MetricsSink-multiprocess": _metrics_multiprocess,
    "HealthSink": lambda tmp: HealthSink(),
    "AlertSink": lambda tmp: AlertSink([]),
    "CapturedEvents": lambda tmp: CapturedEvents(),
    "LoggingSink": _logging,
    "OTelSink": _otel,
    "RedisSink": _redis,
    "NATSSink": _nats,
    "HTTPSink": _http,
    "Background": lambda tmp: Background(CapturedEvents()),
    "AsyncSink": lambda tmp: AsyncSink(functools.partial(asyncio.sleep, 0)),  # an async sink that takes anything
    "Retry": lambda tmp: Retry(CapturedEvents()),
    "Timeout": lambda tmp: Timeout(CapturedEvents(), 5),
    "Fallback": lambda tmp: Fallback(CapturedEvents(), CapturedEvents()),
    "CircuitBreaker": lambda tmp: CircuitBreaker(CapturedEvents()),
    "Throttle": lambda tmp: Throttle(CapturedEvents(), 1000),
    "Filtered": lambda tmp: Filtered(CapturedEvents(), lambda e: True),
    "Sampled": lambda tmp: Sampled(CapturedEvents(), 1.0),
    "RotatingFileSink": lambda tmp: RotatingFileSink(tmp / "app.log", max_bytes=4096),
    "RotatingFileSink-buffered-pid": lambda tmp: RotatingFileSink(tmp / "app.{pid}.log", buffered=True),
}

#: Every wrapper, around any inner sink (for the checks with a failing inner sink).
WRAPPERS: dict[str, Callable[[Any], Any]] = {
    "Background": lambda inner: Background(inner),
    "AsyncSink": lambda inner: AsyncSink(inner),
    "Retry": lambda inner: Retry(inner, attempts=2, base=0),
    "Timeout": lambda inner: Timeout(inner, 5),
    "Fallback": lambda inner: Fallback(inner, CapturedEvents()),
    "CircuitBreaker": lambda inner: CircuitBreaker(inner),
    "Throttle": lambda inner: Throttle(inner, 1000),
    "Filtered": lambda inner: Filtered(inner, lambda e: True),
    "Sampled": lambda inner: Sampled(inner, 1.0),
}

#: Sinks that belong to the process that opened them: in a forked child they refuse events.
REFUSE_IN_CHILD = {"AuditSink", "AuditSink-buffered", "RotatingFileSink"}


@pytest.fixture(params=sorted(SINKS))
def made(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Any]]:
    kind = request.param
    sink = SINKS[kind](tmp_path)
    yield kind, sink
    sink.close(timeout=5)


def test_the_contract_covers_every_sink_class_zlog_ships() -> None:
    import zlog.otel
    import zlog.stdlib
    import zlog.testing

    shipped = {getattr(zlog.sinks, n) for n in [*zlog.sinks.__all__, "RedisSink", "NATSSink"]}
    shipped |= {zlog.otel.OTelSink, zlog.stdlib.LoggingSink, zlog.testing.CapturedEvents}
    sinks = {c.__name__ for c in shipped if isinstance(c, type) and issubclass(c, zlog.sinks.SinkBase)}
    sinks -= {"SinkBase", "Wrapper"}  # the bases themselves
    assert sinks <= {kind.split("-")[0] for kind in SINKS}
    streams = {"RedisSink", "NATSSink", "HTTPSink"}  # wrappers of their own writer, not of a sink of yours
    wrappers = {k for k in sinks - streams if issubclass(getattr(zlog.sinks, k, object), zlog.sinks.Wrapper)}
    assert wrappers <= set(WRAPPERS)


def test_handle_takes_an_event_and_flush_returns_true_with_or_without_a_timeout(made: tuple[str, Any]) -> None:
    _, sink = made
    sink.handle(EVENT)
    assert sink.flush() is True
    assert sink.flush(timeout=5) is True


def test_handle_batch_when_present_takes_several_events(made: tuple[str, Any]) -> None:
    _, sink = made
    batch = getattr(sink, "handle_batch", None)
    if batch is None:
        pytest.skip("this sink has no handle_batch")
    batch([EVENT, EVENT])
    assert sink.flush(timeout=5) is True


def test_close_twice_is_harmless_and_flush_after_close_still_answers(made: tuple[str, Any]) -> None:
    _, sink = made
    sink.handle(EVENT)
    assert sink.close(timeout=5) is True
    assert sink.close() is True
    assert sink.closed is True
    assert sink.flush(timeout=1) is True


def test_handle_after_close_is_a_counted_reported_error_the_same_way(made: tuple[str, Any]) -> None:
    _, sink = made
    router = Router()
    reports = CapturedEvents(name="reports")
    router.route("ZLOG_SINK_ERROR", reports)
    router.route("JOB_*", sink)
    assert sink.close(timeout=5) is True
    with pytest.raises(SinkClosedError):
        sink.handle(EVENT)
    router.emit("JOB_DONE", "after close")  # through the router: counted and reported, never raised
    assert sink.stats()["refused"] == 2 and sink.stats()["closed"] is True
    assert router.sink_errors()[sink.name] == 1
    [report] = reports
    assert isinstance(report.fields["error"], SinkClosedError) and report.fields["sink"] == sink.name


def test_stats_is_plain_data_with_the_name_and_state(made: tuple[str, Any]) -> None:
    _, sink = made
    stats = sink.stats()
    assert stats["name"] == sink.name and stats["closed"] is False and stats["refused"] == 0
    assert all(isinstance(k, str) for k in stats)


def test_router_flush_and_close_with_a_timeout_succeed_and_close_the_sink(made: tuple[str, Any]) -> None:
    _, sink = made
    router = Router()
    router.route("JOB_*", sink)
    router.emit("JOB_DONE", "x")
    assert router.flush(timeout=5) is True
    assert router.close(timeout=5) is True
    assert sink.closed is True


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_can_use_the_sink_while_another_thread_used_it_at_fork_time(made: tuple[str, Any]) -> None:
    kind, sink = made
    stop = threading.Event()

    def busy() -> None:  # keeps the sink's locks taken and released while the parent forks
        while not stop.is_set():
            with contextlib.suppress(Exception):
                sink.handle(EVENT)
            sink.flush(timeout=1)

    thread = threading.Thread(target=busy, daemon=True)
    thread.start()
    time.sleep(0.01)
    children = []
    try:
        for _ in range(5):
            pid = os.fork()
            if pid == 0:  # the child: every call must finish, nothing may deadlock
                code = 0
                try:
                    sink.handle(EVENT)
                except SinkClosedError:
                    code = 0 if kind in REFUSE_IN_CHILD else 3
                except BaseException:
                    code = 4
                try:
                    if sink.flush(timeout=5) is not True or sink.close(timeout=5) is not True:
                        code = 5
                except BaseException:
                    code = 6
                os._exit(code)
            children.append(pid)
    finally:
        stop.set()
        thread.join(10)
    for pid in children:
        deadline = time.monotonic() + 30
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                assert os.waitstatus_to_exitcode(status) == 0
                break
            if time.monotonic() > deadline:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
                pytest.fail(f"a forked child deadlocked using {kind}")
            time.sleep(0.01)


# -- wrappers ---------------------------------------------------------------------------------------


class Raising:
    """An inner sink whose every call raises."""

    def __init__(self) -> None:
        self.name = "raising"
        self.closed = 0

    def handle(self, event: Event) -> None:
        raise OSError("inner handle failed")

    def flush(self, timeout: float | None = None) -> bool:
        raise OSError("inner flush failed")

    def close(self, timeout: float | None = None) -> bool:
        self.closed += 1
        raise OSError("inner close failed")


@pytest.mark.parametrize("kind", sorted(WRAPPERS))
def test_a_raising_inner_sink_is_counted_and_reported_never_raised_from_emit(kind: str) -> None:
    inner = Raising()
    wrapper = WRAPPERS[kind](inner)
    router = Router(report_interval=0)
    reports = CapturedEvents(name="reports")
    router.route("ZLOG_*", reports)
    router.route("JOB_*", wrapper)
    router.emit("JOB_DONE", "x")
    assert router.flush(timeout=5) is True  # a failing flush is reported, not a timeout
    assert router.close(timeout=5) is True
    assert inner.closed == 1  # closed once, even though it raised
    failed = [r for r in reports if r.signal == "ZLOG_SINK_ERROR"]
    assert {type(r.fields["error"]) for r in failed} == {OSError}
    assert {r.fields["sink"] for r in failed} <= {inner.name, wrapper.name}
    during = sorted(r.fields["failed_signal"] for r in failed)
    # the flush and the close; and the event itself, except where a Fallback's spare sink took it
    assert during == (["", ""] if kind == "Fallback" else ["", "", "JOB_DONE"])
    assert sum(router.sink_errors().values()) == len(failed)


class Reporting:
    """An inner sink that reports a state change through the reporter it was attached to."""

    def __init__(self) -> None:
        self.reporter: Any = None

    def attach(self, reporter: Any) -> None:
        self.reporter = reporter

    def handle(self, event: Event) -> None:
        self.reporter.state("on", "off", "handled an event", sink="probe")


@pytest.mark.parametrize("kind", sorted(WRAPPERS))
def test_a_wrapper_hands_its_reporter_to_its_inner_sinks(kind: str) -> None:
    wrapper = WRAPPERS[kind](Reporting())
    router = Router()
    reports = CapturedEvents(name="reports")
    router.route("ZLOG_*", reports)
    router.route("JOB_*", wrapper)
    router.emit("JOB_DONE", "x")
    router.flush(timeout=5)
    assert [(r.signal, r.fields["sink"]) for r in reports] == [("ZLOG_SINK_STATE", "probe")]  # routed, not printed
    wrapper.close(timeout=5)


@pytest.mark.parametrize("kind", sorted(WRAPPERS))
def test_a_wrapper_flushes_and_closes_an_inner_sink_that_blocks_by_its_deadline(kind: str) -> None:
    release = threading.Event()

    class Blocking:
        def handle(self, event: Event) -> None: ...

        def flush(self, timeout: float | None = None) -> bool:
            release.wait(30)  # ignores its timeout
            return True

        def close(self, timeout: float | None = None) -> bool:
            release.wait(30)
            return True

    wrapper = WRAPPERS[kind](Blocking())
    try:
        start = time.monotonic()
        assert wrapper.flush(timeout=0.3) is False
        assert wrapper.close(timeout=0.3) is False
        assert time.monotonic() - start < 5
    finally:
        release.set()


def test_a_flush_or_close_without_a_timeout_parameter_is_refused_at_route_time() -> None:
    class OldStyle:
        def handle(self, event: Event) -> None: ...

        def flush(self) -> None: ...

    with pytest.raises(TypeError, match="timeout"):
        Router().route("A", OldStyle())
    with pytest.raises(TypeError, match="timeout"):
        Background(OldStyle())
