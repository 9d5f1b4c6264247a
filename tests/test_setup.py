"""enable_standard_logging: level signals at or above a level to JSON lines, idempotently."""

from __future__ import annotations

import io
import json

import pytest

import zlog
from zlog.testing import CapturedEvents


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
