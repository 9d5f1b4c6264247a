"""JSONSink (zlog/sinks/json.py): the line format, streams, buffering, threads and failure isolation."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Iterator
from datetime import timezone
from decimal import Decimal
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import zlog
from zlog.event import Event

T0 = 1_795_357_815_000_000_000  # 2026-11-22T14:30:15Z
LIMIT = 16384


def strict_loads(line: bytes | str) -> Any:
    """json.loads that rejects NaN/Infinity, as Go's encoding/json and serde_json do."""

    def reject(constant: str) -> Any:
        raise ValueError(f"non-standard JSON constant {constant}")

    return json.loads(line, parse_constant=reject)


def lines_of(data: bytes | str) -> list[dict[str, Any]]:
    """Every line parsed strictly; the data must end with a newline."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    assert data.endswith(b"\n"), data[-200:]
    return [strict_loads(line) for line in data.split(b"\n")[:-1]]


def handle(sink: zlog.JSONSink, signal: str = "JOB_QUEUED", message: str = "msg", **kwargs: Any) -> None:
    fields = kwargs.pop("fields", {})
    sink.handle(Event(signal, message, fields, time_ns=kwargs.pop("time_ns", T0), **kwargs))


def one_line(fields: dict[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
    out = io.BytesIO()
    handle(zlog.JSONSink(out), fields=fields or {}, **kwargs)
    [obj] = lines_of(out.getvalue())
    return obj


@pytest.fixture
def router() -> Iterator[zlog.Router]:
    r = zlog.Router()
    yield r
    r.reset()


# -- the line ----------------------------------------------------------------------------------


def test_line_matches_the_documented_example_byte_for_byte() -> None:
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


# -- one write per line, flushing, closing -----------------------------------------------------


class RecordingBytes(io.BytesIO):
    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.flushes = 0

    def write(self, data: Any) -> int:
        self.writes.append(bytes(data))
        return super().write(data)

    def flush(self) -> None:
        self.flushes += 1
        super().flush()


class RecordingText(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.writes: list[str] = []
        self.flushes = 0

    def write(self, data: str) -> int:
        self.writes.append(data)
        return super().write(data)

    def flush(self) -> None:
        self.flushes += 1
        super().flush()


@pytest.mark.parametrize("stream_type", [RecordingBytes, RecordingText])
@pytest.mark.parametrize("buffered", [False, True])
def test_each_line_is_one_write_call_including_the_newline(stream_type: Any, buffered: bool) -> None:
    stream = stream_type()
    sink = zlog.JSONSink(stream, buffered=buffered)
    handle(sink, fields={"a": 1})
    handle(sink, fields={"big": "x" * 100_000})  # truncated to fit, still one write
    assert len(stream.writes) == 2
    for chunk in stream.writes:
        assert chunk.endswith(b"\n" if isinstance(chunk, bytes) else "\n")
        assert chunk.count(b"\n" if isinstance(chunk, bytes) else "\n") == 1
    assert len(stream.writes[1].encode() if isinstance(stream.writes[1], str) else stream.writes[1]) <= LIMIT
    sink.close()


@pytest.mark.parametrize("stream_type", [RecordingBytes, RecordingText])
def test_unbuffered_sink_flushes_after_every_line(stream_type: Any) -> None:
    stream = stream_type()
    sink = zlog.JSONSink(stream)
    for n in range(1, 4):
        handle(sink)
        assert stream.flushes == n


@pytest.mark.parametrize("stream_type", [RecordingBytes, RecordingText])
def test_buffered_sink_flushes_only_when_asked(stream_type: Any) -> None:
    stream = stream_type()
    sink = zlog.JSONSink(stream, buffered=True)
    for _ in range(3):
        handle(sink)
    assert stream.flushes == 0
    sink.flush()
    assert stream.flushes == 1
    sink.close()
    assert stream.flushes == 2


@pytest.mark.parametrize(("mode", "encoding"), [("wb", None), ("w", "utf-8")])
def test_unbuffered_lines_reach_the_file_at_once(tmp_path: Path, mode: str, encoding: str | None) -> None:
    path = tmp_path / "log.jsonl"
    with open(path, mode, encoding=encoding) as stream:
        sink = zlog.JSONSink(stream)
        handle(sink, fields={"n": 1})
        assert [o["n"] for o in lines_of(path.read_bytes())] == [1]
        handle(sink, fields={"n": 2})
        assert [o["n"] for o in lines_of(path.read_bytes())] == [1, 2]


@pytest.mark.parametrize(("mode", "encoding"), [("wb", None), ("w", "utf-8")])
def test_buffered_lines_reach_the_file_on_flush_and_close(
    tmp_path: Path, mode: str, encoding: str | None
) -> None:
    path = tmp_path / "log.jsonl"
    with open(path, mode, encoding=encoding) as stream:
        sink = zlog.JSONSink(stream, buffered=True)
        handle(sink, fields={"n": 1})
        assert path.read_bytes() == b""
        sink.flush()
        assert [o["n"] for o in lines_of(path.read_bytes())] == [1]
        handle(sink, fields={"n": 2})
        assert len(lines_of(path.read_bytes())) == 1
        sink.close()
        assert [o["n"] for o in lines_of(path.read_bytes())] == [1, 2]


def test_close_never_closes_the_users_stream(tmp_path: Path) -> None:
    for stream in (io.BytesIO(), io.StringIO(), open(tmp_path / "f", "wb")):  # noqa: SIM115
        sink = zlog.JSONSink(stream, buffered=True)
        handle(sink)
        sink.close()
        assert not stream.closed
        stream.close()


def test_router_close_does_not_close_the_stream(router: zlog.Router) -> None:
    stream = io.BytesIO()
    router.route("*", zlog.JSONSink(stream, buffered=True))
    router.emit("SIG", "m")
    router.close()
    assert not stream.closed
    assert len(lines_of(stream.getvalue())) == 1


CHILD = textwrap.dedent(
    """
    import atexit, os, sys
    import zlog

    path, count, hard = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "hard"
    if hard:
        # registered before the sink's hook, so it runs after it: ending here skips the
        # interpreter's finalization, which would otherwise close (and flush) the file itself
        atexit.register(os._exit, 0)
    stream = open(path, "wb")
    router = zlog.Router()
    router.route("*", zlog.JSONSink(stream, buffered=True))
    for i in range(count):
        router.emit("JOB", "line", i=i, pad="p" * 50)
    # no flush, no close
    """
)


@pytest.mark.parametrize("how", ["normal", "hard"])
def test_buffered_sink_loses_nothing_at_normal_interpreter_exit(tmp_path: Path, how: str) -> None:
    path = tmp_path / "child.jsonl"
    count = 5000
    subprocess.run([sys.executable, "-c", CHILD, str(path), str(count), how], check=True, timeout=60)
    assert [o["i"] for o in lines_of(path.read_bytes())] == list(range(count))


# -- truncation through the sink ---------------------------------------------------------------


def test_line_over_max_line_bytes_is_shortened_and_marked() -> None:
    fields = {"job_id": "j1", "payload": "x" * 5000}
    full, short = io.BytesIO(), io.BytesIO()
    handle(zlog.JSONSink(full), fields=fields)
    handle(zlog.JSONSink(short, max_line_bytes=1024), fields=fields)
    assert len(short.getvalue()) <= 1024
    [obj] = lines_of(short.getvalue())
    assert obj["job_id"] == "j1"
    assert obj["zlog_truncated"] == {
        "original_bytes": len(full.getvalue()),
        "truncated": ["payload"],
        "dropped": [],
    }


def test_line_of_exactly_max_line_bytes_is_left_alone() -> None:
    probe = io.BytesIO()
    handle(zlog.JSONSink(probe), fields={"pad": ""})
    pad = "x" * (1000 - len(probe.getvalue()))
    for extra, truncated in ((pad, False), (pad + "x", True)):
        out = io.BytesIO()
        handle(zlog.JSONSink(out, max_line_bytes=1000), fields={"pad": extra})
        assert len(out.getvalue()) <= 1000
        [obj] = lines_of(out.getvalue())
        assert ("zlog_truncated" in obj) is truncated


def test_slow_path_lines_are_truncated_too() -> None:
    out = io.BytesIO()
    handle(zlog.JSONSink(out, max_line_bytes=512), fields={"huge": 2**70, "s": "\udc80" * 2000, "time": 1})
    assert len(out.getvalue()) <= 512
    [obj] = lines_of(out.getvalue())
    assert obj["huge"] == "1180591620717411303424"
    assert obj["fields.time"] == 1
    assert obj["zlog_truncated"]["truncated"] == ["s"]


# -- failures ----------------------------------------------------------------------------------


def test_a_raising_sink_does_not_affect_the_json_sink(router: zlog.Router) -> None:
    out = io.BytesIO()

    @zlog.sink("broken")
    def broken(event: Event) -> None:
        raise RuntimeError("sink down")

    router.route("*", broken)
    router.route("*", zlog.JSONSink(out))
    for i in range(100):
        router.emit("JOB_STEP", "step", i=i)
    lines = lines_of(out.getvalue())
    assert [o["i"] for o in lines if o["signal"] == "JOB_STEP"] == list(range(100))
    assert {o["signal"] for o in lines} == {"JOB_STEP", "ZLOG_SINK_ERROR"}  # the report is a line too
    assert router.sink_errors() == {"broken": 100, "json": 0}


def test_a_failing_stream_is_reported_and_emit_does_not_raise(router: zlog.Router) -> None:
    stream = io.BytesIO()
    stream.close()
    router.route("*", zlog.JSONSink(stream))
    seen: list[Event] = []
    router.route("ZLOG_*", seen.append)  # the report about the failure lands here
    router.emit("SIG", "m")
    assert router.sink_errors()["json"] == 1
    assert [e.signal for e in seen] == ["ZLOG_SINK_ERROR"]


class PartialRaw(io.RawIOBase):
    """A raw stream that takes at most 7 bytes per write call."""

    def __init__(self) -> None:
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        chunk = bytes(b[:7])
        self.data += chunk
        return len(chunk)


def test_partial_writes_of_a_raw_stream_are_completed() -> None:
    stream = PartialRaw()
    sink = zlog.JSONSink(stream)  # type: ignore[arg-type]
    handle(sink, fields={"x": "y" * 100})
    handle(sink, fields={"x": "z"})
    assert [o["x"] for o in lines_of(bytes(stream.data))] == ["y" * 100, "z"]


class WouldBlockRaw(io.RawIOBase):
    """A non-blocking raw stream that is full: write returns None."""

    def __init__(self) -> None:
        self.calls = 0

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int | None:
        self.calls += 1
        if self.calls > 1:
            raise AssertionError("the sink kept calling write on a full stream")
        return None


def test_a_full_non_blocking_raw_stream_is_an_error_not_a_busy_loop(router: zlog.Router) -> None:
    stream = WouldBlockRaw()
    router.route("*", zlog.JSONSink(stream))  # type: ignore[arg-type]
    seen: list[Event] = []
    router.route("ZLOG_*", seen.append)
    router.emit("SIG", "m")
    assert stream.calls == 1
    assert router.sink_errors()["json"] == 1
    assert "BlockingIOError" in seen[0].message


# -- threads -----------------------------------------------------------------------------------


def _emit_from_threads(router: zlog.Router, threads: int, per_thread: int, **extra: Any) -> None:
    barrier = threading.Barrier(threads)

    def work(t: int) -> None:
        barrier.wait()
        for i in range(per_thread):
            router.emit("JOB", "m", t=t, i=i, **extra)

    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()


def _check_all_lines(data: bytes, threads: int, per_thread: int) -> None:
    lines = lines_of(data)
    assert len(lines) == threads * per_thread
    assert sorted((o["t"], o["i"]) for o in lines) == [
        (t, i) for t in range(threads) for i in range(per_thread)
    ]
    for t in range(threads):  # each thread's lines keep their order
        assert [o["i"] for o in lines if o["t"] == t] == list(range(per_thread))


@pytest.mark.parametrize(("mode", "encoding"), [("wb", None), ("w", "utf-8")])
def test_8_threads_x_10000_emits_give_80000_valid_lines(
    router: zlog.Router, tmp_path: Path, mode: str, encoding: str | None
) -> None:
    path = tmp_path / "threads.jsonl"
    with open(path, mode, encoding=encoding) as stream:
        router.route("*", zlog.JSONSink(stream))
        _emit_from_threads(router, 8, 10_000)
    _check_all_lines(path.read_bytes(), 8, 10_000)
    assert router.sink_errors() == {"json": 0}


@pytest.mark.parametrize(("mode", "encoding"), [("wb", None), ("w", "utf-8")])
def test_long_lines_from_threads_never_interleave_in_a_buffered_sink(
    router: zlog.Router, tmp_path: Path, mode: str, encoding: str | None
) -> None:
    path = tmp_path / "long.jsonl"
    with open(path, mode, encoding=encoding) as stream:  # lines larger than the 8 KiB io buffer
        router.route("*", zlog.JSONSink(stream, buffered=True, max_line_bytes=65536))
        _emit_from_threads(router, 8, 200, pad="é" * 6000)
    _check_all_lines(path.read_bytes(), 8, 200)


class SlowStream:
    """A stream-like object that is not thread-safe: each write is appended in two steps."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.parts: list[Any] = []

    def write(self, data: Any) -> int:
        half = len(data) // 2
        self.parts.append(data[:half])
        time.sleep(0)  # let another thread run between the halves
        self.parts.append(data[half:])
        return len(data)

    def flush(self) -> None:
        pass


@pytest.mark.parametrize("mode", ["wb", "w"])
def test_sink_serializes_writes_to_streams_that_are_not_thread_safe(router: zlog.Router, mode: str) -> None:
    stream = SlowStream(mode)
    router.route("*", zlog.JSONSink(stream))  # type: ignore[arg-type]
    _emit_from_threads(router, 8, 300)
    joined = b"".join(stream.parts) if mode == "wb" else "".join(stream.parts).encode("utf-8")
    _check_all_lines(joined, 8, 300)


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
keys = st.one_of(
    text, st.integers(), st.integers(2**64, 2**70), st.none(), st.floats(), st.tuples(st.integers())
)
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
field_names = st.one_of(
    text, st.sampled_from(["time", "level", "signal", "message", "zlog_truncated", "error"])
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fields=st.dictionaries(field_names, values, max_size=6), limit=st.sampled_from([512, 2048, 16384]))
def test_any_field_values_give_exactly_one_valid_line_and_emit_never_raises(
    fields: dict[str, Any], limit: int
) -> None:
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
