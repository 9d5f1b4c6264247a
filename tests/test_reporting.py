"""Sink and processor failures: counted, reported as signals, rate-limited, never recursive."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

import zlog
from zlog import Background, Event, Router


def collector() -> tuple[list[Event], Any]:
    events: list[Event] = []
    return events, events.append


def test_raising_sink_does_not_stop_other_sinks_or_raise() -> None:
    router = Router()
    got, good = collector()

    def bad(event: Event) -> None:
        raise RuntimeError("down")

    router.route("A", bad, good)
    router.route("ZLOG_SINK_ERROR", lambda e: None)
    for i in range(3):
        router.emit("A", str(i))
    assert [e.message for e in got] == ["0", "1", "2"]
    assert router.sink_errors()["bad"] == 3


def test_sink_failure_is_reported_as_a_routable_signal_rate_limited() -> None:
    router = Router(report_interval=3600)
    reports: list[Event] = []

    @zlog.sink("flaky")
    def flaky(event: Event) -> None:
        raise OSError("disk full")

    router.route("A", flaky)
    router.route(zlog.ZLOG_SINK_ERROR, reports.append)
    for _ in range(5):
        router.emit("A", "x")
    assert len(reports) == 1
    report = reports[0]
    assert report.level == "error"
    assert report.fields["sink"] == "flaky"
    assert isinstance(report.fields["error"], OSError)
    assert report.fields["failed_signal"] == "A"
    assert report.fields["errors"] == 1
    assert router.sink_errors() == {"flaky": 5, "list.append": 0}


def test_with_a_zero_report_interval_every_failure_is_reported_with_the_running_error_count() -> None:
    router = Router(report_interval=0)
    reports: list[Event] = []
    router.route("A", lambda e: 1 / 0)
    router.route("ZLOG_SINK_ERROR", reports.append)
    router.emit("A", "x")
    router.emit("A", "y")
    assert [r.fields["errors"] for r in reports] == [1, 2]
    assert all(r.fields["suppressed"] == 0 for r in reports)


def test_failing_sink_never_receives_its_own_report_and_no_recursion() -> None:
    router = Router(report_interval=0)
    seen: list[str] = []

    def broken_everywhere(event: Event) -> None:
        seen.append(event.signal)
        raise RuntimeError("always")

    router.route_all(broken_everywhere)
    router.emit("A", "x")
    assert seen == ["A"]
    assert router.sink_errors()["broken_everywhere"] == 1


def test_a_sink_failing_on_a_report_is_counted_not_reported_again() -> None:
    router = Router(report_interval=0)
    reports: list[Event] = []

    def fails_on_reports(event: Event) -> None:
        raise RuntimeError("report sink down")

    router.route("A", lambda e: 1 / 0)
    router.route("ZLOG_SINK_ERROR", fails_on_reports, reports.append)
    router.emit("A", "x")
    assert len(reports) == 1
    assert router.sink_errors()["fails_on_reports"] == 1


def test_unrouted_failure_report_goes_to_stderr_as_one_json_line(capsys: pytest.CaptureFixture[str]) -> None:
    router = Router()
    router.route("A", lambda e: 1 / 0)
    router.emit("A", "x")
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    line = json.loads(lines[0])
    assert line["signal"] == "ZLOG_SINK_ERROR"
    assert line["error"]["type"] == "ZeroDivisionError"


def test_failing_flush_is_counted_and_reported() -> None:
    class BadFlush:
        name = "bad-flush"

        def handle(self, event: Event) -> None: ...

        def flush(self, timeout: float | None = None) -> bool:
            raise OSError("flush failed")

    router = Router()
    reports: list[Event] = []
    router.route("A", BadFlush())
    router.route("ZLOG_SINK_ERROR", reports.append)
    assert router.flush() is True  # it failed, it did not run out of time
    assert router.flush(timeout=5) is True  # the same on a helper thread, under a deadline
    assert router.sink_errors()["bad-flush"] == 2
    assert reports[0].fields["failed_signal"] == ""


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_suppressed_reports_are_counted_once_the_interval_has_passed() -> None:
    router = Router(report_interval=10)
    clock = FakeClock()
    router._reporter.clock = clock  # test seam: the router's reporter reads this clock
    reports: list[Event] = []

    @zlog.sink("flaky")
    def flaky(event: Event) -> None:
        raise OSError("down")

    router.route("A", flaky)
    router.route(zlog.ZLOG_SINK_ERROR, reports.append)
    router.emit("A", "reported")
    clock.now = 5.0
    router.emit("A", "suppressed 1")
    router.emit("A", "suppressed 2")
    assert len(reports) == 1
    clock.now = 10.0
    router.emit("A", "reported again")
    assert [(r.fields["errors"], r.fields["suppressed"]) for r in reports] == [(1, 0), (4, 2)]
    assert router.sink_errors()["flaky"] == 4


def test_report_rate_limit_is_per_sink() -> None:
    router = Router(report_interval=3600)
    reports: list[Event] = []

    @zlog.sink("first")
    def first(event: Event) -> None:
        raise OSError("1")

    @zlog.sink("second")
    def second(event: Event) -> None:
        raise OSError("2")

    router.route("A", first, second)
    router.route("ZLOG_SINK_ERROR", reports.append)
    router.emit("A", "x")
    router.emit("A", "y")
    assert sorted(r.fields["sink"] for r in reports) == ["first", "second"]


def test_a_sink_that_fails_on_everything_gets_no_report_and_it_goes_to_stderr(
    capsys: pytest.CaptureFixture[str],
) -> None:
    router = Router(report_interval=0)
    calls: list[str] = []

    @zlog.sink("everywhere")
    def everywhere(event: Event) -> None:
        calls.append(event.signal)
        raise RuntimeError("always")

    router.route_all(everywhere)
    router.emit("A", "x")
    router.emit("A", "y")
    assert calls == ["A", "A"]
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [(line["signal"], line["sink"], line["errors"]) for line in lines] == [
        ("ZLOG_SINK_ERROR", "everywhere", 1),
        ("ZLOG_SINK_ERROR", "everywhere", 2),
    ]


def test_when_the_only_report_taker_fails_the_report_goes_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    router = Router(report_interval=0)

    @zlog.sink("report-sink")
    def report_sink(event: Event) -> None:
        raise RuntimeError("cannot report")

    router.route("A", lambda e: 1 / 0)
    router.route("ZLOG_SINK_ERROR", report_sink)
    router.emit("A", "x")
    [line] = capsys.readouterr().err.splitlines()
    assert json.loads(line)["signal"] == "ZLOG_SINK_ERROR"
    assert router.sink_errors()["report-sink"] == 1


def test_a_routed_report_is_not_also_written_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    router = Router()
    reports: list[Event] = []
    router.route("A", lambda e: 1 / 0)
    router.route("ZLOG_*", reports.append)
    router.emit("A", "x")
    assert len(reports) == 1
    assert capsys.readouterr().err == ""


def test_reports_can_be_captured_with_zlog_testing() -> None:
    router = Router()
    router.route("A", lambda e: 1 / 0)
    with zlog.testing.capture(router) as events:
        router.emit("A", "x")
    assert sorted(events.signals()) == ["A", "ZLOG_SINK_ERROR"]  # the report is made while "A" is delivered
    assert events.of(zlog.ZLOG_SINK_ERROR)[0].fields["failed_signal"] == "A"


def test_a_failing_close_is_counted_and_the_other_sinks_are_still_closed() -> None:
    closed: list[str] = []

    class BadClose:
        name = "bad-close"

        def handle(self, event: Event) -> None: ...

        def close(self, timeout: float | None = None) -> bool:
            raise OSError("close failed")

    class GoodClose:
        def handle(self, event: Event) -> None: ...

        def close(self, timeout: float | None = None) -> bool:
            closed.append("good")
            return True

    router = Router()
    reports: list[Event] = []
    router.route("A", BadClose(), GoodClose())
    router.route("ZLOG_SINK_ERROR", reports.append)
    router.close()
    assert closed == ["good"]
    assert reports[0].fields["sink"] == "bad-close"
    assert router.sink_errors()["bad-close"] == 1


def test_a_sink_removed_while_it_fails_is_still_reported() -> None:
    router = Router()
    reports: list[Event] = []
    routes: list[zlog.Route] = []

    def unroutes_itself(event: Event) -> None:
        routes[0].remove()
        raise RuntimeError("gone")

    routes.append(router.route("A", unroutes_itself))
    router.route("ZLOG_SINK_ERROR", reports.append)
    router.emit("A", "x")
    assert reports[0].fields["sink"] == "unroutes_itself"


@pytest.mark.parametrize("error", [asyncio.CancelledError(), GeneratorExit(), type("Custom", (BaseException,), {})()])
def test_a_sink_raising_a_base_exception_is_reported_and_the_next_sink_still_gets_the_event(
    error: BaseException,
) -> None:
    router = Router()
    got: list[Event] = []
    reports: list[Event] = []

    def raising(event: Event) -> None:
        raise error

    router.route("ZLOG_SINK_ERROR", reports.append)
    router.route("A", raising, got.append)
    router.emit("A", "x")  # does not raise
    assert [e.signal for e in got] == ["A"]
    assert router.sink_errors()["raising"] == 1
    assert reports[0].fields["error"] is error


@pytest.mark.parametrize("error", [KeyboardInterrupt(), SystemExit(3)])
def test_keyboard_interrupt_and_system_exit_from_a_sink_propagate(error: BaseException) -> None:
    router = Router()

    def raising(event: Event) -> None:
        raise error

    router.route("A", raising)
    with pytest.raises(type(error)):
        router.emit("A", "x")


def test_a_message_whose_str_raises_is_written_as_its_repr_and_emit_does_not_raise() -> None:
    class NoStr:
        def __str__(self) -> str:
            raise ValueError("no text")

        def __repr__(self) -> str:
            return "<NoStr>"

    class Neither:
        def __str__(self) -> str:
            raise asyncio.CancelledError()

        def __repr__(self) -> str:
            raise GeneratorExit()

    router = Router()
    got: list[Event] = []
    router.route("A", got.append)
    router.emit("A", NoStr())  # type: ignore[call-overload]
    router.emit("A", Neither())  # type: ignore[call-overload]
    assert got[0].message == "<NoStr>"
    assert got[1].message == f"<unprintable {Neither.__qualname__}>"


def test_a_background_sink_on_a_catch_all_route_never_receives_its_own_reports() -> None:
    router = Router()
    seen: list[str] = []

    def failing(event: Event) -> None:
        seen.append(event.signal)
        raise OSError("disk gone")

    background = Background(failing, maxsize=1)
    others: list[Event] = []
    router.route_all(background)
    router.route_all(others.append)
    router.emit("JOB_DONE", "x")
    assert background.flush(timeout=5)
    assert seen == ["JOB_DONE"]  # its own ZLOG_SINK_ERROR report did not come back to it
    assert [e.signal for e in others] == ["JOB_DONE", "ZLOG_SINK_ERROR"]
