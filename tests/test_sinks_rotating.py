"""RotatingFileSink: JSONSink's lines in real files, size rotation, unique first lines, reopening, followers."""

from __future__ import annotations

import io
import json
import os
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from rotating_helpers import HEADER, ZLOG, chain, ev, fill, ids, raising, records

from zlog import Event, Router, SinkClosedError
from zlog.sinks.json import JSONSink
from zlog.sinks.rotating import RotatingFileSink


@pytest.mark.parametrize("profile", [None, "ecs", "otel"])
@pytest.mark.parametrize("buffered", [False, True])
def test_the_lines_are_byte_for_byte_the_lines_of_jsonsink(tmp_path: Path, buffered: bool, profile: str | None) -> None:
    events = [
        ev(1),
        Event("JOB_FAILED", "boom", {"error": ValueError("x"), "n": 2**70}, level="error"),
        Event("JOB_DONE", "long", {"blob": "y" * 5000}, time_ns=1),
        Event("A", "\u00e9\u20ac", {"k": None}),
    ]
    reference = io.BytesIO()
    plain = JSONSink(reference, max_line_bytes=1024, profile=profile)
    sink = RotatingFileSink(tmp_path / "app.log", buffered=buffered, max_line_bytes=1024, profile=profile)
    for event in events:
        plain.handle(event)
        sink.handle(event)
    assert sink.close() is True
    header, *lines = (tmp_path / "app.log").read_bytes().splitlines(keepends=True)
    assert lines == reference.getvalue().splitlines(keepends=True)
    assert b"zlog_truncated" in lines[2]  # max_line_bytes reached the rendering
    assert HEADER.encode() in header


@pytest.mark.parametrize(("backups", "buffered"), [(3, False), (3, True), (0, False)])
def test_rotation_shifts_the_files_and_keeps_at_most_backups_of_them(
    tmp_path: Path, backups: int, buffered: bool
) -> None:
    log = tmp_path / "app.log"
    sink = fill(log, 1000, max_bytes=4096, backups=backups, buffered=buffered)
    assert sink.stats()["rotations"] > 10
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app.log", *(f"app.log.{n}" for n in range(1, backups + 1))]
    kept = ids(chain(log))
    assert kept == list(range(1000 - len(kept), 1000))  # the newest lines, in order, each once
    headers = [records(p)[0] for p in chain(log)]  # each names its predecessor (None: it was deleted)
    assert [h["previous_file"] for h in headers] == ["app.log.1" if backups else None] * (backups + 1)
    assert [h["file_seq"] for h in headers] == list(range(headers[0]["file_seq"], headers[0]["file_seq"] + backups + 1))


@pytest.mark.parametrize("buffered", [False, True])
def test_the_first_lines_of_all_files_differ_and_are_header_events(tmp_path: Path, buffered: bool) -> None:
    log = tmp_path / "app.log"
    for _ in range(2):  # a second sink on the same path (after the first closed) starts new files too
        sink = RotatingFileSink(log, max_bytes=2048, backups=100, buffered=buffered)
        for _ in range(300):
            sink.handle(ev(0, pad=10))  # the same line everywhere: only the header tells the files apart
        sink.close()
    files = chain(log)
    assert len(files) > 20
    first = [p.read_bytes().split(b"\n", 1)[0] for p in files]
    assert len(set(first)) == len(first)
    headers = [json.loads(line) for line in first]
    assert all(h["signal"] == HEADER and h["level"] == "info" and h["pid"] == os.getpid() for h in headers)
    assert len({h["file_id"] for h in headers}) == len(headers)
    assert [sum(r["signal"] == HEADER for r in records(p)) for p in files] == [1] * len(files)  # one each, first


