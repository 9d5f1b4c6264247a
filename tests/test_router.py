"""Router: routing rules, delivery once per sink, lifecycle (failure reports: test_reporting)."""

from __future__ import annotations

import io
import json
import time
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

        def flush(self, timeout: float | None = None) -> bool:
            self.calls.append("flush")
            return True

        def close(self, timeout: float | None = None) -> bool:
            self.calls.append("close")
            return True

    router = Router()
    s = Sink()
    router.route("A", s)
    router.emit("A", "x")
    assert router.flush() is True
    assert router.close() is True
    assert len(s.events) == 1
    assert s.calls == ["flush", "close"]  # close() is the sink's own flush-then-release
    assert router.routes() == ()


def test_flush_with_exhausted_timeout_reports_false() -> None:
    router = Router()

    class Slow:
        def handle(self, event: Event) -> None: ...
        def flush(self, timeout: float | None = None) -> bool:
            time.sleep(0.2)
            return True

    router.route("A", Slow(), Slow())
    assert router.flush(timeout=0) is False
    assert router.flush(timeout=-1) is False  # a negative timeout is already due, as in threading


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
    router.emit("A", 42)  # type: ignore[call-overload]
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


def test_a_bound_method_routed_twice_still_receives_each_event_once() -> None:
    router = Router()
    got: list[Event] = []
    router.route("JOB_*", got.append)  # `got.append` is a new method object at each access
    router.route("JOB_FAILED", got.append)
    router.route_all(got.append)
    router.emit("JOB_FAILED", "once")
    assert [e.message for e in got] == ["once"]
    assert len(router.sinks_for("JOB_FAILED")) == 1


def test_bound_methods_of_different_objects_are_different_sinks() -> None:
    router = Router()
    first: list[Event] = []
    second: list[Event] = []
    router.route("A", first.append)
    router.route("A", second.append)
    router.emit("A", "x")
    assert len(first) == 1 and len(second) == 1


def test_removing_one_of_two_routes_to_a_bound_method_keeps_the_other() -> None:
    router = Router()
    got: list[Event] = []
    first = router.route("A", got.append)
    router.route("A", got.append)
    first.remove()
    router.emit("A", "still routed")
    assert [e.message for e in got] == ["still routed"]


def test_callable_object_and_handle_object_sinks_are_both_accepted() -> None:
    class CallableSink:
        def __init__(self) -> None:
            self.events: list[Event] = []

        def __call__(self, event: Event) -> None:
            self.events.append(event)

    class HandleSink:
        def __init__(self) -> None:
            self.events: list[Event] = []

        def handle(self, event: Event) -> None:
            self.events.append(event)

    router = Router()
    a, b = CallableSink(), HandleSink()
    router.route("A", a, b)
    router.emit("A", "x")
    assert len(a.events) == 1 and len(b.events) == 1


def test_routers_are_isolated_from_each_other_and_from_the_default_router() -> None:
    one, two = Router(), Router()
    got_one: list[Event] = []
    got_two: list[Event] = []
    one.route_all(got_one.append)
    two.route_all(got_two.append)
    with zlog.testing.isolated(), zlog.testing.capture() as default_events:
        one.emit("A", "to one")
    assert [e.message for e in got_one] == ["to one"]
    assert got_two == [] and list(default_events) == []
    assert zlog.default_router not in (one, two)


def test_with_no_routes_nothing_reaches_any_sink_and_emit_returns_none() -> None:
    router = Router()
    assert router.emit("A", "nowhere", key="value") is None
    assert router.sink_errors() == {}


def test_emit_never_raises_for_strange_field_values_or_messages() -> None:
    class Hostile:
        def __eq__(self, other: object) -> bool:
            raise RuntimeError("no comparing")

        __hash__ = object.__hash__

        def __str__(self) -> str:
            raise RuntimeError("no str")

        def __repr__(self) -> str:
            raise RuntimeError("no repr")

    class ArrayLike:  # numpy-style: == returns something whose truth value raises
        def __eq__(self, other: object) -> Any:
            return self

        __hash__ = object.__hash__

        def __bool__(self) -> bool:
            raise ValueError("truth value of an array is ambiguous")

    router = Router()
    out = io.StringIO()
    got: list[Event] = []
    router.route_all(got.append, zlog.JSONSink(out))
    router.emit("A", Hostile(), value=Hostile())  # type: ignore[call-overload]
    router.emit("A", "array as exc_info", exc_info=ArrayLike())
    router.emit("A", "hostile exc_info", exc_info=Hostile())
    assert len(got) == 3
    assert isinstance(got[0].message, str)
    assert isinstance(got[1].fields["exc_info"], ArrayLike)
    assert router.sink_errors() == {"list.append": 0, "json": 0}
    assert len(out.getvalue().splitlines()) == 3


def test_message_with_braces_and_percent_is_written_literally_even_with_matching_fields() -> None:
    router = Router()
    out = io.StringIO()
    router.route_all(zlog.JSONSink(out))
    router.emit("A", "{x} {0} %(x)s {", x="value")
    assert json.loads(out.getvalue())["message"] == "{x} {0} %(x)s {"


