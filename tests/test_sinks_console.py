"""ConsoleSink: the pretty rendering of `zlog tail`, colored only on a terminal, one line per event."""

from __future__ import annotations

import io
import json

import pytest

import zlog
from zlog import _pretty
from zlog.cli._read import parse


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_console_lines_equal_the_tail_pretty_rendering_of_the_same_event() -> None:
    console, native = io.StringIO(), io.StringIO()
    router = zlog.Router()
    router.route_all(zlog.ConsoleSink(console), zlog.JSONSink(native))
    router.emit(zlog.Signal("JOB_FAILED", level="error"), "Job failed", job_id="j1", attempt=2, note="two words")
    record = parse(native.getvalue().strip().encode())
    assert record is not None
    expected = _pretty.render(record.time, record.level, record.signal, record.message, record.fields)
    assert console.getvalue() == expected + "\n"
    assert console.getvalue().split(" ", 2)[2].startswith("ERROR JOB_FAILED Job failed job_id=j1 attempt=2")
    assert 'note="two words"' in console.getvalue()


def test_color_on_a_terminal_unless_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    terminal = Terminal()
    zlog.ConsoleSink(terminal).handle(zlog.Event(zlog.Signal("X", level="warn"), "m"))
    assert "\x1b[33m" in terminal.getvalue()
    monkeypatch.setenv("NO_COLOR", "1")
    plain = Terminal()
    zlog.ConsoleSink(plain).handle(zlog.Event(zlog.Signal("X", level="warn"), "m"))
    assert "\x1b" not in plain.getvalue()
    forced = io.StringIO()
    zlog.ConsoleSink(forced, color=True).handle(zlog.Event("X", "m"))
    assert "\x1b[1;36mX" in forced.getvalue()


def test_control_characters_are_shown_escaped_on_one_line() -> None:
    out = io.StringIO()
    zlog.ConsoleSink(out).handle(zlog.Event("X", "a\nb\x1b[31m\u2028", {"k": "v\r\n"}))
    assert out.getvalue() == out.getvalue().splitlines()[0] + "\n"
    assert "a\\nb\\x1b[31m\\u2028" in out.getvalue() and 'k="v\\r\\n"' in out.getvalue()


def test_enable_standard_logging_pretty_uses_a_console_sink_and_replaces_json(zlog_events: object) -> None:
    first, out = io.StringIO(), io.StringIO()
    zlog.enable_standard_logging("INFO", stream=first)
    sink = zlog.enable_standard_logging("INFO", stream=out, pretty=True)
    zlog.info("hello", user="ada")
    assert isinstance(sink, zlog.ConsoleSink)
    assert first.getvalue() == ""  # the JSON setup was replaced, not kept next to it
    assert out.getvalue().endswith("INFO  INFO hello user=ada\n")
    with pytest.raises(json.JSONDecodeError):
        json.loads(out.getvalue())


def test_a_binary_stream_is_refused_for_pretty_output() -> None:
    with pytest.raises(TypeError, match="text stream"):
        zlog.enable_standard_logging("INFO", stream=io.BytesIO(), pretty=True)


def test_close_flushes_and_leaves_the_stream_open() -> None:
    out = io.StringIO()
    sink = zlog.ConsoleSink(out)
    sink.handle(zlog.Event("X", "m"))
    sink.close()
    assert not out.closed and out.getvalue().endswith("X m\n")
