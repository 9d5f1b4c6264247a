"""How field values are written (zlog/_encode.py): every value gives one valid JSON line."""

from __future__ import annotations

import array
import dataclasses
import enum
import io
import json
import math
import sys
import tracemalloc
import uuid
from collections import namedtuple
from collections.abc import Callable
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from pathlib import Path, PurePosixPath
from types import MappingProxyType
from typing import Any

import pytest

import zlog
from zlog import _encode
from zlog._truncate import SUFFIX

T0 = 1_795_357_815_000_000_000  # 2026-11-22T14:30:15Z


def strict_loads(line: bytes | str) -> Any:
    """json.loads that rejects NaN/Infinity, as Go's encoding/json and serde_json do."""

    def reject(constant: str) -> Any:
        raise ValueError(f"non-standard JSON constant {constant}")

    return json.loads(line, parse_constant=reject)


def line_for(fields: dict[Any, Any], *, signal: str = "SIG", message: str = "msg") -> bytes:
    out = io.BytesIO()
    zlog.JSONSink(out).handle(zlog.Event(signal, message, fields, time_ns=T0))
    return out.getvalue()


def parsed(fields: dict[Any, Any], **kwargs: str) -> dict[str, Any]:
    line = line_for(fields, **kwargs)
    assert line.endswith(b"\n") and line.count(b"\n") == 1, line
    obj = strict_loads(line)
    assert isinstance(obj, dict)
    return obj


def encode(value: object) -> Any:
    """How ``value`` appears in the line as the field ``v``."""
    return parsed({"v": value})["v"]


def encode_slow(value: object) -> Any:
    """The same, forced through the sanitizing path (a 2**70 field makes orjson refuse the event)."""
    return parsed({"v": value, "force_slow_path": 2**70})["v"]


both_paths = pytest.mark.parametrize("enc", [encode, encode_slow], ids=["fast", "slow"])


class Color(enum.Enum):
    RED = "red"
    ODD = Decimal("1.5")


class Number(enum.IntEnum):
    ONE = 1


@dataclasses.dataclass
class Point:
    x: Any
    y: Any = None


class ReprRaises:
    def __repr__(self) -> str:
        raise RuntimeError("no repr")


class ReprNotStr:
    def __repr__(self) -> Any:
        return 42


class ReprSurrogate:
    def __repr__(self) -> str:
        return "<thing \udc80>"


class StrRaises(str):
    def __str__(self) -> str:
        raise RuntimeError("no str")


class FakeDatetime(datetime):  # what freezegun and pendulum hand out
    pass


class FakeDate(date):
    pass


class Unorderable:
    def __lt__(self, other: object) -> bool:
        raise ValueError("cannot compare")

    def __repr__(self) -> str:
        return "Unorderable()"


class MyError(Exception):
    pass


# -- datetimes ---------------------------------------------------------------------------------


@both_paths
def test_naive_datetime_is_taken_as_utc_and_written_with_z(enc: Any) -> None:
    assert enc(datetime(2026, 11, 22, 14, 30, 15, 123456)) == "2026-11-22T14:30:15.123456Z"


@both_paths
def test_aware_utc_datetime_is_written_with_z(enc: Any) -> None:
    assert enc(datetime(2026, 11, 22, 14, 30, 15, tzinfo=timezone.utc)) == "2026-11-22T14:30:15Z"


@both_paths
def test_aware_non_utc_datetime_keeps_its_offset(enc: Any) -> None:
    value = datetime(2026, 11, 22, 14, 30, 15, tzinfo=timezone(timedelta(hours=2)))
    assert enc(value) == "2026-11-22T14:30:15+02:00"


@both_paths
def test_datetime_subclass_is_written_like_a_datetime_not_as_its_repr(enc: Any) -> None:
    assert enc(FakeDatetime(2026, 11, 22, 14, 30, 15, 5)) == "2026-11-22T14:30:15.000005Z"
    assert enc(FakeDatetime(2026, 1, 1, tzinfo=timezone.utc)) == "2026-01-01T00:00:00Z"
    assert enc(FakeDate(2026, 11, 22)) == "2026-11-22"


