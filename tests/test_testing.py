"""zlog.testing: capture, isolation, and the zlog_events pytest fixture."""

from __future__ import annotations

import pytest

import zlog
from zlog import Event
from zlog.testing import CapturedEvents, capture, isolated

pytest_plugins = ["pytester"]


def test_capture_collects_events_emitted_inside_the_block_only() -> None:
    router = zlog.Router()
    router.emit("BEFORE", "x")
    with capture(router) as events:
        router.emit("JOB_QUEUED", "q", job_id="j1")
        router.emit("JOB_DONE", "d")
    router.emit("AFTER", "x")
    assert events.signals() == ["JOB_QUEUED", "JOB_DONE"]
    assert events.of("JOB_QUEUED")[0].fields["job_id"] == "j1"
    assert router.routes() == ()


def test_capture_defaults_to_the_default_router() -> None:
    with isolated(), capture() as events:
        zlog.info("hello")
    assert [e.signal for e in events] == ["INFO"]


def test_isolated_empties_the_router_and_restores_it() -> None:
    router = zlog.Router()
    kept: list[Event] = []
    route = router.route("A", kept.append)
    with isolated(router):
        assert router.routes() == ()
        router.emit("A", "inside")
    router.emit("A", "after")
    assert router.routes() == (route,)
    assert [e.message for e in kept] == ["after"]


def test_zlog_events_fixture_captures_events(zlog_events: CapturedEvents) -> None:
    zlog.emit("JOB_QUEUED", "queued")
    assert zlog_events.signals() == ["JOB_QUEUED"]


def test_zlog_events_fixture_isolates_each_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import zlog

        outside = []
        zlog.route("A", outside.append)

        def test_first(zlog_events):
            zlog.route("A", lambda e: None)
            zlog.emit("A", "one")
            assert zlog_events.signals() == ["A"]
            assert outside == []

        def test_second(zlog_events):
            assert len(zlog.routes()) == 1  # only the capture route; test_first's route is gone
            zlog.emit("A", "two")
            assert [e.message for e in zlog_events] == ["two"]

        def test_restored_after():
            zlog.emit("A", "three")
            assert [e.message for e in outside] == ["three"]
        """
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=3)


def test_capture_sees_events_after_processors_and_removes_its_route_when_the_block_raises() -> None:
    router = zlog.Router()
    router.add_processor(zlog.processors.Redact())
    router.add_processor(zlog.processors.Filter(lambda e: e.signal != "NOISE"))
    with pytest.raises(RuntimeError), capture(router) as events:
        router.emit("LOGIN", "x", password="p")
        router.emit("NOISE", "dropped")
        raise RuntimeError("test body failed")
    assert events.signals() == ["LOGIN"]
    assert events[0].fields["password"] == "[REDACTED]"
    assert router.routes() == ()


def test_captured_events_lookup_by_declared_signal_or_name() -> None:
    sig = zlog.Signal("JOB_DONE", level="info")
    router = zlog.Router()
    with capture(router) as events:
        router.emit(sig, "a")
        router.emit("JOB_DONE", "b")
        router.emit("OTHER", "c")
    assert [e.message for e in events.of(sig)] == ["a", "b"]
    assert [e.message for e in events.of("JOB_DONE")] == ["a", "b"]
    assert isinstance(events, list)


def test_capture_leaves_existing_routes_working() -> None:
    router = zlog.Router()
    kept: list[Event] = []
    router.route("A", kept.append)
    with capture(router) as events:
        router.emit("A", "both")
    assert len(kept) == 1 and len(events) == 1


def test_isolated_restores_processors_and_removes_routes_added_inside() -> None:
    router = zlog.Router()
    redact = router.add_processor(zlog.processors.Redact())
    outer = router.route("A", lambda e: None)
    with isolated(router):
        assert router.processors() == ()
        router.route("B", lambda e: None)
        router.add_processor(lambda e: None)
    assert router.routes() == (outer,)
    assert router.processors() == (redact,)


def test_isolated_restores_even_when_the_block_raises() -> None:
    router = zlog.Router()
    outer = router.route("A", lambda e: None)
    with pytest.raises(ValueError), isolated(router):
        router.reset()
        raise ValueError("x")
    assert router.routes() == (outer,)


def test_zlog_events_fixture_sees_sink_error_reports(zlog_events: CapturedEvents) -> None:
    zlog.route("A", lambda e: 1 / 0)
    zlog.emit("A", "x")
    assert zlog_events.of(zlog.ZLOG_SINK_ERROR)[0].fields["failed_signal"] == "A"


def test_zlog_events_fixture_restores_processors_and_routes_and_is_registered_automatically(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        import zlog

        before = []
        existing = zlog.route("B", before.append)
        redact = zlog.add_processor(zlog.processors.Redact())

        def test_empty_router_inside(zlog_events):
            assert zlog.default_router.processors() == ()
            assert existing not in zlog.routes()
            zlog.add_processor(lambda e: None)  # would drop everything if it leaked
            zlog.route_all(lambda e: None)

        def test_everything_restored_after():
            assert zlog.default_router.processors() == (redact,)
            assert zlog.routes() == (existing,)
            zlog.emit("B", "after", password="p")
            assert [e.fields["password"] for e in before] == ["[REDACTED]"]
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:randomly", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
