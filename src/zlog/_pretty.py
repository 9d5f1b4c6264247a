"""One-line human rendering of an event, shared by ``zlog tail --format pretty`` and ``ConsoleSink``.

Every character that could move the cursor, start a terminal escape sequence, or fake a second line
(C0 and C1 controls including ESC, CR and LF, DEL, U+2028/U+2029, bidi overrides and isolates) is
written as a visible escape (``\\n``, ``\\x1b``, ``\\u2028``), so a log line always stays one line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import orjson

from zlog._encode import sanitize

__all__ = ["escape", "json_text", "logfmt", "render"]

_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_RESET = "\x1b[0m"
_LEVEL_COLORS = {
    "debug": "\x1b[2m",
    "info": "\x1b[32m",
    "warn": "\x1b[33m",
    "error": "\x1b[31m",
    "fatal": "\x1b[1;41;97m",
}
_SIGNAL_COLOR = "\x1b[1;36m"
_KEY_COLOR = "\x1b[2m"
_BARE = re.compile(r"^[^\s=\"\\]+$")


def _visible(match: re.Match[str]) -> str:
    char = match.group()
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape(text: str) -> str:
    """``text`` with every control or line-breaking character made visible."""
    return _UNSAFE.sub(_visible, text) if _UNSAFE.search(text) else text


def json_text(value: Any) -> str:
    """``value`` as compact JSON text; never raises: a value orjson refuses (nested too deep, an int beyond
    64 bits, an object whose ``str`` fails) is written as zlog's encoder would write it."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS, default=str).decode()
    except Exception:
        return orjson.dumps(sanitize(value), option=orjson.OPT_NON_STR_KEYS).decode()


def _quote(text: str) -> str:
    return text if text and _BARE.match(text) else '"' + text + '"'


def _value(value: Any) -> str:
    """A field value for the pretty line: strings as they are (quoted when they hold spaces), others as JSON."""
    if isinstance(value, str):
        return _quote(escape(value.replace('"', '\\"')))
    return escape(json_text(value))


def _key(key: Any) -> str:
    return escape(str(key)).replace(" ", "_").replace("=", "_") or '""'


def render(
    time: str | None, level: str | None, signal: str, message: str, fields: Mapping[str, Any], *, color: bool = False
) -> str:
    """``TIME LEVEL SIGNAL message key=value ...`` (no newline); ANSI colors only when ``color``."""
    stamp = escape(time.replace("T", " ")) if time else "-"
    lvl = escape((level or "-").upper()).ljust(5)
    pairs = [(_key(k), _value(v)) for k, v in fields.items()]
    if not color:
        return " ".join([stamp, lvl, escape(signal), escape(message), *(f"{k}={v}" for k, v in pairs)])
    tint = _LEVEL_COLORS.get(level or "", "")
    return " ".join(
        [
            f"{_KEY_COLOR}{stamp}{_RESET}",
            f"{tint}{lvl}{_RESET}" if tint else lvl,
            f"{_SIGNAL_COLOR}{escape(signal)}{_RESET}",
            escape(message),
            *(f"{_KEY_COLOR}{k}={_RESET}{v}" for k, v in pairs),
        ]
    )


def logfmt(time: str | None, level: str | None, signal: str, message: str, fields: Mapping[str, Any]) -> str:
    """The event as one logfmt line: ``time=... level=... signal=... msg="..." key=value ...``."""
    pairs: list[tuple[Any, Any]] = [
        ("time", time or ""),
        ("level", level or ""),
        ("signal", signal),
        ("msg", message),
        *fields.items(),
    ]
    out = []
    for key, value in pairs:
        text = value if isinstance(value, str) else json_text(value)
        text = escape(text.replace("\\", "\\\\").replace('"', '\\"'))
        out.append(f"{_key(key)}={_quote(text)}")
    return " ".join(out)
