"""RotatingFileSink when things go wrong: failed renames and writes, forks, exit, kills and threads."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from rotating_helpers import HEADER, chain, ev, ids, raising, records

from zlog import Router, SinkClosedError
from zlog.sinks.rotating import RotatingFileSink, RotationError
from zlog.testing import CapturedEvents


def test_a_rename_that_fails_is_reported_through_the_router_and_no_line_is_lost(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    blocker = tmp_path / "app.log.1"
    blocker.mkdir()  # a real failure, even for root: a file cannot replace a non-empty directory
    (blocker / "x").touch()
    sink = RotatingFileSink(log, max_bytes=2048, backups=1, retry_interval=0.5)
    router = Router(report_interval=0)
    reports = CapturedEvents(name="reports")
    router.route("ZLOG_*", reports)
    router.route("JOB_*", sink)
    for i in range(40):
        router.emit("JOB_DONE", "done", i=i, pad="x" * 60)
    [report] = reports
    assert isinstance(report.fields["error"], RotationError) and report.fields["failed_signal"] == "JOB_DONE"
    assert "could not rotate" in str(report.fields["error"]) and router.sink_errors()["file"] == 1
    assert ids([log]) == list(range(40))  # the line that failed to rotate and the ones after it: all there
    assert log.stat().st_size > 2048 and sink.stats()["rotation_failures"] == 1  # one try per retry_interval
    (blocker / "x").unlink()
    blocker.rmdir()
    time.sleep(0.6)  # past retry_interval: the next line tries again
    router.emit("JOB_DONE", "done", i=40, pad="x")
    router.close()
    assert sink.stats()["rotations"] == 1 and ids(chain(log)) == list(range(41))


@pytest.mark.parametrize("buffered", [False, True])
def test_an_os_replace_that_fails_once_is_retried_after_retry_interval(
    tmp_path: Path, buffered: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = os.replace
    calls: list[str] = []

    def flaky(src: Any, dst: Any) -> None:  # the rename of app.log failing once, as on a read-only file system
        if str(dst).endswith("app.log.1"):
            calls.append(str(dst))
            if len(calls) == 1:
                raise OSError(30, "Read-only file system")
        real(src, dst)

    monkeypatch.setattr(os, "replace", flaky)
    log = tmp_path / "app.log"
    sink = RotatingFileSink(log, max_bytes=2048, backups=100, retry_interval=0.2, buffered=buffered)
    raised = raising(sink, 200, RotationError, pause={30: 0.3})  # then past retry_interval: the next try rotates
    sink.close()
    [(at, error)] = raised.items()
    assert "Read-only file system" in str(error) and "past max_bytes=2048" in str(error)
    assert len(raised) == 1 and sink.stats()["rotation_failures"] == 1 and sink.stats()["rotations"] > 5
    assert ids(chain(log)) == list(range(200))
    first = chain(log)[0]  # the file that could not rotate grew past max_bytes until the retry was due
    assert at < 20 and records(first)[-1]["i"] == 30 and first.stat().st_size > 2048


def test_when_the_new_file_cannot_be_created_the_old_one_is_put_back_and_written_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "app.log"
    sink = RotatingFileSink(log, max_bytes=2048, backups=3)
    real = os.open
    armed = [True]

    def open_once_failing(path: Any, flags: int, mode: int = 0o777) -> int:  # as when out of descriptors
        if armed[0] and str(path) == str(log):
            armed[0] = False
            raise OSError(24, "Too many open files")
        return real(path, flags, mode)

    monkeypatch.setattr(os, "open", open_once_failing)
    raised = raising(sink, 30, RotationError)
    sink.close()
    assert len(raised) == 1 and "Too many open files" in str(*raised.values()) and not armed[0]
    assert chain(log) == [log] and ids([log]) == list(range(30))  # renamed back: no rotation happened


WRITE_FAILS = """
import errno, json, resource, signal, sys
from zlog import Router
from zlog.sinks.rotating import RotatingFileSink
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # past the limit write() fails with EFBIG instead of killing us
buffered, retry = sys.argv[2] != "direct", float(sys.argv[3])
sink = RotatingFileSink(sys.argv[1], max_bytes=1 << 24, buffered=buffered, retry_interval=retry)
resource.setrlimit(resource.RLIMIT_FSIZE, (20000, 20000))  # files cannot grow past 20000 bytes
router = Router()
router.route("JOB_*", sink)
for i in range(10000):
    router.emit("JOB_DONE", "done", i=i, pad="x" * 60)
