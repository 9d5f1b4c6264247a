"""JSONSink writes: one write per line, flushing, closing, exit, truncation, failures and threads."""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from json_helpers import LIMIT, handle, lines_of

import zlog
from zlog.event import Event

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
def test_buffered_lines_reach_the_file_on_flush_and_close(tmp_path: Path, mode: str, encoding: str | None) -> None:
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
    assert sorted((o["t"], o["i"]) for o in lines) == [(t, i) for t in range(threads) for i in range(per_thread)]
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
