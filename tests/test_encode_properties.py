"""Property tests for value encoding: any input gives one strict JSON line and sanitize gives JSON types."""

from __future__ import annotations

import io
import json
import math
from datetime import timedelta, timezone
from pathlib import PurePosixPath
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_encode import Color, FakeDatetime, Number, Point, ReprNotStr, ReprRaises, ReprSurrogate, StrRaises

import zlog
from zlog import _encode, _truncate

T0 = 1_795_357_815_000_000_000  # 2026-11-22T14:30:15Z


def line_for(fields: dict[Any, Any], *, signal: str = "SIG", message: str = "msg") -> bytes:
    out = io.BytesIO()
    zlog.JSONSink(out).handle(zlog.Event(signal, message, fields, time_ns=T0))
    return out.getvalue()


def strict_loads(line: bytes | str) -> Any:
    """json.loads that rejects NaN/Infinity, as Go's encoding/json and serde_json do."""

    def reject(constant: str) -> Any:
        raise ValueError(f"non-standard JSON constant {constant}")

    return json.loads(line, parse_constant=reject)


# -- never raises: property tests ------------------------------------------------------------

text = st.text(
    st.one_of(st.characters(), st.characters(categories=["Cs"])),
    max_size=20,
)
huge_ints = st.one_of(st.integers(2**64, 2**300), st.integers(-(2**300), -(2**63) - 1))
keys = st.one_of(
    text,
    st.integers(),
    huge_ints,
    st.none(),
    st.booleans(),
    st.floats(),
    st.tuples(st.integers()),
    st.sampled_from(["time", "level", "signal", "message", "fields.time", "zlog_truncated", Color.RED]),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    huge_ints,
    st.floats(),
    text,
    st.binary(max_size=20),
    st.datetimes(
        timezones=st.one_of(
            st.none(),
            st.just(timezone.utc),
            st.builds(timezone, st.timedeltas(min_value=timedelta(hours=-23), max_value=timedelta(hours=23))),
        )
    ),
    st.dates(),
    st.times(),
    st.timedeltas(),
    st.decimals(),
    st.uuids(),
    st.builds(PurePosixPath, text),
    st.sampled_from([Color.RED, Color.ODD, Number.ONE]),
    st.builds(ValueError, text),
    st.builds(object),
    st.builds(ReprRaises),
    st.builds(ReprNotStr),
    st.builds(ReprSurrogate),
    st.builds(StrRaises, text),
    st.builds(FakeDatetime, st.integers(1, 9999), st.integers(1, 12), st.integers(1, 28)),
)


def _circular(child: Any) -> list[Any]:
    items = [child]
    items.append(items)
    return items


values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(keys, children, max_size=4),
        st.tuples(children, children),
        st.sets(st.one_of(st.integers(), st.text(max_size=3), huge_ints), max_size=4),
        st.frozensets(st.floats(), max_size=3),
        st.builds(Point, children, children),
        st.builds(_circular, children),
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(keys, values, max_size=5), text, text)
def test_any_fields_give_exactly_one_strict_json_line_with_the_core_keys_first(
    fields: dict[Any, Any], signal: str, message: str
) -> None:
    line = line_for(fields, signal="S" + signal, message=message)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    line.decode("utf-8")  # valid UTF-8: no lone surrogates escaped into the bytes
    obj = strict_loads(line)
    assert list(obj)[:3] == ["time", "signal", "message"]
    assert obj["time"] == "2026-11-22T14:30:15.000000Z"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values)
def test_sanitize_returns_only_json_types(value: Any) -> None:
    def check(node: Any) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                assert type(k) is str
                check(v)
        elif isinstance(node, list):
            for v in node:
                check(v)
        elif isinstance(node, int) and not isinstance(node, bool):
            assert type(node) is int and -(2**63) <= node < 2**64
        elif isinstance(node, float):
            assert type(node) is float and math.isfinite(node)
        else:
            assert node is None or type(node) in (bool, str)
            if isinstance(node, str):
                node.encode("utf-8")

    out = _encode.sanitize(value)
    check(out)
    strict_loads(orjson.dumps(out))


def test_dumps_writes_one_line_even_when_orjson_refuses_the_whole_object() -> None:
    line = _encode.dumps({"time": "t", "signal": "S", "message": "m", "x": {1: 2**70, "s": "\udc80"}})
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert strict_loads(line) == {
        "time": "t",
        "signal": "S",
        "message": "m",
        "x": {"1": "1180591620717411303424", "s": "\\udc80"},
    }


# -- bytes ------------------------------------------------------------------------------------

utf8_pieces = st.sampled_from([b"a", b"\\", b"\\x41", b"\\udc80", b"\xc3\xa9", b"\xe2\x82\xac", b"\xf0\x9f\x98\x80"])
broken_pieces = st.sampled_from([b"\xff", b"\x80", b"\xc3", b"\xe2\x82", b"\xed\xa0\x80", b"\xf4\x90\x80\x80"])
byte_strings = st.one_of(st.binary(max_size=300), st.lists(st.one_of(utf8_pieces, broken_pieces)).map(b"".join))


@settings(max_examples=500, deadline=None)
@given(byte_strings)
def test_bytes_text_is_utf8_with_backslashreplace(data: bytes) -> None:
    assert _encode.bytes_text(data) == data.decode("utf-8", "backslashreplace")


@settings(max_examples=500, deadline=None)
@given(byte_strings, st.integers(4, 300))
def test_bytes_cut_at_a_cap_begin_like_the_whole_value_and_hold_past_the_cap(data: bytes, cap: int) -> None:
    whole = data.decode("utf-8", "backslashreplace")
    out = _encode.bytes_text(data, cap)
    if len(data) <= cap:
        assert out == whole
        return
    assert out.endswith(_truncate.SUFFIX)
    text = out[: -len(_truncate.SUFFIX)]
    assert whole.startswith(text)
    assert len(orjson.dumps(text)) - 2 > cap - 4  # so a line limited to cap - 4 bytes is always cut past it
