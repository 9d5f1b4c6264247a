"""Router: routing rules, delivery once per sink, failure isolation and reporting, lifecycle."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

import zlog
from zlog import Event, Router


def collector() -> tuple[list[Event], Any]:
    events: list[Event] = []
    return events, events.append


def test_exact_route_receives_only_its_signal() -> None:
    router = Router()
    got, sink = collector()
    router.route("JOB_QUEUED", sink)
    router.emit("JOB_QUEUED", "queued", job_id="j1")
    router.emit("JOB_STARTED", "started", job_id="j1")
    assert [e.signal for e in got] == ["JOB_QUEUED"]
    assert got[0].fields == {"job_id": "j1"}


def test_glob_pattern_routes_every_matching_signal() -> None:
    router = Router()
    got, sink = collector()
    router.route("JOB_*", sink)
    for name in ("JOB_QUEUED", "JOB_FAILED", "WORKER_IDLE", "job_lower"):
        router.emit(name, "x")
    assert [e.signal for e in got] == ["JOB_QUEUED", "JOB_FAILED"]


def test_route_by_declared_signal_and_by_name_are_the_same_route() -> None:
    sig = zlog.Signal("PAYMENT_PROCESSED", level="info")
    router = Router()
    by_obj, s1 = collector()
    by_name, s2 = collector()
    router.route(sig, s1)
    router.route("PAYMENT_PROCESSED", s2)
    router.emit("PAYMENT_PROCESSED", "by name")
    router.emit(sig, "by signal")
    assert [e.message for e in by_obj] == ["by name", "by signal"]
    assert [e.message for e in by_name] == ["by name", "by signal"]
    assert by_obj[1].level == "info"


def test_event_reaches_a_sink_once_when_several_routes_match() -> None:
    router = Router()
    got, sink = collector()
    router.route("JOB_*", sink)
    router.route("JOB_QUEUED", sink)
    router.route_all(sink)
    router.emit("JOB_QUEUED", "once")
    assert len(got) == 1


def test_sinks_are_called_in_route_order() -> None:
    router = Router()
    order: list[str] = []
    router.route("A", lambda e: order.append("first"))
    router.route("*", lambda e: order.append("second"))
    router.emit("A", "x")
    assert order == ["first", "second"]


def test_route_remove_and_context_manager_stop_delivery() -> None:
    router = Router()
    got, sink = collector()
    route = router.route("A", sink)
    router.emit("A", "1")
    route.remove()
    route.remove()  # twice is harmless
    router.emit("A", "2")
    with router.route("A", sink) as r:
        assert r in router.routes()
        router.emit("A", "3")
    router.emit("A", "4")
    assert [e.message for e in got] == ["1", "3"]
    assert router.routes() == ()


def test_routes_lists_and_reset_removes_everything() -> None:
    router = Router()
    r1 = router.route("A", print)
    r2 = router.route_all(print)
    assert router.routes() == (r1, r2)
    assert r2.pattern == "*"
    router.add_processor(lambda e: e)
    router.reset()
    assert router.routes() == ()
    assert router.processors() == ()


def test_object_sink_with_handle_flush_and_close() -> None:
    class Sink:
        def __init__(self) -> None:
            self.events: list[Event] = []
            self.calls: list[str] = []

        def handle(self, event: Event) -> None:
            self.events.append(event)

        def flush(self) -> None:
            self.calls.append("flush")

        def close(self) -> None:
            self.calls.append("close")

    router = Router()
    s = Sink()
    router.route("A", s)
    router.emit("A", "x")
    assert router.flush() is True
    router.close()
    assert len(s.events) == 1
    assert s.calls == ["flush", "flush", "close"]
    assert router.routes() == ()


def test_flush_with_exhausted_timeout_reports_false() -> None:
    router = Router()

    class Slow:
        def handle(self, event: Event) -> None: ...
        def flush(self) -> None: ...

    router.route("A", Slow(), Slow())
    assert router.flush(timeout=-1) is False


def test_route_rejects_non_sinks_and_missing_sinks() -> None:
    router = Router()
    with pytest.raises(TypeError, match="not a sink"):
        router.route("A", 42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="at least one sink"):
        router.route("A")
    with pytest.raises(TypeError):
        router.route("", print)


def test_emit_rejects_something_that_is_not_a_signal() -> None:
    router = Router()
    router.route_all(print)
    with pytest.raises(TypeError, match="signal"):
        router.emit(42, "x")  # type: ignore[call-overload]
    with pytest.raises(ValueError):
        router.emit("", "x")


def test_str_subclass_signals_route_by_their_value() -> None:
    import enum

    class Sig(str, enum.Enum):
        JOB_QUEUED = "JOB_QUEUED"

    router = Router()
    got, sink = collector()
    router.route("JOB_QUEUED", sink)
    router.emit(Sig.JOB_QUEUED, "enum signal")
    assert got[0].signal == "JOB_QUEUED"


def test_message_is_never_formatted_and_non_str_becomes_text() -> None:
    router = Router()
    got, sink = collector()
    router.route_all(sink)
    router.emit("A", "{job_id} %s", job_id="j1")
    router.emit("A", 42)  # type: ignore[arg-type]
    assert [e.message for e in got] == ["{job_id} %s", "42"]


def test_exc_info_true_attaches_the_current_exception() -> None:
    router = Router()
    got, sink = collector()
    router.route_all(sink)
    try:
        raise ValueError("boom")
    except ValueError:
        router.emit("JOB_FAILED", "failed", exc_info=True)
    router.emit("JOB_FAILED", "no exception active", exc_info=True)
    assert isinstance(got[0].fields["error"], ValueError)
    assert "exc_info" not in got[0].fields
    assert "error" not in got[1].fields


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


def test_suppressed_reports_are_counted_in_the_next_report() -> None:
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

        def flush(self) -> None:
            raise OSError("flush failed")

    router = Router()
    reports: list[Event] = []
    router.route("A", BadFlush())
    router.route("ZLOG_SINK_ERROR", reports.append)
    router.flush()
    assert router.sink_errors()["bad-flush"] == 1
    assert reports[0].fields["failed_signal"] == ""


def test_sink_names_are_unique_per_router() -> None:
    router = Router()
    router.route("A", zlog.JSONSink(io.StringIO()), zlog.JSONSink(io.StringIO()))
    assert set(router.sink_errors()) == {"json", "json#2"}


def test_routes_added_after_first_emit_take_effect() -> None:
    router = Router()
    got, sink = collector()
    router.emit("A", "before")  # cached as routed nowhere
    router.route("A", sink)
    router.emit("A", "after")
    assert [e.message for e in got] == ["after"]


def test_sinks_for_lists_what_an_event_would_reach() -> None:
    router = Router()
    router.route("JOB_*", print)
    router.route("JOB_QUEUED", repr)
    assert router.sinks_for("JOB_QUEUED") == (print, repr)
    assert router.sinks_for("OTHER") == ()


def test_keyboard_interrupt_in_a_sink_is_not_swallowed() -> None:
    router = Router()

    def interrupt(event: Event) -> None:
        raise KeyboardInterrupt

    router.route("A", interrupt)
    with pytest.raises(KeyboardInterrupt):
        router.emit("A", "x")
