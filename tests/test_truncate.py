"""Shortening over-long lines (src/zlog/_truncate.py): valid JSON, within the limit, and marked."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from json_helpers import python_calls

from zlog import _truncate
from zlog._truncate import MARK_KEY, SUFFIX, fit

TIME = "2026-11-22T14:30:15.000000Z"


def strict_loads(line: bytes) -> Any:
    def reject(constant: str) -> Any:
        raise ValueError(constant)

    return json.loads(line, parse_constant=reject)


def make_line(
    fields: dict[str, Any], *, message: str = "msg", signal: str = "SIG", level: str | None = "info"
) -> bytes:
    core: dict[str, Any] = {"time": TIME}
    if level is not None:
        core["level"] = level
    core.update(signal=signal, message=message)
    return orjson.dumps({**core, **fields}, option=orjson.OPT_APPEND_NEWLINE)


def fitted(line: bytes, limit: int, *, ascii: bool = False) -> dict[str, Any]:
    out = fit(line, limit, ascii=ascii)
    assert len(out) <= limit, (len(out), out[:300])
    assert out.isascii() or not ascii
    assert out.endswith(b"\n") and out.count(b"\n") == 1
    obj = strict_loads(out)
    assert isinstance(obj, dict)
    return obj


def test_result_fits_and_is_marked_with_the_original_size() -> None:
    line = make_line({"payload": "x" * 5000})
    obj = fitted(line, 1024)
    assert obj[MARK_KEY] == {"original_bytes": len(line), "truncated": ["payload"], "dropped": []}
    assert obj["payload"].endswith(SUFFIX)
    assert obj["payload"].startswith("xxxx")


def test_time_level_and_signal_are_kept_unchanged_and_first() -> None:
    obj = fitted(make_line({"a": "y" * 3000, "b": list(range(500))}), 512)
    assert list(obj)[:4] == ["time", "level", "signal", "message"]
    assert (obj["time"], obj["level"], obj["signal"]) == (TIME, "info", "SIG")


def test_the_longest_string_is_cut_and_short_ones_are_left_alone() -> None:
    obj = fitted(make_line({"short": "s" * 100, "long": "L" * 5000}), 1024)
    assert obj["short"] == "s" * 100
    assert obj["long"].endswith(SUFFIX)
    assert obj[MARK_KEY]["truncated"] == ["long"]


def test_several_long_strings_are_cut_to_a_common_length() -> None:
    obj = fitted(make_line({"a": "a" * 3000, "b": "b" * 2000, "c": "c" * 120}), 1024)
    assert obj["c"] == "c" * 120
    assert obj["a"].endswith(SUFFIX) and obj["b"].endswith(SUFFIX)
    assert abs(len(obj["a"]) - len(obj["b"])) <= 1
    assert sorted(obj[MARK_KEY]["truncated"]) == ["a", "b"]


def test_nested_strings_are_cut_and_reported_by_path() -> None:
    error = {"type": "ValueError", "message": "boom", "stack_trace": "Traceback\n" + "  frame\n" * 2000}
    obj = fitted(make_line({"error": error, "items": ["i" * 2000]}), 2048)
    assert obj["error"]["type"] == "ValueError"
    assert obj["error"]["stack_trace"].startswith("Traceback\n")
    assert obj["error"]["stack_trace"].endswith(SUFFIX)
    assert sorted(obj[MARK_KEY]["truncated"]) == ["error.stack_trace", "items[0]"]


def test_the_message_is_a_string_that_can_be_cut() -> None:
    obj = fitted(make_line({}, message="m" * 5000), 1024)
    assert obj["message"].startswith("mmm") and obj["message"].endswith(SUFFIX)
    assert obj[MARK_KEY]["truncated"] == ["message"]


def test_strings_with_escaped_characters_are_cut_by_their_json_size() -> None:
    # each \x01 is 6 bytes as JSON; a cut counted in characters would leave the line too long
    line = make_line({"ctrl": "\x01" * 10_000, "keep": 1})
    obj = fitted(line, 1024)
    assert obj["keep"] == 1
    assert obj["ctrl"].startswith("\x01" * 50) and obj["ctrl"].endswith(SUFFIX)
    assert obj[MARK_KEY]["truncated"] == ["ctrl"]
    assert obj[MARK_KEY]["dropped"] == []


def test_multibyte_characters_are_never_split() -> None:
    obj = fitted(make_line({"s": "é€😀" * 3000}), 1024)
    assert obj["s"].endswith(SUFFIX)
    assert set(obj["s"].removesuffix(SUFFIX)) <= {"é", "€", "😀"}


def test_a_cut_string_is_not_cut_twice_with_two_suffixes() -> None:
    obj = fitted(make_line({f"k{i}": "v" * 400 for i in range(40)}), 2048)
    for key in (k for k in obj if k.startswith("k")):
        assert obj[key].count(SUFFIX) <= 1


def test_fields_without_long_strings_are_dropped_largest_first() -> None:
    line = make_line({"small": [1] * 10, "big": list(range(2000)), "medium": list(range(100))})
    obj = fitted(line, 1024)
    assert "big" not in obj
    assert obj["small"] == [1] * 10
    assert obj["medium"] == list(range(100))
    assert obj[MARK_KEY]["dropped"] == ["big"]


def test_a_field_with_a_huge_name_is_dropped_and_the_marker_stays_small() -> None:
    obj = fitted(make_line({"k" * 5000: 1, "v": "a" * 100}), 512)
    assert "k" * 5000 not in obj
    assert obj["v"].startswith("a" * 32)  # strings are cut before fields are dropped
    assert obj[MARK_KEY]["dropped"] == []  # the name itself is too long to list
    assert obj[MARK_KEY]["more_dropped"] == 1


def test_thousands_of_small_fields_fit_with_the_rest_counted() -> None:
    line = make_line({f"field_{i:05d}_padding": i for i in range(3000)})
    obj = fitted(line, 1024)
    mark = obj[MARK_KEY]
    kept = [k for k in obj if k.startswith("field_")]
    assert len(kept) + len(mark["dropped"]) + mark["more_dropped"] == 3000
    assert not set(kept) & set(mark["dropped"])


def test_a_short_message_is_not_made_longer() -> None:
    obj = fitted(make_line({"big": list(range(3000))}, message="ok"), 512)
    assert obj["message"] == "ok"


def test_message_of_escaped_characters_is_cut_to_fit() -> None:
    obj = fitted(make_line({}, message="\x01" * 5000), 512)
    assert obj["message"].endswith(SUFFIX)


def test_an_over_long_signal_is_cut_as_the_last_resort() -> None:
    obj = fitted(make_line({"a": 1}, signal="S" * 2000), 512)
    assert obj["signal"].startswith("SSS") and obj["signal"].endswith(SUFFIX)
    assert "signal" in obj[MARK_KEY]["truncated"]
    assert obj["time"] == TIME


def test_a_user_field_named_like_the_marker_is_kept_under_fields() -> None:
    line = make_line({"zlog_truncated": "user value", "big": "b" * 3000})
    obj = fitted(line, 1024)
    assert obj["fields.zlog_truncated"] == "user value"
    assert set(obj[MARK_KEY]) >= {"original_bytes", "truncated", "dropped"}


def test_a_huge_user_field_named_like_the_marker_is_truncated_too() -> None:
    obj = fitted(make_line({"zlog_truncated": "z" * 5000}), 512)
    assert obj["fields.zlog_truncated"].endswith(SUFFIX)
    assert obj[MARK_KEY]["truncated"] == ["fields.zlog_truncated"]


def test_to_ascii_escapes_non_ascii_and_parses_to_the_same_value() -> None:
    line = orjson.dumps({"k€y": "é 😀 \x01 ok"}, option=orjson.OPT_APPEND_NEWLINE)
    out = _truncate.to_ascii(line)
    assert out.isascii()
    assert out == b'{"k\\u20acy":"\\u00e9 \\ud83d\\ude00 \\u0001 ok"}\n'
    assert strict_loads(out) == strict_loads(line)


def test_ascii_fit_measures_the_escaped_line() -> None:
    line = make_line({"s": "é" * 400})  # under 1024 bytes as UTF-8, over it with escapes
    assert len(line) < 1024 < len(_truncate.to_ascii(line))
    out = fit(line, 1024, ascii=True)
    assert out.isascii() and len(out) <= 1024
    obj = strict_loads(out)
    assert obj["s"].startswith("ééé")
    assert obj[MARK_KEY]["original_bytes"] == len(_truncate.to_ascii(line))


def test_min_limit_is_512() -> None:
    assert _truncate.MIN_LIMIT == 512


json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**63), 2**64 - 1),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=3000),
        st.text(st.sampled_from('\x00\x01"\\é😀\n'), max_size=2000),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=8), st.dictionaries(st.text(max_size=300), children, max_size=8)
    ),
    max_leaves=30,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    fields=st.dictionaries(st.text(max_size=2000), json_values, max_size=12),
    message=st.text(max_size=4000),
    signal=st.text(min_size=1, max_size=200),
    level=st.sampled_from([None, "info", "error"]),
    limit=st.integers(512, 4096),
    ascii=st.booleans(),
)
def test_any_line_fits_any_limit_and_keeps_time_and_level(
    fields: dict[str, Any], message: str, signal: str, level: str | None, limit: int, ascii: bool
) -> None:
    fields = {k: v for k, v in fields.items() if k not in ("time", "level", "signal", "message")}
    line = make_line(fields, message=message, signal=signal, level=level)
    size = len(_truncate.to_ascii(line)) if ascii else len(line)
    if size <= limit:
        return
    obj = fitted(line, limit, ascii=ascii)
    assert obj["time"] == TIME
    assert obj.get("level") == level
    mark = obj[MARK_KEY]
    assert mark["original_bytes"] == size
    for key in mark["dropped"]:
        assert key not in obj


@pytest.mark.parametrize("limit", [512, 600, 16384])
def test_a_line_cut_to_the_limit_parses_back_to_the_same_core(limit: int) -> None:
    line = make_line({"blob": "x" * (limit * 3)}, message="hello")
    obj = fitted(line, limit)
    assert (obj["time"], obj["level"], obj["signal"], obj["message"]) == (TIME, "info", "SIG", "hello")
    assert len(fit(line, limit)) > limit - 64  # shortened to fit, not emptied


# -- bounded work on huge lines ----------------------------------------------------------------


def encoded_sizes(monkeypatch: pytest.MonkeyPatch, fn: Callable[[], object]) -> list[int]:
    """The size of every JSON text orjson writes while ``fn()`` runs: the work of measuring."""
    sizes: list[int] = []
    real = orjson.dumps

    def dumps(*args: Any, **kwargs: Any) -> bytes:
        out = real(*args, **kwargs)
        sizes.append(len(out))
        return out

    monkeypatch.setattr(orjson, "dumps", dumps)
    fn()
    monkeypatch.setattr(orjson, "dumps", real)
    return sizes


def escape_each_character(line: bytes) -> bytes:
    """What to_ascii must give: each non-ASCII character as JSON's \\u escape(s), all else as it is."""
    out = []
    for char in line.decode("utf-8"):
        code = ord(char)
        if code < 0x80:
            out.append(char)
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            code -= 0x10000
            out.append(f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}")
    return "".join(out).encode("ascii")


