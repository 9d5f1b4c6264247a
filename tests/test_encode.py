"""How field values are written (src/zlog/_encode.py): every value gives one valid JSON line."""

from __future__ import annotations

import dataclasses
import enum
import math
import uuid
from collections import namedtuple
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from pathlib import Path, PurePosixPath
from types import MappingProxyType
from typing import Any

import pytest
from json_helpers import encode, encode_slow, parsed

from zlog import _encode

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
    assert obj["fields.signal"] == "s"
    assert obj["fields.message"] == "m"


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