before_close = sink.stats()["dropped"]
try:
    sink.close()
    closed = 0
except OSError as exc:
    closed = exc.errno
print(json.dumps({"errors": router.sink_errors().get("file", 0), "closed": closed, "stats": sink.stats(),
                  "dropped": router.dropped().get("file", 0), "efbig": errno.EFBIG,
                  "before_close": before_close}))
"""


@pytest.mark.parametrize(("mode", "retry"), [("direct", 3600), ("buffered", 3600), ("buffered", 0)])
def test_a_write_that_fails_leaves_only_whole_lines_and_every_lost_line_is_reported(
    tmp_path: Path, mode: str, retry: float
) -> None:
    log = tmp_path / "app.log"
    done = subprocess.run(
        [sys.executable, "-c", WRITE_FAILS, str(log), mode, str(retry)], capture_output=True, timeout=120, text=True
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    data = log.read_bytes()
    written = ids([log])  # every line parses
    assert written == list(range(len(written)))
    if mode == "direct":  # cut back to the last whole line; each lost line one error, counted by the router
        assert data.endswith(b"\n") and 19000 < len(data) <= 20000
        assert result["errors"] == 10000 - len(written) and result["closed"] == 0
    else:  # the first 64 KiB chunk could not be written: its partial write was cut back to nothing; the
        # lines were kept (at most 1 MiB of them), then dropped and reported, never silently
        assert data == b"" and result["dropped"] == result["stats"]["dropped"] == 10000
        assert 0 < result["before_close"] < 10000  # the buffer did not grow without bound meanwhile
        assert result["closed"] == result["efbig"]  # close could not write the rest either, and said so
        assert result["errors"] == 1 if retry else result["errors"] > 1000  # one error per try


def in_child(body: Callable[[], bool]) -> int:
    """Fork; run ``body()`` in the child (exit 0 if it returns True, 1 if False, 2 if it raises); its exit code."""
    pid = os.fork()
    if pid == 0:
        try:
            code = 0 if body() is True else 1
        except BaseException:
            code = 2
        os._exit(code)
    deadline = time.monotonic() + 60
    while not (done := os.waitpid(pid, os.WNOHANG))[0]:
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            pytest.fail("the forked child hung")
        time.sleep(0.01)
    return os.waitstatus_to_exitcode(done[1])


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_refuses_events_and_never_writes_or_rotates_the_parents_file(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    sink = RotatingFileSink(log, buffered=True, max_bytes=2048)
    sink.handle(ev(0))  # still in the parent's buffer at the fork

    def child() -> bool:
        with pytest.raises(SinkClosedError, match="belongs to the process that opened it"):
            sink.handle(ev(1))
        return sink.flush(timeout=5) is True and sink.close(timeout=5) is True

    assert in_child(child) == 0
    for i in range(2, 40):  # the parent goes on: its file is still open, and it rotates as before
        sink.handle(ev(i))
    sink.close()
    assert ids(chain(log)) == [0, *range(2, 40)]  # the buffered line once, nothing from the child
    assert sink.stats()["rotations"] > 0 and {r["pid"] for p in chain(log) for r in records(p)[:1]} == {os.getpid()}


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_with_pid_in_the_path_a_forked_child_writes_a_file_of_its_own(tmp_path: Path) -> None:
    sink = RotatingFileSink(tmp_path / "app.{pid}.log", buffered=True, max_bytes=2048, backups=50)
    parent_log = tmp_path / f"app.{os.getpid()}.log"
    assert sink.path == str(parent_log) and parent_log.exists()
    sink.handle(ev(0))  # buffered in the parent at the fork: the child must not write it
    read, write = os.pipe()

    def child() -> bool:
        for i in range(100, 150):  # enough to rotate the child's own file
            sink.handle(ev(i))
        os.write(write, f"{os.getpid()} {sink.path}".encode())
        return sink.close(timeout=5)

    assert in_child(child) == 0
    pid, child_path = os.read(read, 4096).decode().split(" ", 1)
    os.close(read)
    os.close(write)
    sink.handle(ev(1))
    sink.close()
    child_log = tmp_path / f"app.{pid}.log"
    assert child_path == str(child_log) and len(chain(child_log)) > 1
    assert ids(chain(child_log)) == list(range(100, 150))
    assert {records(p)[0]["pid"] for p in chain(child_log)} == {int(pid)}
    assert ids(chain(parent_log)) == [0, 1] and chain(parent_log) == [parent_log]  # not rotated by the child


EXITS = """
import os, sys
from zlog import Event
from zlog.sinks.rotating import RotatingFileSink
sink = RotatingFileSink(sys.argv[1], buffered=True)
for i in range(10):
    sink.handle(Event("JOB_DONE", "done", {"i": i}))