tricky_text = st.text(
    st.sampled_from(['"', "\\", "x", "U", "u", "0", "\x7f", "\x00", "\x01", "\n", "é", "ÿ", "€", "😀"])
)


@settings(max_examples=500, deadline=None)
@given(st.one_of(tricky_text, st.text()), st.booleans())
def test_to_ascii_escapes_exactly_the_non_ascii_characters(text: str, nested: bool) -> None:
    line = orjson.dumps({text: [text, 1.5]} if nested else text, option=orjson.OPT_APPEND_NEWLINE)
    out = _truncate.to_ascii(line)
    assert out == escape_each_character(line)
    assert _truncate.ascii_size(line) == len(out)
    assert strict_loads(out) == strict_loads(line)


@pytest.mark.parametrize("char", ["é", "€", "😀"])
def test_to_ascii_does_no_python_work_per_character(char: str) -> None:
    line = make_line({"s": char * 50_000, "q": '"\\' * 100})
    assert python_calls(lambda: _truncate.to_ascii(line)) < 10
    assert _truncate.to_ascii(line) == escape_each_character(line)


def test_a_field_too_big_for_the_line_is_dropped_whole_before_any_string_is_cut() -> None:
    line = make_line({"items": [f"{i:060d}" for i in range(2000)], "note": "n" * 3000})
    obj = fitted(line, 2048)
    assert obj[MARK_KEY]["dropped"] == ["items"]
    assert obj[MARK_KEY]["truncated"] == ["note"]  # the items' strings were not cut first
    assert len(obj["note"]) > 1500  # so the note keeps what the limit leaves room for


