"""The shared one-line renderer: layout, quoting, colors, and escaping of everything that could move the
cursor or fake a line."""

from __future__ import annotations

from typing import Any

import pytest

from zlog import _pretty

TIME = "2026-11-22T14:30:15.000000Z"
HOSTILE = [
    "\x1b[2J",
    "\x1b]0;title\x07",
    "\r",
    "\n",
    "\x00",
    "\x08",
    "\x7f",
    "\x85",
    "\x9b31m",
    "\u2028",
    "\u2029",
    "\u202e",
    "\u2066",
    "\u200f",
    "\ufeff",
]


def test_layout_is_time_level_signal_message_then_fields() -> None:
    line = _pretty.render(TIME, "info", "JOB_QUEUED", "Job queued", {"job_id": "j1", "priority": 5})
    assert line == "2026-11-22 14:30:15.000000Z INFO  JOB_QUEUED Job queued job_id=j1 priority=5"


def test_missing_time_and_level_are_dashes() -> None:
    assert _pretty.render(None, None, "A", "m", {}) == "- -     A m"


def test_strings_with_spaces_or_quotes_are_quoted_and_other_values_are_json() -> None:
    line = _pretty.render(
        TIME,
        "warn",
        "A",
        "m",
        {
            "note": "two words",
            "q": 'say "hi"',
            "empty": "",
            "ok": True,
            "none": None,
            "items": [1, "x"],
            "obj": {"k": 1},
        },
    )
    assert line.endswith('note="two words" q="say \\"hi\\"" empty="" ok=true none=null items=[1,"x"] obj={"k":1}')


@pytest.mark.parametrize("hostile", HOSTILE)
def test_a_control_character_anywhere_is_written_as_a_visible_escape(hostile: str) -> None:
    text = f"a{hostile}b"
    for line in (
        _pretty.render(TIME, "error", text, text, {text: text, "nested": {"k": text}}, color=True),
        _pretty.logfmt(TIME, "error", text, text, {text: text, "nested": [text]}),
    ):
        plain = line
        for code in ("\x1b[0m", "\x1b[2m", "\x1b[1;36m", "\x1b[31m"):
            plain = plain.replace(code, "")  # the renderer's own colors
        assert hostile not in plain, repr(line)
        assert len(line.splitlines()) == 1


def test_escape_names_the_common_characters_and_shows_the_rest_as_codes() -> None:
    assert _pretty.escape("a\nb\rc\td") == "a\\nb\\rc\\td"
    assert _pretty.escape("\x1b[31m") == "\\x1b[31m"
    assert _pretty.escape("\u2028\u202e") == "\\u2028\\u202e"
    assert _pretty.escape("caf\u00e9 \u65e5\u672c \U0001f600") == "caf\u00e9 \u65e5\u672c \U0001f600"


def test_colors_only_when_asked_level_and_signal_tinted() -> None:
    plain = _pretty.render(TIME, "error", "JOB_FAILED", "m", {"k": 1})
    colored = _pretty.render(TIME, "error", "JOB_FAILED", "m", {"k": 1}, color=True)
    assert "\x1b" not in plain
    assert "\x1b[31mERROR\x1b[0m" in colored and "\x1b[1;36mJOB_FAILED\x1b[0m" in colored
    for code in ("\x1b[0m", "\x1b[2m", "\x1b[1;36m", "\x1b[31m"):
        colored = colored.replace(code, "")
    assert colored == plain


def test_logfmt_quotes_and_escapes_backslashes() -> None:
    line = _pretty.logfmt(TIME, "info", "A", "hello world", {"path": "C:\\tmp", "n": 3, "b": False})
    assert line == f'time={TIME} level=info signal=A msg="hello world" path="C:\\\\tmp" n=3 b=false'


def test_unusual_keys_stay_one_token() -> None:
    line = _pretty.render(TIME, None, "A", "m", {"a key": 1, "k=v": 2, "": 3})
    assert line.endswith('a_key=1 k_v=2 ""=3')


@pytest.mark.parametrize("hostile", HOSTILE)
def test_a_level_with_a_control_character_is_written_as_a_visible_escape(hostile: str) -> None:
    for color in (False, True):
        line = _pretty.render(TIME, f"x{hostile}", "A", "m", {}, color=color)
        plain = line
        for code in ("\x1b[0m", "\x1b[2m", "\x1b[1;36m"):
            plain = plain.replace(code, "")  # the renderer's own colors
        assert _pretty.escape(plain) == plain and len(line.splitlines()) == 1, repr(line)  # nothing left to escape


class StrRaises:
    def __str__(self) -> str:
        raise RuntimeError("no text")

    __repr__ = __str__


def test_values_orjson_refuses_are_rendered_as_zlog_would_write_them() -> None:
    deep: list[Any] = []
    inner = deep
    for _ in range(1000):  # deeper than orjson writes and than repr() recurses
        inner.append([])
        inner = inner[0]
    line = _pretty.render(TIME, "info", "A", "m", {"deep": deep, "big": 2**100, "odd": StrRaises()})
    assert "deep=" + "[" * 64 + '\\"<max depth>\\"' not in line  # a JSON value: its quotes are not escaped
    assert "deep=" + "[" * 64 + '"<max depth>"' + "]" * 64 in line
    assert line.endswith(' big="1267650600228229401496703205376" odd="<unrepresentable StrRaises>"')
    assert _pretty.json_text(deep).count("[") == 64