def test_exc_info_with_an_exception_instance_or_a_triple_and_error_already_taken() -> None:
    router = Router()
    got, sink = collector()
    router.route_all(sink)
    boom = ValueError("boom")
    router.emit("A", "instance", exc_info=boom)
    router.emit("A", "triple", exc_info=(ValueError, boom, None))
    router.emit("A", "error taken", error="my own", exc_info=boom)
    router.emit("A", "false", exc_info=False)
    assert got[0].fields == {"error": boom}
    assert got[1].fields == {"error": boom}
    assert got[2].fields == {"error": "my own", "exc_info": boom}
    assert got[3].fields == {}


def test_flush_is_false_when_a_sink_reports_it_did_not_finish() -> None:
    class Pending:
        def handle(self, event: Event) -> None: ...

        def flush(self, timeout: float | None = None) -> bool:
            return False

    router = Router()
    router.route("A", Pending())
    assert router.flush() is False


def test_flush_hands_the_remaining_time_to_sinks_that_take_a_timeout() -> None:
    seen: list[float | None] = []

    class Timed:
        def handle(self, event: Event) -> None: ...

        def flush(self, timeout: float | None = None) -> bool:
            seen.append(timeout)
            return True

    router = Router()
    router.route("A", Timed())
    assert router.flush() is True
    assert router.flush(timeout=30) is True
    assert seen[0] is None
    assert seen[1] is not None and 0 < seen[1] <= 30


def test_close_closes_each_sink_once_removes_the_routes_and_keeps_processors() -> None:
    calls: list[str] = []

    class Sink:
        def handle(self, event: Event) -> None: ...

        def close(self, timeout: float | None = None) -> bool:
            calls.append("close")
            return True

    router = Router()
    sink = Sink()
    router.route("A", sink)
    router.route("B", sink)
    redact = router.add_processor(zlog.processors.Redact())
    assert router.close() is True
    assert calls == ["close"]
    assert router.routes() == () and router.sink_errors() == {}
    assert router.processors() == (redact,)  # routing again after close still redacts
    got, s = collector()
    router.route_all(s)
    router.emit("A", "x", password="p")
    assert got[0].fields["password"] == "[REDACTED]"


def test_route_repr_and_matches() -> None:
    router = Router()
    route = router.route("JOB_*", zlog.JSONSink(io.StringIO()))
    assert repr(route) == "Route('JOB_*' -> json)"
    assert route.matches("JOB_QUEUED") and not route.matches("WORKER_JOB_X")
    assert router.route("JOB_?", print).matches("JOB_A")
    assert router.route("JOB_[AB]", print).matches("JOB_B")


def test_extra_positional_arguments_are_kept_as_the_args_field_never_an_error() -> None:
    router = Router()
    got: list[Event] = []
    router.route_all(got.append)
    router.emit("JOB_QUEUED", "Job %s queued", "j1", 5, queue="default")  # type: ignore[call-overload]
    assert got[0].message == "Job %s queued"
    assert dict(got[0].fields) == {"queue": "default", "args": ["j1", 5]}


def test_strict_mode_rejects_extra_positional_arguments_and_is_fixed_at_creation() -> None:
    router = Router(strict=True)
    with pytest.raises(TypeError, match="positional"):
        router.emit("JOB_QUEUED", "Job %s queued", "j1")  # type: ignore[call-overload]
    with pytest.raises(AttributeError):
        router.strict = False  # type: ignore[misc]


def test_a_route_with_a_level_passes_only_events_at_that_level_or_above() -> None:
    router = Router()
    got, sink = collector()
    router.route("*", sink, level="warn")
    router.emit(zlog.Signal("JOB_RETRY", level="warn"), "retrying")
    router.emit(zlog.Signal("JOB_FAILED", level="error"), "failed")
    router.emit(zlog.Signal("JOB_TRACE", level="debug"), "detail")
    router.emit(zlog.INFO, "info")
    router.emit("JOB_QUEUED", "a signal without a level counts as info")
    assert [e.signal for e in got] == ["JOB_RETRY", "JOB_FAILED"]


def test_a_signal_without_a_level_passes_a_debug_or_info_threshold() -> None:
    router = Router()
    got, sink = collector()
    router.route("*", sink, level="info")
    router.emit("JOB_QUEUED", "no level")
    router.emit(zlog.DEBUG, "debug")
    assert [e.signal for e in got] == ["JOB_QUEUED"]


def test_a_sink_on_two_routes_gets_each_event_once_by_its_most_permissive_route() -> None:
    router = Router()
    got, sink = collector()
    router.route("*", sink, level="error")
    router.route("JOB_*", sink)  # every JOB_ event, whatever its level
    router.route("JOB_*", sink, level="fatal")
    router.emit(zlog.Signal("JOB_TRACE", level="debug"), "job detail")
    router.emit(zlog.Signal("DB_SLOW", level="warn"), "not a job, below error")
    router.emit(zlog.ERROR, "an error")
    assert [e.signal for e in got] == ["JOB_TRACE", "ERROR"]


def test_a_failing_sink_behind_a_level_threshold_is_still_counted_and_reported_by_name() -> None:
    router = Router()
    reports, report_sink = collector()

    @zlog.sink("picky")
    def picky(event: Event) -> None:
        raise OSError("disk full")

    router.route("ZLOG_SINK_ERROR", report_sink)
    router.route("*", picky, level="error")
    router.emit(zlog.ERROR, "x")
    assert router.sink_errors()["picky"] == 1 and reports[0].fields["sink"] == "picky"
    assert router.sinks_for(zlog.ERROR) == (picky,)


def test_a_route_level_must_be_a_known_level() -> None:
    with pytest.raises(ValueError, match="unknown level"):
        Router().route("*", print, level="loud")
