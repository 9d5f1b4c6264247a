"""Module-level functions act on the default router; importing zlog is silent."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest

import zlog
from zlog import Event
from zlog.testing import CapturedEvents


def test_importing_zlog_prints_nothing_and_emitting_unrouted_writes_nothing() -> None:
    code = "import zlog\nzlog.emit('JOB_QUEUED', 'x', job_id='j1')\nzlog.info('hello')\nzlog.fatal('bye')\n"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout == "" and done.stderr == ""


def test_module_functions_route_and_emit_on_the_default_router(zlog_events: CapturedEvents) -> None:
    got: list[Event] = []
    route = zlog.route("JOB_*", got.append)
    assert route in zlog.routes()
    assert zlog.default_router.routes() == zlog.routes()
    zlog.emit("JOB_QUEUED", "queued", job_id="j1")
    assert [e.signal for e in got] == ["JOB_QUEUED"]
    assert zlog_events.signals() == ["JOB_QUEUED"]


@pytest.mark.parametrize(
    ("helper", "signal", "level"),
    [
        (zlog.debug, zlog.DEBUG, "debug"),
        (zlog.info, zlog.INFO, "info"),
        (zlog.warn, zlog.WARN, "warn"),
        (zlog.error, zlog.ERROR, "error"),
        (zlog.fatal, zlog.FATAL, "fatal"),
    ],
)
def test_level_helpers_emit_their_level_signal(zlog_events: CapturedEvents, helper, signal, level) -> None:  # type: ignore[no-untyped-def]
    helper("message", key="value")
    assert zlog_events[0].signal == signal
    assert zlog_events[0].level == level
    assert zlog_events[0].fields == {"key": "value"}


def test_fatal_flushes_every_sink_and_does_not_exit(zlog_events: CapturedEvents) -> None:
    out = io.BytesIO()
    sink = zlog.JSONSink(out, buffered=True)
    zlog.route_all(sink)
    flushed: list[bool] = []
    orig = out.flush
    out.flush = lambda: (flushed.append(True), orig())[1]  # type: ignore[method-assign]
    zlog.fatal("cannot continue", reason="disk")
    assert flushed
    assert json.loads(out.getvalue())["level"] == "fatal"


def test_reset_flush_close_and_processors_on_the_default_router(zlog_events: CapturedEvents) -> None:
    out = io.StringIO()
    zlog.route("A", zlog.JSONSink(out))
    zlog.add_processor(lambda e: e.replace(message=e.message.upper()))
    zlog.emit("A", "shout")
    assert zlog.flush() is True
    assert json.loads(out.getvalue())["message"] == "SHOUT"
    zlog.close()
    assert zlog.routes() == ()
    zlog.emit("A", "after close")
    assert out.getvalue().count("\n") == 1


def test_public_surface_is_declared_in_all() -> None:
    for name in zlog.__all__:
        assert hasattr(zlog, name), name
    for name in ("emit", "route", "route_all", "routes", "reset", "flush", "close", "Router", "Event",
                 "Signal", "signal", "sink", "bind", "bound", "JSONSink", "enable_standard_logging"):
        assert name in zlog.__all__
