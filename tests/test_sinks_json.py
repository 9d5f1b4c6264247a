"""JSONSink (src/zlog/sinks/json.py): the line format, streams, buffering, threads and failure isolation."""

from __future__ import annotations

import io
import json
import tempfile
from datetime import timezone
from decimal import Decimal
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from json_helpers import T0, handle, lines_of, one_line, strict_loads

import zlog
from zlog.event import Event

# -- the line ----------------------------------------------------------------------------------


def test_a_line_is_compact_json_of_the_core_keys_then_the_fields_byte_for_byte() -> None:
    out = io.BytesIO()
    sink = zlog.JSONSink(out)
    handle(sink, "JOB_QUEUED", "Job queued for processing", fields={"job_id": "j1", "priority": 5})
    assert out.getvalue() == (
        b'{"time":"2026-11-22T14:30:15.000000Z","signal":"JOB_QUEUED","message":"Job queued for processing",'
        b'"job_id":"j1","priority":5}\n'
    )


def test_keys_come_in_order_time_level_signal_message_context_fields(router: zlog.Router) -> None:
    out = io.BytesIO()
    router.route("*", zlog.JSONSink(out))
    done: zlog.Signal[...] = zlog.Signal("JOB_DONE", level="info")
    with zlog.bind(request_id="r1", worker="w"):
        router.emit(done, "done", job_id="j1", took=1.5)
    [obj] = lines_of(out.getvalue())
    assert list(obj) == ["time", "level", "signal", "message", "request_id", "worker", "job_id", "took"]
    assert (obj["level"], obj["signal"], obj["message"]) == ("info", "JOB_DONE", "done")


def test_an_emitted_field_replaces_a_bound_one_in_the_bound_position(router: zlog.Router) -> None:
    out = io.BytesIO()
    router.route("*", zlog.JSONSink(out))
    with zlog.bind(a=1, b=2):
        router.emit("SIG", "m", c=3, a=10)
    [obj] = lines_of(out.getvalue())
    assert list(obj)[3:] == ["a", "b", "c"]
    assert obj["a"] == 10


def test_level_is_absent_when_the_signal_has_none() -> None:
    assert "level" not in one_line()
    assert one_line(level="error")["level"] == "error"


@pytest.mark.parametrize(
    ("time_ns", "expected"),
    [
        (T0, "2026-11-22T14:30:15.000000Z"),
        (0, "1970-01-01T00:00:00.000000Z"),
        (T0 + 123_456_789, "2026-11-22T14:30:15.123456Z"),  # sub-microseconds are cut, not rounded
        (T0 + 999, "2026-11-22T14:30:15.000000Z"),
        (T0 + 1_000, "2026-11-22T14:30:15.000001Z"),
        (T0 + 7_000_000, "2026-11-22T14:30:15.007000Z"),
        (253402300799_999_999_999, "9999-12-31T23:59:59.999999Z"),
    ],
)
def test_time_is_rfc3339_utc_with_six_digits_and_z(time_ns: int, expected: str) -> None:
    assert one_line(time_ns=time_ns)["time"] == expected


def test_time_is_right_for_events_sharing_the_millisecond_of_another_second() -> None:
    out = io.BytesIO()
    sink = zlog.JSONSink(out)
    for ns in (T0 + 5_000_001, T0 + 5_000_999, T0 + 1_000_000_000 + 5_000_000, T0 + 5_002_000):
        handle(sink, time_ns=ns)
    assert [o["time"] for o in lines_of(out.getvalue())] == [
        "2026-11-22T14:30:15.005000Z",
        "2026-11-22T14:30:15.005000Z",
        "2026-11-22T14:30:16.005000Z",
        "2026-11-22T14:30:15.005002Z",
    ]


def test_emitted_time_is_the_events_time(router: zlog.Router) -> None:
    out = io.BytesIO()
    seen: list[Event] = []
    router.route("*", seen.append, zlog.JSONSink(out))
    router.emit("SIG", "m")
    [obj] = lines_of(out.getvalue())
    assert obj["time"] == seen[0].time.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@pytest.mark.parametrize("name", ["time", "level", "signal", "message"])
