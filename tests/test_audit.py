"""zlog.audit.verify and ``zlog audit verify``: tampering is found, with the first bad record; a process killed
during rotation leaves a log that verifies and reopens."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from zlog import AuditSink, Router
from zlog.audit import verify
from zlog.cli import main


@pytest.fixture
def log(tmp_path: Path) -> Path:
    path = tmp_path / "audit.log"
    sink = AuditSink(path)
    router = Router()
    router.route_all(sink)
    for i in range(6):
        router.emit("PAYMENT_PROCESSED", "Payment processed", payment_id=f"p{i}", amount_cents=1000 + i)
    sink.close()
    return path


def lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_bytes().splitlines()]


def append(path: Path, n: int) -> None:
    """Reopen the log (rotating at 2 KiB), write ``n`` records and close it."""
    sink = AuditSink(path, max_bytes=2048)
    router = Router()
    router.route_all(sink)
    for i in range(n):
        router.emit("PAYMENT_PROCESSED", "Payment processed", payment_id=f"again{i}")
    sink.close()


def rotated_log(tmp_path: Path, n: int = 40) -> Path:
    """A log of ``n`` records rotated at 2 KiB: about five segments and a live file."""
    path = tmp_path / "audit.log"
    sink = AuditSink(path, max_bytes=2048)
    router = Router()
    router.route_all(sink)
    for i in range(n):
        router.emit("PAYMENT_PROCESSED", "Payment processed", payment_id=f"p{i}", amount_cents=1000 + i)
    sink.close()
    return path


def segments(path: Path) -> list[Path]:
    return sorted(path.parent.glob(path.name + ".0*"))


def crash_after_rotation_rename(path: Path) -> Path:
    """What a crash between rotation's rename and create leaves: PATH renamed to the next segment, no PATH."""
    target = path.with_name(f"{path.name}.{len(segments(path)) + 1:05d}")
    path.rename(target)
    return target


def test_an_untouched_log_is_intact(log: Path) -> None:
    result = verify(log)
    assert result.ok and result.records == 6 and result.torn_tail_bytes == 0


def test_editing_a_field_is_caught_at_that_record(log: Path) -> None:
    data = log.read_bytes().replace(b'"amount_cents":1003', b'"amount_cents":9003')
    log.write_bytes(data)
    result = verify(log)
    assert not result.ok and result.bad_seq == 3 and "hash" in result.reason


def test_editing_the_last_record_is_caught(log: Path) -> None:
    log.write_bytes(log.read_bytes().replace(b'"amount_cents":1005', b'"amount_cents":1'))
    assert verify(log).bad_seq == 5


def test_deleting_a_line_is_caught(log: Path) -> None:
    kept = lines(log)
    del kept[2]
    log.write_bytes(b"".join(kept))
    result = verify(log)
    assert not result.ok and result.bad_seq == 2 and "deleted" in result.reason


def test_swapping_two_lines_is_caught(log: Path) -> None:
    kept = lines(log)
    kept[1], kept[2] = kept[2], kept[1]
    log.write_bytes(b"".join(kept))
    result = verify(log)
    assert not result.ok and result.bad_seq == 1


def test_inserting_a_forged_record_is_caught(log: Path) -> None:
    kept = lines(log)
    forged = json.loads(kept[2])
    forged["fields"]["amount_cents"] = 1
    kept.insert(3, json.dumps(forged, separators=(",", ":")).encode() + b"\n")
    log.write_bytes(b"".join(kept))
    assert verify(log).bad_seq == 3


def test_deleting_the_first_lines_is_caught(log: Path) -> None:
    log.write_bytes(b"".join(lines(log)[2:]))
    result = verify(log)
    assert not result.ok and result.bad_seq == 0


def test_cli_exit_codes_and_messages(log: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "verify", str(log)]) == 0
    assert "intact, 6 records" in capsys.readouterr().out
    kept = lines(log)
    del kept[4]
    log.write_bytes(b"".join(kept))
    assert main(["audit", "verify", str(log)]) == 1
    out = capsys.readouterr().out
    assert "TAMPERED at seq 4" in out
    assert main(["audit", "verify", str(tmp_path / "missing.log")]) == 2
    assert "no audit log" in capsys.readouterr().err
    assert main(["audit", "verify", str(log), "--key-env", "ZLOG_TEST_UNSET_VAR"]) == 2


