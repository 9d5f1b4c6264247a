"""Huge field values (src/zlog/_encode.py, src/zlog/_truncate.py): bounded work, then the documented shortened line."""

from __future__ import annotations

import array
import io
import tracemalloc
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from json_helpers import T0, encode, encode_slow, python_calls, strict_loads

import zlog
from zlog import _encode
from zlog._truncate import SUFFIX

LIMIT = 16384
HUGE = 2_000_000


def peak_bytes_allocated(fn: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def render(fields: dict[str, Any], limit: int = LIMIT, **kwargs: Any) -> bytes:
    return _encode.render("SIG", "msg", "2026-11-22T14:30:15.000000Z", fields, "info", limit, **kwargs)


def test_bytes_decode_like_backslashreplace_with_backslashes_and_escape_lookalikes() -> None:
    data = b"a\\b \\udc80 \\x41 \\\xff\xc3\xa9\xed\xa0\x80\xe2\x82 \xf0\x9f\x98\x80\x80"
    assert _encode.bytes_text(data) == data.decode("utf-8", "backslashreplace")
    assert encode(data) == data.decode("utf-8", "backslashreplace")


def test_memoryview_of_any_format_or_layout_is_decoded_from_its_bytes() -> None:
    words = array.array("H", [0x6261, 0xFF63])  # b"ab" then b"c\xff" on a little-endian machine
    raw = words.tobytes()
    assert encode(memoryview(words)) == raw.decode("utf-8", "backslashreplace")
    assert encode(memoryview(b"a-b-c\xff")[::2]) == "abc"  # not contiguous
    assert _encode.bytes_text(memoryview(b"x" * 100)[::2], 10) == "x" * 10 + SUFFIX


def test_a_bytes_value_is_cut_before_decoding_at_the_cap_and_never_inside_a_character() -> None:
    euros = "\u20ac".encode() * 10  # 3 bytes each
    assert _encode.bytes_text(euros, 7) == "\u20ac\u20ac" + SUFFIX  # a cut at byte 7 would split the third
    assert _encode.bytes_text(euros, 9) == "\u20ac\u20ac\u20ac" + SUFFIX
    assert _encode.bytes_text(euros, 30) == "\u20ac" * 10  # not longer than the cap: whole
    assert _encode.bytes_text(b"\x80" * 10, 5) == "\\x80" * 5 + SUFFIX  # invalid bytes: no character to split


def test_a_huge_bytes_field_in_a_limited_line_is_decoded_only_up_to_the_limit() -> None:
    blob = b"\xff" * 10_000_000
    peak = peak_bytes_allocated(lambda: render({"blob": blob}))
    assert peak < 8_000_000  # orjson's buffers take a few MB; decoding it all takes 40 MB for the text alone
    line = render({"blob": blob})
    assert len(line) <= LIMIT
    obj = strict_loads(line)
    assert obj["zlog_truncated"]["truncated"] == ["blob"]
    assert obj["blob"].startswith("\\xff" * 1000) and obj["blob"].endswith(SUFFIX)
    assert obj["blob"].count(SUFFIX) == 1


def test_a_bytes_value_cut_before_decoding_is_cut_and_marked_as_if_decoded_whole() -> None:
    blob = b"\xc3\xa9t\xe9 \\x \xe2\x82\xac\xff" * 20_000  # valid, invalid and backslashes, 240 kB
    fields = {"blob": blob, "other": "o" * 3000, "n": 1}
    cut_first = strict_loads(render(fields, 2048))
    decoded_all = strict_loads(render(fields, 2048, default=_encode.default))
    assert cut_first["zlog_truncated"]["original_bytes"] < len(blob)  # the line as made, with the value pre-cut
    assert decoded_all["zlog_truncated"]["original_bytes"] > len(blob)
    assert list(cut_first) == list(decoded_all)
    for key in ("truncated", "dropped"):
        assert cut_first["zlog_truncated"][key] == decoded_all["zlog_truncated"][key]
    assert sorted(cut_first["zlog_truncated"]["truncated"]) == ["blob", "other"]
    for key in ("blob", "other"):  # the same prefix, give or take the digits original_bytes lost
        one, other = sorted((cut_first[key].removesuffix(SUFFIX), decoded_all[key].removesuffix(SUFFIX)), key=len)
        assert other.startswith(one) and len(other) - len(one) <= 4


def test_default_for_a_limit_cuts_only_bytes_longer_than_the_limit() -> None:
    limited = _encode.default_for(600)
    assert limited(b"\xff" * 600) == "\\xff" * 600
    assert limited(b"x" * 1000) == "x" * 604 + SUFFIX
    assert limited(Decimal("1.5")) == "1.5"  # everything else as default
    assert _encode.default_for(600) is limited


def test_fields_orjson_accepts_are_not_walked_in_python_when_another_is_refused() -> None:
    line_obj = {"time": "t", "signal": "S", "message": "m", "items": ["s"] * 100_000, "big": 2**70}
    assert python_calls(lambda: _encode.dumps(line_obj)) < 100  # not one or more per item
    out = strict_loads(_encode.dumps(line_obj))
    assert out["items"] == ["s"] * 100_000
    assert out["big"] == "1180591620717411303424"


def test_a_value_nested_100_levels_is_written_the_same_when_another_field_is_refused() -> None:
    value: Any = "bottom"
    for _ in range(100):
        value = [value]
    assert encode_slow(value) == encode(value) == value


HUGE_VALUES: dict[str, Any] = {
    "invalid_bytes": b"\xff" * HUGE,
    "valid_bytes": ("h\u00e9llo \u2713 " * (HUGE // 12)).encode(),
    "bytearray": bytearray(b"\xfe" * HUGE),
    "memoryview": memoryview(b"\x80abc" * (HUGE // 4)),
    "str": "x" * HUGE,
    "non_ascii_str": "\u00e9\u20ac\U0001f600" * (HUGE // 9),
    "surrogate_str": "abc\udc80" * (HUGE // 4),
    "control_str": "\x01" * HUGE,
}


def sink_line(fields: dict[str, Any], stream: str, profile: str | None = None) -> bytes:
    """The one line a default JSONSink writes for ``fields`` to a binary or an ASCII-only text stream."""
    buffer = io.BytesIO()
    out: Any = buffer if stream == "binary" else io.TextIOWrapper(buffer, encoding="ascii", write_through=True)
    zlog.JSONSink(out, profile=profile).handle(zlog.Event("SIG", "msg", fields, time_ns=T0))
    line = buffer.getvalue()
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert len(line) <= LIMIT
    assert line.isascii() or stream == "binary"
    return line


@pytest.mark.parametrize("stream", ["binary", "ascii"])
@pytest.mark.parametrize("kind", HUGE_VALUES)
def test_a_huge_value_gives_one_line_within_the_limit_that_names_the_cut_field(kind: str, stream: str) -> None:
    value = HUGE_VALUES[kind]
    obj = strict_loads(sink_line({"blob": value, "after": 1}, stream))
    assert obj["zlog_truncated"]["truncated"] == ["blob"]
    assert obj["zlog_truncated"]["dropped"] == []
    assert obj["after"] == 1
    start = encode(value[:600])  # the same value, short enough to be written whole
    assert obj["blob"].endswith(SUFFIX) and obj["blob"].startswith(start[:100])
    assert len(obj["blob"]) > 1000  # cut to fit, not emptied


@pytest.mark.parametrize(
    ("profile", "path"),
    [("ecs", "blob"), ("gcp", "blob"), ("datadog", "blob"), ("otel", "attributes[1].value.stringValue")],
)
@pytest.mark.parametrize("kind", ["invalid_bytes", "non_ascii_str"])
def test_a_huge_value_fits_the_limit_in_every_profile(kind: str, profile: str, path: str) -> None:
    for stream in ("binary", "ascii"):
        obj = strict_loads(sink_line({"blob": HUGE_VALUES[kind]}, stream, profile))
        assert obj["zlog_truncated"]["truncated"] == [path]


@pytest.mark.parametrize("stream", ["binary", "ascii"])
@pytest.mark.parametrize(
    "value",
    [[f"s{i}" for i in range(100_000)], {f"k{i}": i for i in range(100_000)}, [f"{i:060d}" for i in range(30_000)]],
    ids=["list_of_short_strings", "dict", "list_of_long_strings"],
)
def test_a_huge_list_or_dict_is_dropped_whole_and_named(value: Any, stream: str) -> None:
    obj = strict_loads(sink_line({"items": value, "after": 1}, stream))
    assert "items" not in obj
    assert obj["zlog_truncated"]["dropped"] == ["items"]
    assert obj["zlog_truncated"]["truncated"] == []  # its strings were not cut first
    assert obj["after"] == 1


@pytest.mark.parametrize("stream", ["binary", "ascii"])
def test_a_thousand_fields_of_10_kb_are_cut_or_dropped_and_all_accounted_for(stream: str) -> None:
    fields = {f"f{i}": "x" * 10_000 for i in range(1000)}
    obj = strict_loads(sink_line(fields, stream))
    mark = obj["zlog_truncated"]
    kept = [k for k in obj if k.startswith("f")]
    assert kept and all(obj[k].endswith(SUFFIX) for k in kept)
    assert len(kept) + len(mark["dropped"]) + mark.get("more_dropped", 0) == 1000
    assert not set(kept) & set(mark["dropped"])


@pytest.mark.parametrize("stream", ["binary", "ascii"])
def test_a_deeply_nested_value_is_written_to_the_depth_limit(stream: str) -> None:
    value: Any = "bottom"
    for _ in range(10_000):
        value = [value]
    out = strict_loads(sink_line({"deep": value}, stream))["deep"]
    depth = 0
    while isinstance(out, list):
        out, depth = out[0], depth + 1
    assert out == "<max depth>"
    assert 60 <= depth <= 64