def test_a_field_named_like_a_core_key_is_written_as_fields_name(router: zlog.Router, name: str) -> None:
    out = io.BytesIO()
    router.route("*", zlog.JSONSink(out))
    router.emit(zlog.Signal("SIG", level="warn"), "the message", **{name: "user"})
    router.emit("PLAIN", "the message", **{name: "user"})
    for obj in lines_of(out.getvalue()):
        assert obj[f"fields.{name}"] == "user"
        assert obj["time"].endswith("Z") and obj["message"] == "the message"
        assert obj["signal"] in ("SIG", "PLAIN")
    with_level, without = lines_of(out.getvalue())
    assert with_level["level"] == "warn"
    assert "level" not in without


def test_a_bound_field_named_like_a_core_key_is_written_as_fields_name(router: zlog.Router) -> None:
    out = io.BytesIO()
    router.route("*", zlog.JSONSink(out))
    with zlog.bind(message="bound"):
        router.emit("SIG", "real")
    [obj] = lines_of(out.getvalue())
    assert obj["message"] == "real"
    assert obj["fields.message"] == "bound"


def test_exc_info_inside_except_writes_an_error_object_with_the_traceback(router: zlog.Router) -> None:
    out = io.BytesIO()
    router.route("*", zlog.JSONSink(out))

    def divide() -> float:
        return 1 / 0

    try:
        divide()
    except ZeroDivisionError:
        router.emit("JOB_FAILED", "job failed", job_id=42, exc_info=True)
    [obj] = lines_of(out.getvalue())
    assert list(obj) == ["time", "signal", "message", "job_id", "error"]
    error = obj["error"]
    assert error["type"] == "ZeroDivisionError"
    assert error["message"] == "division by zero"
    assert error["stack_trace"].startswith("Traceback (most recent call last):\n")
    assert "in divide" in error["stack_trace"]
    assert error["stack_trace"].endswith("ZeroDivisionError: division by zero")


def test_message_newlines_stay_escaped_inside_one_line() -> None:
    out = io.BytesIO()
    handle(zlog.JSONSink(out), message="boom\nsecond line", fields={"x": "a\r\nb"})
    assert out.getvalue().count(b"\n") == 1
    [obj] = lines_of(out.getvalue())
    assert obj["message"] == "boom\nsecond line"


# -- streams -----------------------------------------------------------------------------------


def test_text_stream_stringio_gets_the_same_line_as_a_binary_one() -> None:
    text, binary = io.StringIO(), io.BytesIO()
    for stream in (text, binary):
        handle(zlog.JSONSink(stream), fields={"name": "café 😀", "n": 1})
    assert text.getvalue().encode("utf-8") == binary.getvalue()


@pytest.mark.parametrize("mode", ["w", "wb", "a", "ab"])
def test_files_opened_in_text_or_binary_mode_get_utf8_lines(tmp_path: Path, mode: str) -> None:
    path = tmp_path / "log.jsonl"
    with open(path, mode, encoding=None if "b" in mode else "utf-8") as stream:
        sink = zlog.JSONSink(stream)
        handle(sink, fields={"name": "café"})
        handle(sink, fields={"name": "ünï"})
    assert [o["name"] for o in lines_of(path.read_bytes())] == ["café", "ünï"]


def test_unbuffered_binary_file_gets_whole_lines(tmp_path: Path) -> None:
    path = tmp_path / "raw.jsonl"
    with open(path, "wb", buffering=0) as stream:
        sink = zlog.JSONSink(stream)
        for i in range(3):
            handle(sink, fields={"i": i, "pad": "p" * 20000})
    assert [o["i"] for o in lines_of(path.read_bytes())] == [0, 1, 2]


def test_named_temporary_file_wrapper_is_detected_as_binary() -> None:
    with tempfile.NamedTemporaryFile("w+b") as stream:
        handle(zlog.JSONSink(stream), fields={"x": 1})
        stream.flush()
        stream.seek(0)
        assert lines_of(stream.read())[0]["x"] == 1