def test_cli_verifies_an_hmac_chain_with_a_key_file(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    sink = AuditSink(path, key=b"k3y")
    router = Router()
    router.route_all(sink)
    router.emit("A", "x")
    sink.close()
    key = tmp_path / "key"
    key.write_bytes(b"k3y\n")
    assert main(["audit", "verify", "--key-file", str(key), str(path)]) == 0
    assert main(["audit", "verify", str(path)]) == 1


def test_cli_module_usage_error_exits_2_with_usage_and_without_traceback() -> None:
    done = subprocess.run([sys.executable, "-m", "zlog.cli", "audit", "verify"], capture_output=True, text=True)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and "usage:" in done.stderr


def test_a_live_file_missing_after_a_crash_in_rotation_verifies_the_segments_and_says_so(tmp_path: Path) -> None:
    log = rotated_log(tmp_path)
    before = verify(log).records
    last = crash_after_rotation_rename(log)
    result = verify(log)
    assert result.ok and result.live_missing, result.summary()
    assert result.records == before  # every record is still there, in the segments
    assert result.files == [str(p) for p in segments(log)] and result.files[-1] == str(last)
    summary = result.summary()
    assert "intact" in summary and f"{log} is missing" in summary and "crash during rotation" in summary


def test_cli_exits_0_and_says_the_live_file_is_missing_when_the_segments_are_intact(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = rotated_log(tmp_path)
    crash_after_rotation_rename(log)
    assert main(["audit", "verify", str(log)]) == 0
    out = capsys.readouterr().out
    assert "intact" in out and "is missing" in out


def test_tampering_in_a_segment_is_caught_when_the_live_file_is_missing(tmp_path: Path) -> None:
    log = rotated_log(tmp_path)
    crash_after_rotation_rename(log)
    first = segments(log)[0]
    first.write_bytes(first.read_bytes().replace(b'"amount_cents":1002', b'"amount_cents":9002'))
    result = verify(log)
    assert not result.ok and result.bad_seq == 2 and result.bad_file == str(first)


def test_a_torn_rotated_segment_reports_the_seq_and_line_of_the_torn_record(tmp_path: Path) -> None:
    log = rotated_log(tmp_path)
    second = segments(log)[1]
    kept = lines(second)
    torn_seq = json.loads(kept[-1])["seq"]
    second.write_bytes(b"".join(kept)[:-20])
    result = verify(log)
    assert not result.ok
    assert (result.bad_seq, result.bad_file, result.bad_line) == (torn_seq, str(second), len(kept))
    assert "without a newline" in result.reason


@pytest.mark.parametrize("live", ["missing", "empty"])
def test_a_torn_tail_of_the_last_segment_is_allowed_when_no_record_follows_it(tmp_path: Path, live: str) -> None:
    log = rotated_log(tmp_path)
    before = verify(log).records
    last = crash_after_rotation_rename(log)
    if live == "empty":  # the crash came after rotation created the new file, before its first record
        log.write_bytes(b"")
    kept = lines(last)
    last.write_bytes(b"".join(kept)[:-20])
    result = verify(log)
    assert result.ok, result.summary()
    assert result.records == before - 1
    assert result.torn_tail_bytes == len(kept[-1]) - 20 and result.torn_tail_file == str(last)
    assert result.live_missing == (live == "missing")


def test_cli_an_empty_key_file_is_a_usage_error_without_traceback(
    log: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = tmp_path / "key"
    key.write_bytes(b"\n")
    assert main(["audit", "verify", "--key-file", str(key), str(log)]) == 2
    assert "key file is empty" in capsys.readouterr().err


def test_cli_a_directory_is_a_clear_error_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "audit.log"
    folder.mkdir()
    assert main(["audit", "verify", str(folder)]) == 2
    assert f"cannot read {folder}" in capsys.readouterr().err


CRASHED = 17


def crash_child(log: Path, arm: Callable[[], None]) -> None:
    """In a forked child, ``arm()`` then write a log rotating at 2 KiB; fail unless the child died as armed."""
    pid = os.fork()
    if pid == 0:
        try:
            arm()
            sink = AuditSink(log, max_bytes=2048, fsync="always")
            router = Router()
            router.route_all(sink)
            for i in range(1000):
                router.emit("PAYMENT_PROCESSED", "Payment processed", payment_id=f"p{i}", amount_cents=100 + i)
        finally:
            os._exit(1)  # reached only when the crash point was never hit
    deadline = time.monotonic() + 30
    while not (done := os.waitpid(pid, os.WNOHANG))[0]:
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail("the child neither crashed nor finished")
        time.sleep(0.005)
    assert os.waitstatus_to_exitcode(done[1]) == CRASHED


def die_at(log: Path, point: str) -> Callable[[], None]:
    """Make ``os`` kill the process when rotation creates the new live file (``"create"``, after the rename),
    at the first write into it (``"write"``: the segment header), or halfway through that write (``"tear"``)."""

    def arm() -> None:
        real_open, real_write = os.open, os.write
        created: list[int] = []

        def open_(path: Any, flags: int, mode: int = 0o777, **kw: Any) -> int:
            if flags & os.O_EXCL and os.fspath(path) == str(log):
                if point == "create":
                    os._exit(CRASHED)
                created.append(real_open(path, flags, mode, **kw))
                return created[-1]
            return real_open(path, flags, mode, **kw)

        def write(fd: int, data: Any) -> int:
            if fd in created:
                if point == "tear":
                    real_write(fd, bytes(data)[: len(data) // 2])
                os._exit(CRASHED)
            return real_write(fd, data)

        os.open, os.write = open_, write

    return arm


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_process_killed_between_rotation_rename_and_create_leaves_an_intact_log_that_reopens(
    tmp_path: Path,
) -> None:
    log = tmp_path / "audit.log"
    crash_child(log, die_at(log, "create"))
    assert not log.exists()
    segs = segments(log)
    ids = [r["fields"]["payment_id"] for p in segs for r in records(p) if r["signal"] == "PAYMENT_PROCESSED"]
    assert ids == [f"p{i}" for i in range(len(ids))] and len(ids) > 5  # every completed emit is in a segment
    result = verify(log)
    assert result.ok and result.live_missing, result.summary()
    assert result.records == records(segs[-1])[-1]["seq"] + 1
    append(log, 1)
    header = records(log)[0]
    assert header["signal"] == "ZLOG_AUDIT_SEGMENT" and header["fields"]["previous_segment"] == segs[-1].name
    after = verify(log)
    assert after.ok and not after.live_missing and after.records == result.records + 2, after.summary()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_process_killed_after_rotation_created_the_file_leaves_it_empty_and_reopening_writes_the_header(
    tmp_path: Path,
) -> None:
    log = tmp_path / "audit.log"
    crash_child(log, die_at(log, "write"))
    assert log.read_bytes() == b""
    before = verify(log)
    assert before.ok and not before.live_missing, before.summary()
    append(log, 1)
    header, record = records(log)
    assert header["signal"] == "ZLOG_AUDIT_SEGMENT"
    assert header["fields"]["previous_segment"] == segments(log)[-1].name
    assert header["seq"] == before.records and record["signal"] == "PAYMENT_PROCESSED"
    assert verify(log).ok and verify(log).records == before.records + 2


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_process_killed_mid_header_write_reopens_with_the_header_then_the_recovery_record(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    crash_child(log, die_at(log, "tear"))
    torn = log.read_bytes()
    assert torn and b"\n" not in torn  # half a header
    before = verify(log)
    assert before.ok and before.torn_tail_bytes == len(torn), before.summary()
    append(log, 1)
    assert (tmp_path / "audit.log.torn").read_bytes() == torn + b"\n"
    recs = records(log)
    assert [r["signal"] for r in recs] == ["ZLOG_AUDIT_SEGMENT", "ZLOG_AUDIT_RECOVERED", "PAYMENT_PROCESSED"]
    assert recs[1]["fields"] == {"torn_bytes": len(torn), "torn_file": f"{log}.torn", "torn_from": "audit.log"}
    result = verify(log)
    assert result.ok and result.records == before.records + 3 and not result.torn_tail_bytes, result.summary()