def test_files_stay_within_max_bytes_except_a_file_holding_one_oversized_line(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    sink = RotatingFileSink(log, max_bytes=4096, backups=1000, max_line_bytes=65536)
    sizes = [9000] + [50, 3000, 9000, 100, 4000, 20, 20, 5000, 1000, 1000, 1000, 1000, 1000, 1000] * 5
    for i, pad in enumerate(sizes):
        sink.handle(ev(i, pad=pad))
    sink.close()
    files = chain(log)
    assert ids(files) == list(range(len(sizes)))  # nothing lost, nothing twice, in order
    oversized = []
    for p in files:
        header, *lines = p.read_bytes().splitlines(keepends=True)
        assert json.loads(header)["signal"] == HEADER
        if p.stat().st_size > 4096:  # only the header and one line that fits in no file, not even a fresh one
            assert len(lines) == 1 and len(header) + len(lines[0]) > 4096, p
            oversized.append(json.loads(lines[0])["pad"].count("x"))
    assert sorted(oversized) == [4000] * 5 + [5000] * 5 + [9000] * 6  # the first one into the first file
    assert all(len(records(p)) > 1 for p in files)  # a fresh file holding only its header is never rotated away


def test_reopening_appends_to_a_file_and_keeps_its_first_line_only_an_empty_file_gets_a_header(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    fill(log, 1)
    first = log.read_bytes().split(b"\n", 1)[0]
    again = fill(log, 1, start=1, buffered=True)
    assert log.read_bytes().split(b"\n", 1)[0] == first  # same fingerprint: a shipper reads on where it was
    assert ids([log]) == [0, 1] and [r["signal"] for r in records(log)].count(HEADER) == 1
    assert again.stats()["file_seq"] == 0  # it started no file
    (tmp_path / "empty.log").touch()
    fill(tmp_path / "empty.log", 0)
    assert [r["signal"] for r in records(tmp_path / "empty.log")] == [HEADER]
    torn = tmp_path / "torn.log"  # a crash in the middle of a line: that line is ended, the new ones stay whole
    torn.write_bytes(b'{"signal":"A","message":"whole"}\n{"signal":"A","mess')
    fill(torn, 1, start=7)
    assert torn.read_bytes().splitlines()[:2] == [b'{"signal":"A","message":"whole"}', b'{"signal":"A","mess']
    assert json.loads(torn.read_bytes().splitlines()[2])["i"] == 7


def test_after_close_handle_refuses_and_counts_and_the_file_is_released(tmp_path: Path) -> None:
    sink = RotatingFileSink(tmp_path / "app.log", buffered=True)
    sink.handle(ev(0))
    assert sink.close(timeout=5) is True
    with pytest.raises(SinkClosedError, match="closed"):
        sink.handle(ev(1))
    assert sink.stats()["refused"] == 1 and sink.close() is True and sink.flush(timeout=1) is True
    assert ids([tmp_path / "app.log"]) == [0]
    if os.path.isdir("/proc/self/fd"):  # the descriptor itself is closed, not just marked
        assert str(tmp_path / "app.log") not in {
            os.path.realpath(f"/proc/self/fd/{fd}") for fd in os.listdir("/proc/self/fd")
        }


@pytest.mark.parametrize("buffered", [False, True])
def test_zlog_tail_follow_sees_every_line_exactly_once_while_100000_lines_rotate(
    tmp_path: Path, buffered: bool
) -> None:
    log = tmp_path / "app.log"
    sink = RotatingFileSink(log, max_bytes=1 << 20, backups=2, buffered=buffered)
    router = Router()
    router.route("JOB_*", sink)
    proc = subprocess.Popen(
        [ZLOG, "tail", "-f", str(log), "--format", "json", "--interval", "0.02"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    seen: list[bytes] = []
    stdout = proc.stdout
    assert stdout is not None
    reader = threading.Thread(target=lambda: seen.extend(iter(stdout.readline, b"")), daemon=True)
    reader.start()

    def caught_up(timeout: float = 60) -> None:
        expected = sink.stats()["lines_written"] + sink.stats()["file_seq"]  # the events and the headers
        deadline = time.monotonic() + timeout
        while len(seen) < expected:
            assert time.monotonic() < deadline and proc.poll() is None, (len(seen), expected, proc.stderr)
            time.sleep(0.01)

    try:
        # Like `tail -F`, the follower sees a rotated file only if it opens it before the next rotation moves
        # it on, so the writer never gets a whole file ahead: 2,000 lines (~250 KB) at a time, 1 MiB files.
        for batch in range(50):
            for i in range(batch * 2000, (batch + 1) * 2000):
                router.emit("JOB_DONE", "done", i=i, pad="x" * 80)
            sink.flush()
            caught_up()
        time.sleep(0.3)  # a few more polls: anything seen twice would show up now
    finally:
        proc.terminate()
        proc.wait(30)
        reader.join(30)
    router.close()
    lines = [json.loads(line) for line in seen]
    assert [x["i"] for x in lines if x["signal"] == "JOB_DONE"] == list(range(100000))  # each once, in order
    headers = [x for x in lines if x["signal"] == HEADER]  # read as ordinary events
    assert len(headers) == sink.stats()["file_seq"] == sink.stats()["rotations"] + 1 and len(headers) > 10
    assert len(lines) == 100000 + len(headers)


def test_zlog_stats_reads_the_headers_as_ordinary_events(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from zlog.cli import main

    log = tmp_path / "app.log"
    sink = fill(log, 50, max_bytes=2048, backups=10)
    assert main(["stats", "--json", *map(str, chain(log))]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["skipped_lines"] == 0 and summary["signals"]["JOB_DONE"]["count"] == 50
    assert summary["signals"][HEADER]["count"] == len(chain(log)) == sink.stats()["file_seq"]


def test_stats_report_the_current_file_bytes_lines_and_rotations(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    sink = RotatingFileSink(log, max_bytes=2048, backups=1, buffered=True, name="worker-file")
    assert raising(sink, 40, Exception) == {}
    stats = sink.stats()
    on_disk = sum(p.stat().st_size for p in chain(log))
    assert stats["name"] == "worker-file" and stats["file"] == str(log) and stats["rotations"] >= 2
    assert stats["file_bytes"] == log.stat().st_size + stats["pending_bytes"] and stats["pending_bytes"] > 0
    assert stats["lines_written"] < 40 and stats["bytes_written"] >= on_disk  # the rotated-away files count too
    sink.close()
    stats = sink.stats()
    assert stats["lines_written"] == 40 and stats["pending_bytes"] == 0 and stats["closed"] is True
    assert stats["rotation_failures"] == 0 and stats["dropped"] == 0 and stats["file_seq"] == stats["rotations"] + 1


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"max_bytes": 100}, ValueError, "max_bytes must be an int of at least 1024"),
        ({"max_bytes": True}, ValueError, "max_bytes"),
        ({"backups": -1}, ValueError, "backups must be an int >= 0"),
        ({"backups": 1.5}, ValueError, "backups"),
        ({"retry_interval": float("nan")}, ValueError, "retry_interval must be a finite number of seconds"),
        ({"retry_interval": -1}, ValueError, "retry_interval"),
        ({"max_line_bytes": 10}, ValueError, "max_line_bytes"),
        ({"profile": "splunk"}, ValueError, "splunk"),
        ({"name": ""}, TypeError, "sink name"),
    ],
)
def test_bad_arguments_are_clear_errors_and_create_no_file(
    tmp_path: Path, kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        RotatingFileSink(tmp_path / "app.log", **kwargs)
    assert list(tmp_path.iterdir()) == []


def test_a_bad_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="path must be"):
        RotatingFileSink(42)  # type: ignore[arg-type]
    with pytest.raises(FileNotFoundError, match="missing"):
        RotatingFileSink(tmp_path / "missing" / "app.log")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)  # opening it for writing would block until a reader came
    for special in (tmp_path, fifo, Path(os.devnull)):
        with pytest.raises(ValueError, match="is not a regular file"):
            RotatingFileSink(special)
    assert Path(os.devnull).exists() and not Path(os.devnull + ".1").exists()


def test_a_relative_path_keeps_rotating_in_its_directory_after_a_chdir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    sink = RotatingFileSink("app.log", max_bytes=2048)
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    raising(sink, 40, Exception)
    sink.close()
    assert ids(chain(tmp_path / "app.log")) == list(range(40)) and list((tmp_path / "elsewhere").iterdir()) == []
