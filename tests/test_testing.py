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
