"""enable_standard_logging: level signals at or above a level to JSON lines, idempotently."""

from __future__ import annotations

import io
import json

import pytest

import zlog
from zlog.testing import CapturedEvents, isolated


def lines(out: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_routes_level_signals_at_or_above_the_level(zlog_events: CapturedEvents) -> None:
    out = io.StringIO()
    zlog.enable_standard_logging("WARN", stream=out)
    zlog.debug("d")
    zlog.info("i")
    zlog.warn("w")
    zlog.error("e", code=3)
    zlog.emit("JOB_FAILED", "not a level signal")
    assert [(line["level"], line["message"]) for line in lines(out)] == [("warn", "w"), ("error", "e")]


def test_calling_twice_never_doubles_lines(zlog_events: CapturedEvents) -> None:
    first, second = io.StringIO(), io.StringIO()
    zlog.enable_standard_logging("INFO", stream=first)
    zlog.enable_standard_logging("INFO", stream=second)
    zlog.info("once")
    assert first.getvalue() == ""
    assert len(lines(second)) == 1


def test_accepts_stdlib_level_names(zlog_events: CapturedEvents) -> None:
    out = io.StringIO()
    zlog.enable_standard_logging("warning", stream=out)
    zlog.info("hidden")
    zlog.warn("shown")
    assert [line["message"] for line in lines(out)] == ["shown"]


def test_unknown_level_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown level"):
        zlog.enable_standard_logging("LOUD")


def test_defaults_to_info_on_stderr_and_returns_the_sink(
    zlog_events: CapturedEvents, capsys: pytest.CaptureFixture[str]
) -> None:
    sink = zlog.enable_standard_logging()
    zlog.debug("hidden")
    zlog.info("shown", job_id="j1")
    err = capsys.readouterr().err
    [line] = [json.loads(x) for x in err.splitlines()]
    assert (line["level"], line["signal"], line["message"], line["job_id"]) == ("info", "INFO", "shown", "j1")
    assert isinstance(sink, zlog.JSONSink)
    assert all(r.sinks == (sink,) for r in zlog.routes() if r.sinks != (zlog_events,))


def test_routes_only_the_level_signals_at_or_above_the_level(zlog_events: CapturedEvents) -> None:
    out = io.StringIO()
    zlog.enable_standard_logging("error", stream=out)
    patterns = sorted(r.pattern for r in zlog.routes() if r.sinks != (zlog_events,))
    assert patterns == ["ERROR", "FATAL"]


def test_calling_it_again_with_a_new_level_replaces_the_old_level(zlog_events: CapturedEvents) -> None:
    out = io.StringIO()
    zlog.enable_standard_logging("DEBUG", stream=out)
    zlog.enable_standard_logging("ERROR", stream=out)
    zlog.debug("d")
    zlog.error("e")
    assert [line["message"] for line in lines(out)] == ["e"]


def test_never_doubles_lines_when_an_earlier_setup_is_restored_by_isolation() -> None:
    outer, inner, last = io.StringIO(), io.StringIO(), io.StringIO()
    with isolated():
        zlog.enable_standard_logging("INFO", stream=outer)  # an application's setup
        with isolated():  # a test with the zlog_events fixture sets it up again
            zlog.enable_standard_logging("INFO", stream=inner)
        # the application's routes are back; setting up again must replace them
        zlog.enable_standard_logging("INFO", stream=last)
        zlog.info("once")
    assert outer.getvalue() == "" and inner.getvalue() == ""
    assert len(lines(last)) == 1


def test_keeps_the_users_own_routes_of_level_signals(zlog_events: CapturedEvents) -> None:
    mine: list[zlog.Event] = []
    zlog.route(zlog.INFO, mine.append)
    zlog.enable_standard_logging("INFO", stream=io.StringIO())
    zlog.enable_standard_logging("INFO", stream=io.StringIO())
    zlog.info("x")
    assert len(mine) == 1


def test_a_missing_level_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="needs a level"):
        zlog.enable_standard_logging(None)  # type: ignore[arg-type]


def test_a_binary_stream_gets_the_same_lines(zlog_events: CapturedEvents) -> None:
    out = io.BytesIO()
    zlog.enable_standard_logging("INFO", stream=out)
    zlog.warn("careful")
    assert json.loads(out.getvalue())["message"] == "careful"