def test_date_and_time_are_iso_8601() -> None:
    assert encode(date(2026, 11, 22)) == "2026-11-22"
    assert encode(time(14, 30, 15)) == "14:30:15"


@both_paths
def test_timedelta_is_a_number_of_seconds(enc: Any) -> None:
    assert enc(timedelta(seconds=1.5)) == 1.5
    assert enc(timedelta(days=1)) == 86400


# -- other standard types ----------------------------------------------------------------------


@both_paths
def test_enum_is_written_as_its_value(enc: Any) -> None:
    assert enc(Color.RED) == "red"
    assert enc(Number.ONE) == 1


def test_enum_whose_value_orjson_refuses_is_its_converted_value() -> None:
    assert encode(Color.ODD) == "1.5"


@both_paths
def test_uuid_path_and_decimal_are_strings(enc: Any) -> None:
    assert enc(uuid.UUID(int=1)) == "00000000-0000-0000-0000-000000000001"
    assert enc(Path("/var/log/app.log")) == "/var/log/app.log"
    assert enc(PurePosixPath("relative/x")) == "relative/x"
    assert enc(Decimal("1.10")) == "1.10"


def test_decimal_nan_is_a_string_not_a_json_nan() -> None:
    assert encode(Decimal("NaN")) == "NaN"
    assert encode(Decimal("-Infinity")) == "-Infinity"


@both_paths
def test_dataclass_is_an_object_of_its_fields(enc: Any) -> None:
    assert enc(Point(1, Point("a"))) == {"x": 1, "y": {"x": "a", "y": None}}


def test_dataclass_field_that_orjson_refuses_is_still_converted() -> None:
    assert encode(Point(2**70, float("nan"))) == {"x": "1180591620717411303424", "y": None}


@both_paths
def test_set_and_frozenset_are_sorted_lists(enc: Any) -> None:
    assert enc({3, 1, 2}) == [1, 2, 3]
    assert enc(frozenset({"b", "a", "c"})) == ["a", "b", "c"]


@both_paths
def test_set_of_unsortable_items_is_a_list_of_all_of_them(enc: Any) -> None:
    out = enc({1, "a", None})
    assert sorted(out, key=repr) == sorted([1, "a", None], key=repr)


def test_set_whose_items_raise_on_comparison_is_still_a_list() -> None:
    assert encode({Unorderable(), Unorderable()}) == ["Unorderable()", "Unorderable()"]


@both_paths
def test_bytes_are_utf8_text_with_invalid_bytes_escaped(enc: Any) -> None:
    assert enc(b"caf\xc3\xa9 \xff") == "café \\xff"
    assert enc(bytearray(b"ab")) == "ab"


def test_tuple_namedtuple_and_mapping_are_lists_and_objects() -> None:
    pair = namedtuple("pair", "a b")
    assert encode((1, 2)) == [1, 2]
    assert encode(pair(1, 2)) == [1, 2]
    assert encode(MappingProxyType({"k": 1})) == {"k": 1}


# -- exceptions --------------------------------------------------------------------------------


def _raise_zero_division() -> None:
    1 / 0  # noqa: B018


def test_raised_exception_has_type_message_and_full_traceback() -> None:
    try:
        _raise_zero_division()
    except ZeroDivisionError as exc:
        out = encode(exc)
    assert list(out) == ["type", "message", "stack_trace"]
    assert out["type"] == "ZeroDivisionError"
    assert out["message"] == "division by zero"
    trace = out["stack_trace"]
    assert trace.startswith("Traceback (most recent call last):\n")
    assert "in _raise_zero_division" in trace
    assert trace.endswith("ZeroDivisionError: division by zero")


