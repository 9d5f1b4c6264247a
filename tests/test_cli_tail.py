"""``zlog tail``: filters, formats, non-JSON lines, errors, stdin and --follow across rotation."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import zlog
from zlog.cli import main

JOB_FAILED = zlog.Signal("JOB_FAILED", level="error")


def write_log(path: Path, profile: str | None = None) -> Path:
    out = io.StringIO()
    router = zlog.Router()
    router.route_all(zlog.JSONSink(out, profile=profile))
    router.emit(zlog.Signal("JOB_QUEUED", level="info"), "queued", job_id="j1", worker_id="w-1", priority=5)
    router.emit(JOB_FAILED, "failed", job_id="j1", worker_id="w-1", duration_seconds=2.5, retry=True)
    router.emit(JOB_FAILED, "failed", job_id="j2", worker_id="w-2", duration_seconds=0.5, retry=False)
    router.emit(zlog.Signal("WORKER_HEARTBEAT", level="debug"), "beat", worker_id="w-2")
    path.write_text(out.getvalue())
    return path


def tail(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[Any], str]:
    code = main(["tail", *args])
    captured = capsys.readouterr()
    lines = [json.loads(x) if x.startswith("{") else x for x in captured.out.splitlines()]
    return code, lines, captured.err


def test_without_filters_every_line_is_written_unchanged_as_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = write_log(tmp_path / "app.log")
    code = main(["tail", str(log), "--format", "json"])
    assert code == 0 and capsys.readouterr().out == log.read_text()


def test_signal_globs_where_conditions_and_shorthands_combine(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = str(write_log(tmp_path / "app.log"))
    _, lines, _ = tail(capsys, log, "--signal", "JOB_*", "--format", "json")
    assert [x["signal"] for x in lines] == ["JOB_QUEUED", "JOB_FAILED", "JOB_FAILED"]
    _, lines, _ = tail(capsys, log, "--signal", "JOB_FAILED", "--signal", "WORKER_*", "--worker-id", "w-2")
    assert [x["signal"] for x in lines] == ["JOB_FAILED", "WORKER_HEARTBEAT"]
    _, lines, _ = tail(capsys, log, "--where", "duration_seconds>1", "--format", "json")
    assert [x["job_id"] for x in lines] == ["j1"]
    _, lines, _ = tail(capsys, log, "--where", "duration_seconds<1", "--where", "retry=false")
    assert [x["job_id"] for x in lines] == ["j2"]
    _, lines, _ = tail(capsys, log, "--job-id", "j1", "--where", "level=error")
    assert [x["signal"] for x in lines] == ["JOB_FAILED"]


def test_since_until_and_limit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "app.log"
    log.write_text(
        "".join(
            json.dumps({"time": f"2026-11-22T1{h}:00:00.000000Z", "signal": "A", "message": str(h)}) + "\n"
            for h in range(5)
        )
    )
    _, lines, _ = tail(capsys, str(log), "--since", "2026-11-22T11:30:00Z", "--until", "2026-11-22T13:00:00+00:00")
    assert [x["message"] for x in lines] == ["2", "3"]
    _, lines, _ = tail(capsys, str(log), "--since", "10 minutes ago")
    assert lines == []  # all of them are older than that
    _, lines, _ = tail(capsys, str(log), "--until", "now", "--limit", "2")
    assert [x["message"] for x in lines] == ["0", "1"]


def test_pretty_and_logfmt_formats(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = str(write_log(tmp_path / "app.log"))
    _, lines, _ = tail(capsys, log, "--signal", "JOB_FAILED", "--limit", "1", "--format", "pretty")
    assert lines == [f"{lines[0][:27]} ERROR JOB_FAILED failed job_id=j1 worker_id=w-1 duration_seconds=2.5 retry=true"]
    _, lines, _ = tail(capsys, log, "--signal", "JOB_QUEUED", "--format", "logfmt")
    assert lines[0].endswith("level=info signal=JOB_QUEUED msg=queued job_id=j1 worker_id=w-1 priority=5")


def test_a_hostile_message_can_neither_move_the_cursor_nor_fake_a_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "app.log"
    log.write_text(
        json.dumps({"signal": "A", "message": "ok\x1b[2J\rINFO fake\nline\u2028\u202e", "user": "x\x07\x9b"}) + "\n"
    )
    for fmt in ("pretty", "logfmt"):
        code = main(["tail", str(log), "--format", fmt, "--color", "always"])
        out = capsys.readouterr().out
        assert code == 0 and out.count("\n") == 1
        body = out.replace("\x1b[0m", "").replace("\x1b[2m", "").replace("\x1b[1;36m", "")
        assert not any(c in body[:-1] for c in "\x1b\r\n\u2028\u202e\x07\x9b"), repr(out)
        assert "\\x1b[2J" in out and "\\u2028" in out


def test_non_json_lines_are_marked_never_a_crash_and_skipped_by_filters(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "mixed.log"
    log.write_bytes(b'plain text\n{"signal":"A","message":"m"}\n\xff\xfe binary\n[1,2]\n')
    _, lines, _ = tail(capsys, str(log), "--format", "pretty")
    assert lines[0] == "?? plain text" and lines[2].startswith("?? ") and lines[3] == "?? [1,2]"
    _, lines, _ = tail(capsys, str(log), "--format", "json")
    assert lines[0] == {"zlog_unparsed": "plain text"} and lines[1]["signal"] == "A"
    _, lines, _ = tail(capsys, str(log), "--signal", "A")
    assert [x["signal"] for x in lines] == ["A"]


def test_lines_of_every_profile_are_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for profile in ("ecs", "gcp", "datadog", "otel"):
        log = write_log(tmp_path / f"{profile}.log", profile)
        _, lines, _ = tail(
            capsys, str(log), "--signal", "JOB_FAILED", "--where", "duration_seconds>1", "--format", "logfmt"
        )
        assert len(lines) == 1 and "level=error signal=JOB_FAILED msg=failed" in lines[0], (profile, lines)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.log"], "missing.log: no such file"),
        (["-", "--where", "no_operator"], "expected KEY=VALUE"),
        (["-", "--where", "n>many"], "needs a number"),
        (["-", "--since", "yesterday-ish"], "expected RFC 3339"),
    ],
)
def test_user_mistakes_are_one_line_and_exit_2(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = tail(capsys, *args)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_the_console_script_reads_stdin(tmp_path: Path) -> None:
    log = write_log(tmp_path / "app.log")
    script = Path(sys.executable).with_name("zlog")
    done = subprocess.run(
        [str(script), "tail", "-", "--signal", "JOB_FAILED", "--format", "json"],
        input=log.read_bytes(),
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert [json.loads(x)["job_id"] for x in done.stdout.splitlines()] == ["j1", "j2"]


def test_follow_reads_appended_lines_across_rotation_and_truncation(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text('{"signal":"A","message":"1"}\n')
    script = Path(sys.executable).with_name("zlog")
    proc = subprocess.Popen(
        [str(script), "tail", "-f", str(log), "--format", "json", "--limit", "4", "--interval", "0.05"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )

    def writer() -> None:
        time.sleep(0.5)
        with open(log, "a") as fh:
            fh.write('{"signal":"A","message":"2"}\n')
        time.sleep(0.5)
        os.rename(log, tmp_path / "app.log.1")  # rotation: a new file at the same path
        log.write_text('{"signal":"A","message":"3"}\n')
        time.sleep(0.5)
        log.write_text("")  # copytruncate: emptied in place, then written again
        time.sleep(0.5)
        with open(log, "a") as fh:
            fh.write('{"signal":"A","message":"4"}\n')

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        out, err = proc.communicate(timeout=30)
    finally:
        thread.join()
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert [json.loads(x)["message"] for x in out.splitlines()] == ["1", "2", "3", "4"]


def test_ctrl_c_while_following_exits_quietly_with_130(tmp_path: Path) -> None:
    import signal

    log = tmp_path / "app.log"
    log.write_text('{"signal":"A","message":"1"}\n')
    script = Path(sys.executable).with_name("zlog")
    proc = subprocess.Popen(
        [str(script), "tail", "-f", str(log), "--format", "json", "--interval", "0.05"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    assert json.loads(proc.stdout.readline())["message"] == "1"  # following now
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and err == b""


class TerminalBytes(io.BytesIO):
    def isatty(self) -> bool:
        return True


def run_on_terminal(monkeypatch: pytest.MonkeyPatch, *args: str) -> str:
    raw = TerminalBytes()
    out = io.TextIOWrapper(raw, encoding="utf-8")
    monkeypatch.setattr(sys, "stdout", out)
    assert main(["tail", *args]) == 0
    out.flush()
    return raw.getvalue().decode()


def test_on_a_terminal_output_is_pretty_and_colored_unless_no_color(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = str(write_log(tmp_path / "app.log"))
    monkeypatch.delenv("NO_COLOR", raising=False)
    colored = run_on_terminal(monkeypatch, log, "--signal", "JOB_FAILED")
    assert "\x1b[31mERROR\x1b[0m" in colored and not colored.startswith("{")
    monkeypatch.setenv("NO_COLOR", "1")
    plain = run_on_terminal(monkeypatch, log, "--signal", "JOB_FAILED")
    assert "\x1b" not in plain and " ERROR JOB_FAILED failed job_id=j1" in plain
    forced = run_on_terminal(monkeypatch, log, "--signal", "JOB_FAILED", "--color", "always")
    assert "\x1b[31m" in forced
    never = run_on_terminal(monkeypatch, log, "--signal", "JOB_FAILED", "--color", "never")
    monkeypatch.delenv("NO_COLOR")
    assert "\x1b" not in never


def test_lines_across_read_chunks_crlf_and_a_missing_final_newline_are_whole(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from zlog.cli import _read

    lines = [
        json.dumps({"signal": "JOB_FAILED" if i % 3 == 0 else "OTHER", "message": "x" * (i % 50), "i": i})
        for i in range(300)
    ]
    log = tmp_path / "app.log"
    log.write_bytes(b"\r\n".join(x.encode() for x in lines) + b"\n\n" + b'{"signal":"LAST","message":"no newline"}')
    monkeypatch.setattr(_read, "CHUNK", 37)  # every line crosses a read boundary
    _, everything, _ = tail(capsys, str(log), "--format", "json")
    assert [x["i"] for x in everything[:-1]] == list(range(300)) and everything[-1]["signal"] == "LAST"
    _, failed, _ = tail(capsys, str(log), "--signal", "JOB_FAILED", "--format", "json")
    assert [x["i"] for x in failed] == list(range(0, 300, 3))


def test_the_signal_only_fast_path_reads_every_profile_and_checks_the_real_signal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for profile in ("ecs", "gcp", "datadog", "otel", None):
        log = write_log(tmp_path / f"{profile}.log", profile)
        _, lines, _ = tail(capsys, str(log), "--signal", "JOB_FAILED", "--format", "json")
        assert len(lines) == 2, (profile, lines)
    decoy = tmp_path / "decoy.log"
    decoy.write_text(
        '{"signal":"A","message":"m","nested":{"signal":"JOB_FAILED"}}\n'
        'not json "JOB_FAILED"\n{"signal":"JOB_FAILED","message":"real"}\n'
    )
    _, lines, _ = tail(capsys, str(decoy), "--signal", "JOB_FAILED", "--format", "json")
    assert [x["message"] for x in lines] == ["real"]


def test_follow_waits_for_a_file_that_does_not_exist_yet(tmp_path: Path) -> None:
    log = tmp_path / "later.log"
    script = Path(sys.executable).with_name("zlog")
    proc = subprocess.Popen(
        [str(script), "tail", "-f", str(log), "--format", "json", "--limit", "1", "--interval", "0.05"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        time.sleep(0.5)
        log.write_text('{"signal":"A","message":"appeared"}\n')
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0 and json.loads(out)["message"] == "appeared"
    assert b"no such file yet" in err and err.count(b"\n") == 1


ODD_LINES = [
    '{"timeUnixNano":"99999999999999999999999","body":{"stringValue":"x"},"eventName":"OTEL","attributes":7}',
    '{"timestamp":"t","status":[],"evt.name":"DD","signal":"DD","message":"m"}',
    '{"time":"0000-01-01T00:00:00Z","level":{"x":1},"signal":"A","message":[1,2],"attributes":[{"key":1}]}',
    '{"timeUnixNano":"1","eventName":"E","body":{"arrayValue":[1]},'
    '"attributes":[{"key":"k","value":{"kvlistValue":{"values":[5]}}}]}',
]


def test_lines_with_odd_values_get_one_rendering_each_in_every_format(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "odd.log"
    log.write_text("\n".join(ODD_LINES) + "\n")
    for fmt in ("json", "logfmt"):
        code, lines, err = tail(capsys, str(log), "--format", fmt)
        assert code == 0 and len(lines) == len(ODD_LINES) and err == "", (fmt, lines, err)
    _, lines, _ = tail(capsys, str(log), "--format", "pretty")
    assert lines == [
        "99999999999999999999999 -     OTEL x attributes=7",
        "t []    DD m",
        '0000-01-01 00:00:00Z {"X":1} A [1,2] attributes=[{"key":1}]',
        '1970-01-01 00:00:00.000000Z -     E {"arrayValue":[1]} k={"kvlistValue":{"values":[5]}}',
    ]
    _, lines, _ = tail(capsys, str(log), "--since", "1970-01-01T00:00:00Z", "--format", "json")
    assert [x.get("eventName") for x in lines] == ["E"]  # the other times are no times


def test_follow_keeps_going_after_lines_that_are_odd_or_not_events(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text('{"signal":"A","message":"1"}\n')
    script = Path(sys.executable).with_name("zlog")
    proc = subprocess.Popen(
        [str(script), "tail", "-f", str(log), "--format", "pretty", "--limit", "4", "--interval", "0.05"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    try:
        first = proc.stdout.readline()  # following now
        with open(log, "a") as fh:
            fh.write(ODD_LINES[0] + "\n" + ODD_LINES[1] + "\nnot json at all\n")
            fh.flush()
            time.sleep(0.3)  # read as its own batch
            fh.write('{"signal":"A","message":"2"}\n')
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0 and err == b"", err
    assert (first + out).decode().splitlines() == [
        "- -     A 1",
        "99999999999999999999999 -     OTEL x attributes=7",
        "t []    DD m",
        "?? not json at all",
        "- -     A 2",
    ]