if sys.argv[2] == "_exit":
    os._exit(0)  # no interpreter exit: no drain
"""


def test_buffered_lines_are_written_at_interpreter_exit(tmp_path: Path) -> None:
    for how, expected in (("exit", list(range(10))), ("_exit", [])):
        log = tmp_path / f"{how}.log"
        done = subprocess.run([sys.executable, "-c", EXITS, str(log), how], capture_output=True, timeout=60)
        assert done.returncode == 0 and done.stderr == b"", done.stderr
        assert ids([log]) == expected, how  # drained at exit; still in the buffer (so lost) without an exit


CRASHES = """
import sys
from zlog import Event
from zlog.sinks.rotating import RotatingFileSink
sink = RotatingFileSink(sys.argv[1], max_bytes=2048, backups=100000)
print("writing", flush=True)
i = 0
while True:
    sink.handle(Event("JOB_DONE", "done", {"i": i, "pad": "x" * (i % 200)}))
    i += 1
"""


def test_a_process_killed_while_writing_and_rotating_leaves_whole_lines_none_lost_or_twice(tmp_path: Path) -> None:
    for round_ in range(5):
        log = tmp_path / str(round_) / "app.log"
        log.parent.mkdir()
        proc = subprocess.Popen([sys.executable, "-c", CRASHES, str(log)], stdout=subprocess.PIPE)
        assert proc.stdout is not None and proc.stdout.readline() == b"writing\n"
        time.sleep(0.1 + round_ * 0.07)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        proc.stdout.close()
        files = chain(log)
        written = ids(files)  # every line of every file parses: no partial line
        assert len(files) > 5 and written == list(range(len(written)))
        assert all(p.read_bytes().endswith(b"\n") for p in files if p.stat().st_size)
        assert all(records(p)[0]["signal"] == HEADER for p in files if p.stat().st_size)


def test_threads_writing_at_once_through_rotations_lose_and_repeat_no_line(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    sink = RotatingFileSink(log, max_bytes=65536, backups=100)
    router = Router()
    router.route("JOB_*", sink)

    def work(offset: int) -> None:
        for i in range(offset, offset + 5000):
            router.emit("JOB_DONE", "done", i=i, pad="x" * 40)

    threads = [threading.Thread(target=work, args=(n * 5000,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    router.close()
    assert sorted(ids(chain(log))) == list(range(20000)) and sink.stats()["rotations"] > 10
    assert router.sink_errors().get("file", 0) == 0