def test_exception_type_outside_builtins_is_module_qualified() -> None:
    out = encode(MyError("bad"))
    assert out["type"] == f"{MyError.__module__}.MyError"
    assert out["stack_trace"] == f"{MyError.__module__}.MyError: bad"


def test_chained_exception_traceback_includes_the_cause() -> None:
    try:
        try:
            raise KeyError("inner")
        except KeyError as inner:
            raise ValueError("outer") from inner
    except ValueError as exc:
        out = encode(exc)
    assert "KeyError: 'inner'" in out["stack_trace"]
    assert "direct cause" in out["stack_trace"]


def test_exception_whose_str_raises_still_has_a_message() -> None:
    class BrokenError(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no str")

    out = encode(BrokenError())
    assert out["type"].endswith("BrokenError")
    assert isinstance(out["message"], str)
    assert isinstance(out["stack_trace"], str)


def test_exception_message_with_lone_surrogate_is_escaped() -> None:
    assert encode(ValueError("bad \udc80"))["message"] == "bad \\udc80"


# -- numbers -----------------------------------------------------------------------------------


@both_paths
def test_nan_and_infinities_are_null(enc: Any) -> None:
    assert enc(float("nan")) is None
    assert enc([float("inf"), -float("inf"), 1.5]) == [None, None, 1.5]
    assert enc({"deep": {"x": math.nan}}) == {"deep": {"x": None}}


def test_ints_inside_64_bits_are_numbers() -> None:
    assert encode(2**64 - 1) == 2**64 - 1
    assert encode(-(2**63)) == -(2**63)


def test_ints_beyond_64_bits_are_decimal_strings() -> None:
    assert encode(2**64) == "18446744073709551616"
    assert encode(-(2**63) - 1) == "-9223372036854775809"
    assert encode([2**70]) == ["1180591620717411303424"]


def test_int_longer_than_python_int_to_str_limit_is_still_a_decimal_string() -> None:
    value = 10**5000  # str(value) raises ValueError under the default 4300-digit limit
    assert encode(value) == "1" + "0" * 5000


def test_int_too_long_to_convert_cheaply_says_how_many_bits() -> None:
    assert encode(2**200_000) == "<int of 200001 bits>"


def test_int_subclass_is_a_plain_number() -> None:
    class Flag(int):
        def __repr__(self) -> str:
            return "Flag!"

    assert encode(Flag(5)) == 5
    assert encode_slow(Flag(5)) == 5


# -- keys, strings and structure -------------------------------------------------------------


def test_non_string_dict_keys_become_strings() -> None:
    out = encode({1: "int", None: "none", False: "bool", 1.5: "float", (1, 2): "tuple", Color.RED: "enum"})
    assert out == {
        "1": "int",
        "null": "none",
        "false": "bool",
        "1.5": "float",
        "(1, 2)": "tuple",
        "red": "enum",
    }


def test_str_subclass_key_and_value_use_the_plain_value_even_if_str_raises() -> None:
    obj = parsed({"v": {StrRaises("k"): StrRaises("value")}})
    assert obj["v"] == {"k": "value"}
    assert obj["signal"] == "SIG"


def test_non_string_top_level_key_cannot_overwrite_the_events_own_keys() -> None:
    class Key(enum.Enum):
        TIME = "time"

    obj = parsed({Key.TIME: "user", 7: "seven"})
    assert obj["time"] == "2026-11-22T14:30:15.000000Z"
    assert obj["fields.time"] == "user"
    assert obj["7"] == "seven"


def test_lone_surrogates_become_visible_escapes_in_values_keys_message_and_signal() -> None:
    obj = parsed({"v": "a\udc80b", "k\ud800": 1}, signal="SIG\udcff", message="m\udc80")
    assert obj["v"] == "a\\udc80b"
    assert obj["k\\ud800"] == 1
    assert obj["signal"] == "SIG\\udcff"
    assert obj["message"] == "m\\udc80"


def test_valid_surrogate_pairs_written_as_one_character_are_kept() -> None:
    assert encode("\U0001f600 ok") == "\U0001f600 ok"


def test_circular_list_dict_and_dataclass_are_marked_circular() -> None:
    items: list[Any] = [1]
    items.append(items)
    mapping: dict[str, Any] = {"a": 1}
    mapping["self"] = mapping
    point = Point(1)
    point.y = point
    assert encode(items) == [1, "<circular>"]
    assert encode(mapping) == {"a": 1, "self": "<circular>"}
    assert encode(point) == {"x": 1, "y": "<circular>"}


def test_shared_but_not_circular_references_are_written_in_full() -> None:
    shared = [1, 2]
    assert encode_slow({"a": shared, "b": shared}) == {"a": [1, 2], "b": [1, 2]}


def test_nesting_deeper_than_64_levels_is_cut_with_a_marker() -> None:
    value: Any = "bottom"
    for _ in range(300):
        value = [value]
    out = encode(value)
    depth = 0
    while isinstance(out, list):
        out = out[0]
        depth += 1
    assert out == "<max depth>"
    assert 60 <= depth <= 64


# -- anything else -----------------------------------------------------------------------------


def test_unknown_object_is_its_repr() -> None:
    class Thing:
        def __repr__(self) -> str:
            return "Thing(1)"

    assert encode(Thing()) == "Thing(1)"
    assert encode_slow(Thing()) == "Thing(1)"


def test_object_whose_repr_raises_is_unrepresentable_with_its_type_name() -> None:
    assert encode(ReprRaises()) == "<unrepresentable ReprRaises>"
    assert encode(ReprNotStr()) == "<unrepresentable ReprNotStr>"
    assert encode_slow(ReprRaises()) == "<unrepresentable ReprRaises>"


def test_repr_with_lone_surrogate_is_escaped() -> None:
    assert encode(ReprSurrogate()) == "<thing \\udc80>"


def test_safe_repr_never_raises() -> None:
    assert _encode.safe_repr(ReprRaises()) == "<unrepresentable ReprRaises>"
    assert _encode.safe_repr([1]) == "[1]"


# -- reserved keys -----------------------------------------------------------------------------


def test_fields_named_like_core_keys_are_prefixed_not_overwriting() -> None:
    obj = parsed({"time": "t", "level": "l", "signal": "s", "message": "m"})
    assert list(obj) == [
        "time",
        "signal",
        "message",
        "fields.time",
        "fields.level",
        "fields.signal",
        "fields.message",
    ]
    assert obj["time"] == "2026-11-22T14:30:15.000000Z"
    assert obj["signal"] == "SIG"
    assert obj["message"] == "msg"
    assert obj["fields.time"] == "t"
    assert obj["fields.level"] == "l"


def test_prefixed_name_never_overwrites_a_field_that_already_has_it() -> None:
    obj = parsed({"fields.time": 1, "time": 2})
    assert obj["fields.time"] == 1
    assert obj["fields.fields.time"] == 2


def test_with_fields_keeps_field_order_and_prefixes_reserved_names() -> None:
    out = _encode.with_fields({"time": "T", "signal": "S", "message": "M"}, {"b": 1, "message": 2, "a": 3})
    assert list(out.items()) == [
        ("time", "T"),
        ("signal", "S"),
        ("message", "M"),
        ("b", 1),
        ("fields.message", 2),
        ("a", 3),
    ]


# -- huge values -----------------------------------------------------------------------------

LIMIT = 16384
HUGE = 2_000_000


def python_calls(fn: Callable[[], object]) -> int:
    """How many Python functions ``fn()`` runs (calls into C not counted): work done per item in Python
    shows up here, whatever the machine's speed."""
    calls = 0

    def count(frame: object, event: str, arg: object) -> None:
        nonlocal calls
        if event == "call":
            calls += 1

    sys.setprofile(count)
    try:
        fn()
    finally:
        sys.setprofile(None)
    return calls


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