def test_a_list_with_more_items_than_the_limit_has_bytes_is_dropped_without_looking_at_them() -> None:
    line = make_line({"items": [f"{i:060d}" for i in range(100_000)]})
    assert python_calls(lambda: fit(line, 16384)) < 100
    assert fitted(line, 16384)[MARK_KEY]["dropped"] == ["items"]


@pytest.mark.parametrize("ascii", [False, True])
def test_a_huge_string_is_encoded_whole_only_to_measure_it(monkeypatch: pytest.MonkeyPatch, ascii: bool) -> None:
    line = make_line({"blob": "x" * 1_000_000})
    sizes = encoded_sizes(monkeypatch, lambda: fit(line, 4096, ascii=ascii))
    assert len([size for size in sizes if size > 8192]) <= 2  # the line and the string, once each
    fitted(line, 4096, ascii=ascii)


def test_dropping_thousands_of_fields_does_not_re_encode_the_marker_for_each(monkeypatch: pytest.MonkeyPatch) -> None:
    line = make_line({f"field_{i:05d}": i for i in range(20_000)})
    sizes = encoded_sizes(monkeypatch, lambda: fit(line, 16384))
    assert sum(sizes) < 3 * len(line)  # dumping the 2 kB marker per dropped field is 80 MB
    obj = fitted(line, 16384)
    mark = obj[MARK_KEY]
    assert len([k for k in obj if k.startswith("field_")]) + len(mark["dropped"]) + mark["more_dropped"] == 20_000
    assert len(fit(line, 16384)) > 16384 - 32  # filled up to the limit


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    fields=st.dictionaries(st.text(max_size=30), json_values, max_size=60),
    limit=st.integers(512, 2048),
    ascii=st.booleans(),
)
def test_a_line_is_filled_to_the_limit_when_only_whole_fields_are_dropped(
    fields: dict[str, Any], limit: int, ascii: bool
) -> None:
    line = make_line({k: v for k, v in fields.items() if k not in ("time", "level", "signal", "message", MARK_KEY)})
    size = len(_truncate.to_ascii(line)) if ascii else len(line)
    if size <= limit:
        return
    out = fit(line, limit, ascii=ascii)
    obj = strict_loads(out)
    mark = obj[MARK_KEY]
    if mark["truncated"] or mark.get("more_truncated") or not mark["dropped"] or mark.get("more_dropped"):
        return
    dump = _truncate.to_ascii if ascii else bytes
    dropped = [len(dump(orjson.dumps({k: v}))) for k, v in strict_loads(line).items() if k in mark["dropped"]]
    assert len(out) + min(dropped) > limit  # the smallest field dropped would not have fitted back
