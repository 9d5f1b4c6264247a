"""AuditSink: chained records, durability policies, reopening, torn tails and rotation."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

import zlog
from zlog import AuditSink, Router
from zlog.audit import verify


def write(path: Path, n: int, **kwargs: Any) -> AuditSink:
    sink = AuditSink(path, **kwargs)
    router = Router()
    router.route_all(sink)
    for i in range(n):
        router.emit("PAYMENT_PROCESSED", "Payment processed", payment_id=f"p{i}", amount_cents=100 + i)
    return sink


def records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_bytes().splitlines()]


def segment_paths(log: Path) -> list[Path]:
    return sorted(log.parent.glob(log.name + ".0*"))


def crash_after_rotation_rename(log: Path) -> Path:
    """What a crash between rotation's rename and create leaves: the live file renamed to the next segment."""
    target = log.with_name(f"{log.name}.{len(segment_paths(log)) + 1:05d}")
    log.rename(target)
    return target


def test_records_carry_sequence_numbers_and_a_hash_chain(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    write(log, 3).close()
    recs = records(log)
    assert [r["seq"] for r in recs] == [0, 1, 2]
    assert recs[0]["prev"] == "0" * 64
    lines = log.read_bytes().splitlines()
    assert recs[1]["prev"] == hashlib.sha256(lines[0]).hexdigest()
    assert recs[1]["fields"] == {"payment_id": "p1", "amount_cents": 101}
    assert list(recs[0])[:4] == ["seq", "time", "signal", "message"] and list(recs[0])[-2:] == ["prev", "hash"]
    assert verify(log).ok and verify(log).records == 3


@pytest.mark.parametrize("policy", ["always", "batch", "none"])
def test_every_durability_policy_writes_a_verifiable_chain(tmp_path: Path, policy: str) -> None:
    log = tmp_path / "audit.log"
    sink = write(log, 20, fsync=policy, batch_interval=0.001)
    sink.flush()
    sink.close()
    result = verify(log)
    assert result.ok and result.records == 20, result.summary()


def test_reopening_continues_the_chain(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    write(log, 2).close()
    write(log, 2).close()
    assert [r["seq"] for r in records(log)] == [0, 1, 2, 3]
    assert verify(log).ok


def test_hmac_chain_verifies_only_with_the_key(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    write(log, 3, key="s3cret").close()
    assert verify(log, key="s3cret").ok
    wrong = verify(log, key="other")
    assert not wrong.ok and wrong.bad_seq == 0
    assert not verify(log).ok


def test_rotation_starts_each_segment_with_a_header_linking_the_previous(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    write(log, 60, max_bytes=2048).close()
    segments = sorted(tmp_path.glob("audit.log.*"))
    assert len(segments) >= 2
    header = json.loads(log.read_bytes().splitlines()[0])
    assert header["signal"] == "ZLOG_AUDIT_SEGMENT"
    assert header["fields"]["previous_segment"] == segments[-1].name
    assert all(p.stat().st_size <= 2048 for p in segments)
    result = verify(log)
    assert result.ok, result.summary()
    assert result.records == 60 + len(segments)
    write(log, 1, max_bytes=2048).close()  # reopening after rotation continues too
    assert verify(log).ok


def test_sigkill_mid_write_leaves_only_a_torn_tail(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    ready = tmp_path / "ready"
    code = textwrap.dedent(
        f"""
        import os, zlog
        sink = zlog.AuditSink({str(log)!r}, fsync="batch")
        zlog.route_all(sink)
        i = 0
        while True:
            zlog.emit("PAYMENT_PROCESSED", "paid", payment_id=i, memo="x" * 5000)
            i += 1
            if i == 200:
                open({str(ready)!r}, "w").close()
        """
    )
    child = subprocess.Popen([sys.executable, "-c", code])
    try:
        deadline = time.monotonic() + 30
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert ready.exists(), "the child did not start writing"
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    # make the tail torn for certain: cut the last line short, as a kill inside write() would
    cut = log.read_bytes()[:-100]
    log.write_bytes(cut)
    result = verify(log)
    assert result.ok, result.summary()
    assert result.records == cut.count(b"\n") >= 199  # every whole line; the 200th may be the one cut short
    assert result.torn_tail_bytes > 0
    assert "torn tail" in result.summary()


def test_reopening_a_torn_file_moves_the_tail_aside_and_records_the_recovery(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    write(log, 3).close()
    with open(log, "ab") as fh:
        fh.write(b'{"seq":3,"time":"2026-')
    sink = write(log, 1)
    sink.close()
    assert sink.torn_bytes == len(b'{"seq":3,"time":"2026-')
    assert (tmp_path / "audit.log.torn").read_bytes() == b'{"seq":3,"time":"2026-\n'
    recs = records(log)
    assert [r["signal"] for r in recs[3:]] == ["ZLOG_AUDIT_RECOVERED", "PAYMENT_PROCESSED"]
    assert verify(log).ok


def test_fsync_none_buffers_in_the_process_until_flush_or_exit(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    sink = write(log, 5, fsync="none")
    assert log.read_bytes() == b""  # still in the process's buffer
    sink.flush()
    assert verify(log).records == 5
    code = f"import zlog\nzlog.route_all(zlog.AuditSink({str(log)!r}, fsync='none'))\nzlog.emit('A', 'at exit')\n"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    assert verify(log).records == 6


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_cannot_write_into_the_parents_chain(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    sink = write(log, 2, fsync="none")  # two records still buffered in the parent
    router = Router()
    router.route_all(sink)
    router.route("ZLOG_SINK_ERROR", lambda e: None)
    pid = os.fork()
    if pid == 0:
        router.emit("CHILD", "must not enter the parent's chain")
        sink.flush()
        os._exit(0 if router.sink_errors()["audit"] == 1 else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    sink.close()
    result = verify(log)
    assert result.ok and result.records == 2


@pytest.mark.parametrize("policy", ["always", "none"])
def test_writing_after_close_is_a_counted_sink_error(tmp_path: Path, policy: str) -> None:
    sink = AuditSink(tmp_path / "audit.log", fsync=policy)
    router = Router()
    router.route_all(sink)
    seen: list[zlog.Event] = []
    router.route("ZLOG_SINK_ERROR", seen.append)
    sink.close()
    router.emit("A", "after close")  # buffered or not, never silently kept in a closed sink
    assert router.sink_errors()["audit"] == 1
    assert "closed" in str(seen[0][3]["error"])


def test_a_failed_buffered_write_keeps_the_records_for_the_next_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "audit.log"
    sink = write(log, 5, fsync="none")
    real_write = os.write
    calls = {"n": 0}

    def failing_write(fd: int, data: bytes | bytearray | memoryview) -> int:
        calls["n"] += 1
        if calls["n"] == 1:
            return real_write(fd, memoryview(data)[:100])  # a short write...
        raise OSError(28, "No space left on device")  # ...then the disk is full

    monkeypatch.setattr(os, "write", failing_write)
    with pytest.raises(OSError):
        sink.flush()
    monkeypatch.setattr(os, "write", real_write)
    sink.close()  # the disk has room again: the rest is written once, after the first 100 bytes
    result = verify(log)
    assert result.ok and result.records == 5


@pytest.mark.parametrize("policy", ["always", "batch"])
def test_a_record_that_fails_half_written_is_cut_and_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, policy: str
) -> None:
    log = tmp_path / "audit.log"
    sink = AuditSink(log, fsync=policy)
    router = Router()
    router.route_all(sink)
    router.route("ZLOG_SINK_ERROR", lambda e: None)
    router.emit("PAYMENT_PROCESSED", "first", payment_id="p0")
    real_write = os.write
    calls = {"n": 0}

    def half_then_full_disk(fd: int, data: bytes | bytearray | memoryview) -> int:
        calls["n"] += 1
        if calls["n"] == 1:
            return real_write(fd, memoryview(data)[:40])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", half_then_full_disk)
    router.emit("PAYMENT_PROCESSED", "lost to a full disk", payment_id="p1")
    monkeypatch.setattr(os, "write", real_write)
    router.emit("PAYMENT_PROCESSED", "after", payment_id="p2")
    sink.close()
    assert router.sink_errors()["audit"] == 1  # the failed record is reported, not silently dropped
    assert [r["message"] for r in records(log)] == ["first", "after"]
    result = verify(log)
    assert result.ok and result.records == 2 and not result.torn_tail_bytes


def test_a_failed_fsync_after_a_write_keeps_the_chain_going(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "audit.log"
    sink = AuditSink(log, fsync="always")
    router = Router()
    router.route_all(sink)
    router.route("ZLOG_SINK_ERROR", lambda e: None)
    real_fsync = os.fsync

    def failing_fsync(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    router.emit("PAYMENT_PROCESSED", "written, not synced", payment_id="p0")  # reported: the fsync failed
    monkeypatch.setattr(os, "fsync", real_fsync)
    router.emit("PAYMENT_PROCESSED", "next", payment_id="p1")
    sink.close()
    assert router.sink_errors()["audit"] == 1
    assert [r["seq"] for r in records(log)] == [0, 1]
    assert verify(log).ok


def test_audit_time_equals_the_json_lines_time_for_the_same_event(tmp_path: Path) -> None:
    import io

    log, out = tmp_path / "audit.log", io.BytesIO()
    sink = AuditSink(log)
    router = Router()
    router.route_all(zlog.JSONSink(out), sink)
    for i in range(3):
        router.emit("PAYMENT_PROCESSED", "Payment processed", payment_id=f"p{i}")
    sink.close()
    json_times = [json.loads(line)["time"] for line in out.getvalue().splitlines()]
    assert [r["time"] for r in records(log)] == json_times


@pytest.mark.parametrize(
    "kwargs",
    [
        {"fsync": "sometimes"},
        {"max_bytes": 10},
        {"batch_interval": -1},
        {"batch_interval": float("nan")},
        {"batch_interval": float("inf")},
        {"batch_interval": "0.05"},
        {"batch_interval": True},
    ],
)
def test_bad_settings_are_clear_errors(tmp_path: Path, kwargs: dict[str, object]) -> None:
    name = next(iter(kwargs))
    with pytest.raises(ValueError, match=f"^{name} must be"):
        AuditSink(tmp_path / "audit.log", **kwargs)  # type: ignore[arg-type]


def test_field_values_of_any_type_are_recorded(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    sink = AuditSink(log)
    router = Router()
    router.route_all(sink)
    router.emit(zlog.Signal("REFUND", level="warn"), "refund", amount=2**70, err=ValueError("x"), s="\udc80")
    sink.close()
    [rec] = records(log)
    assert rec["level"] == "warn" and rec["fields"]["amount"] == str(2**70)
    assert verify(log).ok


def test_batch_interval_is_in_seconds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])  # a fake clock: no timing in the test
    synced: list[int] = []
    real_fsync = os.fsync

    def counting_fsync(fd: int) -> None:
        synced.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", counting_fsync)
    sink = AuditSink(tmp_path / "audit.log", fsync="batch", batch_interval=0.5)
    router = Router()
    router.route_all(sink)
    synced.clear()  # opening a new file syncs its directory
    router.emit("A", "at once")
    now[0] += 0.4  # 400 ms: less than 0.5 seconds, far more than 0.5 milliseconds
    router.emit("A", "0.4 s later")
    assert synced == []
    now[0] += 0.2
    router.emit("A", "0.6 s after the open")
    assert len(synced) == 1
    sink.close()


def test_reopening_after_a_crash_between_rotation_rename_and_create_begins_with_a_linked_segment_header(
    tmp_path: Path,
) -> None:
    log = tmp_path / "audit.log"
    write(log, 40, max_bytes=2048).close()
    last = crash_after_rotation_rename(log)
    last_line = last.read_bytes().splitlines()[-1]
    last_seq = json.loads(last_line)["seq"]
    write(log, 1, max_bytes=2048).close()
    header, record = records(log)
    assert header["signal"] == "ZLOG_AUDIT_SEGMENT"
    assert header["fields"] == {"previous_segment": last.name, "previous_seq": last_seq}
    assert header["seq"] == last_seq + 1 and header["prev"] == hashlib.sha256(last_line).hexdigest()
    assert record["seq"] == last_seq + 2
    result = verify(log)
    assert result.ok and not result.live_missing and result.records == last_seq + 3, result.summary()


@pytest.mark.parametrize("live", ["missing", "empty"])
def test_reopening_when_the_last_segment_is_torn_sets_its_tail_aside_and_continues_from_its_last_record(
    tmp_path: Path, live: str
) -> None:
    log = tmp_path / "audit.log"
    write(log, 40, max_bytes=2048).close()
    last = crash_after_rotation_rename(log)
    if live == "empty":
        log.write_bytes(b"")
    whole = last.read_bytes().splitlines(keepends=True)
    torn = whole[-1][:-20]
    last.write_bytes(b"".join(whole[:-1]) + torn)
    sink = write(log, 1, max_bytes=2048)
    sink.close()
    assert sink.torn_bytes == len(torn)
    assert last.read_bytes() == b"".join(whole[:-1])  # the segment keeps every whole record
    assert (tmp_path / "audit.log.torn").read_bytes() == torn + b"\n"
    header, recovered, record = records(log)
    assert record["signal"] == "PAYMENT_PROCESSED"
    assert header["fields"] == {"previous_segment": last.name, "previous_seq": json.loads(whole[-2])["seq"]}
    assert recovered["signal"] == "ZLOG_AUDIT_RECOVERED"
    assert recovered["fields"] == {"torn_bytes": len(torn), "torn_file": str(log) + ".torn", "torn_from": last.name}
    result = verify(log)
    assert result.ok and not result.torn_tail_bytes, result.summary()


def test_reopening_when_the_last_segment_is_empty_continues_from_the_segment_before(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    write(log, 40, max_bytes=2048).close()
    full = crash_after_rotation_rename(log)
    log.write_bytes(b"")
    empty = crash_after_rotation_rename(log)  # an empty segment after the last full one, and no live file
    last_seq = records(full)[-1]["seq"]
    write(log, 1, max_bytes=2048).close()
    header = records(log)[0]
    assert header["seq"] == last_seq + 1
    assert header["fields"] == {"previous_segment": empty.name, "previous_seq": last_seq}
    result = verify(log)
    assert result.ok and result.records == last_seq + 3, result.summary()


def payment_ids(paths: list[Path]) -> list[str]:
    return [r["fields"]["payment_id"] for p in paths for r in records(p) if r["signal"] == "PAYMENT_PROCESSED"]


@pytest.mark.parametrize("failing", ["rename", "create"])
def test_a_rotation_that_fails_is_a_counted_error_and_the_next_record_rotates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    log = tmp_path / "audit.log"
    sink = AuditSink(log, max_bytes=2048, fsync="always")
    router = Router()
    router.route_all(sink)
    router.route("ZLOG_SINK_ERROR", lambda e: None)
    real_rename, real_open = os.rename, os.open
    failures = [OSError(28, "No space left on device")]

    def rename(src: Any, dst: Any) -> None:
        if failing == "rename" and failures:
            raise failures.pop()
        real_rename(src, dst)

    def open_(path: Any, flags: int, mode: int = 0o777, **kw: Any) -> int:
        if failing == "create" and flags & os.O_EXCL and failures:
            raise failures.pop()
        return real_open(path, flags, mode, **kw)

    monkeypatch.setattr(os, "rename", rename)
    monkeypatch.setattr(os, "open", open_)
    for i in range(40):
        router.emit("PAYMENT_PROCESSED", "Payment processed", payment_id=f"p{i}", amount_cents=100 + i)
    sink.close()
    assert not failures and router.sink_errors()["audit"] == 1  # one record failed, and was reported
    ids = payment_ids([*segment_paths(log), log])
    assert len(ids) == 39 and ids == sorted(set(ids), key=lambda s: int(s[1:]))
    result = verify(log)
    assert result.ok and not result.live_missing, result.summary()


def test_reopening_a_log_whose_last_line_is_not_a_record_is_a_clear_error(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    write(log, 2).close()
    with open(log, "ab") as fh:
        fh.write(b"hello\n")
    with pytest.raises(ValueError, match="zlog audit verify"):
        AuditSink(log)