@pytest.mark.parametrize("encoding", ["ascii", "cp1252", "latin-1"])
def test_text_stream_that_cannot_encode_everything_gets_ascii_escapes(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "log.jsonl"
    with open(path, "w", encoding=encoding) as stream:
        handle(zlog.JSONSink(stream), message="naïve €", fields={"emoji": "😀", "k€y": "é"})
    data = path.read_bytes()
    assert data.isascii()
    [obj] = lines_of(data)
    assert obj["message"] == "naïve €"
    assert obj["emoji"] == "😀"
    assert obj["k€y"] == "é"


def test_ascii_only_stream_measures_max_line_bytes_on_the_escaped_line(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    with open(path, "w", encoding="ascii") as stream:
        sink = zlog.JSONSink(stream, max_line_bytes=1024)
        handle(sink, fields={"s": "é" * 400})  # about 900 bytes as UTF-8, 2500 with \\u escapes
        handle(sink, fields={"s": "é" * 100})
    data = path.read_bytes()
    assert all(len(line) + 1 <= 1024 for line in data.split(b"\n")[:-1])
    cut, whole = lines_of(data)
    assert cut["s"].startswith("ééé") and cut["zlog_truncated"]["truncated"] == ["s"]
    assert whole["s"] == "é" * 100 and "zlog_truncated" not in whole


def test_default_stream_is_sys_stdout_at_creation(capsys: pytest.CaptureFixture[str]) -> None:
    sink = zlog.JSONSink()
    handle(sink, fields={"x": 1})
    [obj] = lines_of(capsys.readouterr().out)
    assert obj["x"] == 1


def test_something_without_write_is_refused() -> None:
    with pytest.raises(TypeError):
        zlog.JSONSink(object())  # type: ignore[arg-type]


@pytest.mark.parametrize("limit", [0, 511, -1, "16384", 600.0, True])
def test_max_line_bytes_must_be_an_int_of_at_least_512(limit: Any) -> None:
    with pytest.raises(ValueError):
        zlog.JSONSink(io.BytesIO(), max_line_bytes=limit)


def test_max_line_bytes_512_is_accepted() -> None:
    assert zlog.JSONSink(io.BytesIO(), max_line_bytes=512).max_line_bytes == 512


# -- never raises: property test through emit --------------------------------------------------


class ReprRaises:
    def __repr__(self) -> str:
        raise RuntimeError("no repr")


class Opaque:
    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


text = st.text(st.one_of(st.characters(), st.characters(categories=["Cs"])), max_size=30)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(2**64, 2**400),
    st.integers(-(2**400), -(2**63) - 1),
    st.floats(),
    text,
    st.binary(max_size=30),
    st.datetimes(timezones=st.one_of(st.none(), st.just(timezone.utc))),
    st.timedeltas(),
    st.decimals(),
    st.uuids(),
    st.builds(PurePosixPath, text),
    st.builds(ReprRaises),
    st.builds(Opaque, st.integers()),
    st.builds(KeyError, text),
    st.sampled_from([Decimal("NaN"), float("inf"), b"\xff\xfe"]),
)
keys = st.one_of(text, st.integers(), st.integers(2**64, 2**70), st.none(), st.floats(), st.tuples(st.integers()))
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(keys, children, max_size=4),
        st.tuples(children),
        st.sets(st.one_of(st.integers(), st.text(max_size=3)), max_size=4),
    ),
    max_leaves=15,
)
field_names = st.one_of(text, st.sampled_from(["time", "level", "signal", "message", "zlog_truncated", "error"]))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fields=st.dictionaries(field_names, values, max_size=6), limit=st.sampled_from([512, 2048, 16384]))
def test_any_field_values_give_exactly_one_valid_line_and_emit_never_raises(fields: dict[str, Any], limit: int) -> None:
    router = zlog.Router()
    out = io.BytesIO()
    router.route("*", zlog.JSONSink(out, max_line_bytes=limit))
    router.emit(zlog.Signal("SIG", level="info"), "message", **fields)
    assert router.sink_errors() == {"json": 0}
    data = out.getvalue()
    assert data.endswith(b"\n") and data.count(b"\n") == 1
    assert len(data) <= limit
    obj = strict_loads(data)
    assert list(obj)[:3] == ["time", "level", "signal"]
    assert obj["signal"] == "SIG"


@pytest.mark.parametrize("ascii_only", [False, True])
def test_a_10_mb_field_of_invalid_utf8_is_cut_without_decoding_it_all(ascii_only: bool) -> None:
    import tracemalloc

    stream: Any = io.TextIOWrapper(io.BytesIO(), encoding="ascii") if ascii_only else io.BytesIO()
    sink = zlog.JSONSink(stream)
    blob = b"\xff" * 10_000_000
    tracemalloc.start()
    try:
        sink.handle(zlog.Event("UPLOAD", "big", {"blob": blob}))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8_000_000  # the 40 MB escaped text of the whole value is never built
    stream.flush()
    raw = stream.buffer.getvalue() if ascii_only else stream.getvalue()
    line = json.loads(raw)
    assert len(raw) <= 16384 and line["zlog_truncated"]["truncated"] == ["blob"]
    assert line["blob"].startswith("\\xff\\xff") and line["blob"].endswith("...[truncated]")
