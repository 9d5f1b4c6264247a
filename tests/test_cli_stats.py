"""``zlog stats``: counts, rates, outcomes, nearest-rank percentiles, errors, utilization, text and JSON."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from zlog.cli import _stats, main
from zlog.cli._read import parse
from zlog.cli._stats import percentile

ROOT = Path(__file__).resolve().parent.parent


def line(second: int, signal: str, **fields: Any) -> str:
    return json.dumps(
        {
            "time": f"2026-11-22T14:{second // 60:02d}:{second % 60:02d}.000000Z",
            "level": "info",
            "signal": signal,
            "message": signal.lower(),
            **fields,
        }
    )


def write(path: Path, lines: list[str]) -> str:
    path.write_text("\n".join(lines) + "\n")
    return str(path)


@pytest.fixture()
def log(tmp_path: Path) -> str:
    lines = [line(i, "JOB_COMPLETED", job_type="email", duration_seconds=float(i + 1)) for i in range(10)]
    lines += [line(20, "JOB_COMPLETED", job_type="report", duration_ms=2500)]
    lines += [
        line(30 + i, "JOB_FAILED", job_type="email", error={"type": "TimeoutError", "message": "smtp"})
        for i in range(3)
    ]
    lines += [line(40, "JOB_FAILED", error={"type": "ValueError", "message": "bad"}), line(41, "JOB_ABANDONED")]
    lines += [
        line(50, "WORKER_HEARTBEAT", worker_id="w1", active_jobs=2, concurrency_limit=4),
        line(110, "WORKER_HEARTBEAT", worker_id="w1", active_jobs=4, concurrency_limit=4),
        line(119, "WORKER_BUSY", worker_id="w2", active_jobs=1, concurrency=4),
    ]
    lines += ["not json at all"]
    return write(tmp_path / "app.log", lines)


def summary(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    assert main(["stats", *args, "--json"]) == 0
    result: dict[str, Any] = json.loads(capsys.readouterr().out)
    return result


def stdin(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))


def test_counts_rates_time_span_and_skipped_lines(log: str, capsys: pytest.CaptureFixture[str]) -> None:
    s = summary(capsys, log)
    assert s["events"] == 19 and s["skipped_lines"] == 1 and s["span_seconds"] == 119.0
    assert (s["first_time"], s["last_time"]) == ("2026-11-22T14:00:00.000000Z", "2026-11-22T14:01:59.000000Z")
    assert s["events_per_second"] == pytest.approx(19 / 119)
    assert s["signals"]["JOB_COMPLETED"]["count"] == 11
    assert s["signals"]["JOB_FAILED"]["per_second"] == pytest.approx(4 / 119)
    assert next(iter(s["signals"])) == "JOB_COMPLETED"  # most frequent first
    assert s["levels"] == {"info": 19}


def test_lines_that_are_not_zlog_json_are_counted_never_a_crash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    junk = ["[1, 2]", '{"no": "signal"}', '{"signal": ""}', "{broken", "\x1b[31mred\x1b[0m", '"a string"', "42"]
    path = tmp_path / "mixed.log"
    path.write_bytes(("\n".join([line(0, "A"), *junk, line(1, "B")]) + "\n\n").encode() + b"\xff\xfe\n")
    s = summary(capsys, str(path))
    assert (s["events"], s["skipped_lines"]) == (2, len(junk) + 1)  # empty lines are not lines


def test_job_outcomes_and_ratios(log: str, capsys: pytest.CaptureFixture[str]) -> None:
    jobs = summary(capsys, log)["jobs"]
    assert (jobs["completed"], jobs["failed_attempts"], jobs["abandoned"]) == (11, 4, 1)
    assert jobs["success_ratio"] == pytest.approx(11 / 12)  # completed / (completed + abandoned)
    assert jobs["attempt_failure_ratio"] == pytest.approx(4 / 15)  # failed / (completed + failed)


def test_ratios_without_any_job_are_null(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    jobs = summary(capsys, write(tmp_path / "x.log", [line(0, "HELLO")]))["jobs"]
    assert jobs["success_ratio"] is None and jobs["attempt_failure_ratio"] is None


def test_custom_outcome_signals_with_globs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(
        tmp_path / "t.log",
        [
            line(0, "TASK_DONE", took=1.0),
            line(1, "TASK_ERROR"),
            line(2, "TASK_DONE"),
            line(3, "TASK_GAVE_UP"),
            line(4, "JOB_COMPLETED"),
        ],
    )
    jobs = summary(capsys, path, "--completed", "TASK_D*", "--failed", "TASK_ERROR", "--abandoned", "*GAVE_UP")["jobs"]
    assert (jobs["completed"], jobs["failed_attempts"], jobs["abandoned"]) == (2, 1, 1)


def test_nearest_rank_percentiles_per_job_type(log: str, capsys: pytest.CaptureFixture[str]) -> None:
    durations = summary(capsys, log)["durations_seconds"]
    assert durations["email"] == {
        "count": 10,
        "p50": 5.0,
        "p95": 10.0,
        "p99": 10.0,
        "min": 1.0,
        "max": 10.0,
        "mean": 5.5,
    }
    hundred = [float(x) for x in range(1, 101)]
    assert [percentile(hundred, p) for p in (50, 95, 99, 100)] == [50.0, 95.0, 99.0, 100.0]
    assert percentile([3.0], 99) == 3.0 and percentile([1.0, 2.0], 50) == 1.0


def test_duration_ms_is_converted_to_seconds(log: str, capsys: pytest.CaptureFixture[str]) -> None:
    s = summary(capsys, log)  # each event: the first of duration_seconds, duration_ms, duration it carries
    assert s["durations_seconds"]["report"]["p50"] == 2.5
    assert s["duration_field"] == "duration_seconds, duration_ms"


def test_duration_field_option_picks_the_field(tmp_path: Path, log: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert summary(capsys, log, "--duration-field", "duration_ms")["durations_seconds"] == {
        "report": {"count": 1, "p50": 2.5, "p95": 2.5, "p99": 2.5, "min": 2.5, "max": 2.5, "mean": 2.5}
    }
    path = write(
        tmp_path / "took.log", [line(i, "JOB_COMPLETED", took=float(i), duration_seconds=99.0) for i in range(1, 5)]
    )
    s = summary(capsys, path, "--duration-field", "took")
    assert s["duration_field"] == "took" and s["durations_seconds"]["-"]["p50"] == 2.0


def test_top_errors_by_type_and_message_from_objects_and_strings(
    tmp_path: Path, log: str, capsys: pytest.CaptureFixture[str]
) -> None:
    s = summary(capsys, log)
    assert s["top_errors"][0] == {"type": "TimeoutError", "message": "smtp", "count": 3}
    assert s["top_error_types"] == [{"type": "TimeoutError", "count": 3}, {"type": "ValueError", "count": 1}]
    assert s["error_events"] == 4 and s["errors_exact"] is True
    lines = [line(i, "WORKER_ERROR", error=f"e{i % 12}") for i in range(24)]
    s = summary(capsys, write(tmp_path / "e.log", lines))
    assert len(s["top_errors"]) == 10 and s["top_errors"][0] == {"type": "-", "message": "e0", "count": 2}


def test_error_counts_stay_bounded_on_many_distinct_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_stats, "MAX_ERROR_KEYS", 20)
    lines = [line(0, "JOB_FAILED", error={"type": "Boom", "message": "same"}) for _ in range(50)]
    lines += [line(1, "JOB_FAILED", error={"type": "Boom", "message": f"job {i}"}) for i in range(500)]
    stats = _stats.Stats()

    for raw in lines:
        record = parse(raw.encode())
        assert record is not None
        stats.add(record)
    assert len(stats.errors) <= 20
    s = stats.summary()
    assert s["top_errors"][0] == {"type": "Boom", "message": "same", "count": 50} and s["errors_exact"] is False
    assert s["top_error_types"] == [{"type": "Boom", "count": 550}] and s["error_events"] == 550


def test_worker_utilization_per_worker_and_overall(log: str, capsys: pytest.CaptureFixture[str]) -> None:
    u = summary(capsys, log)["utilization"]
    assert u["workers"] == {"w1": 0.75, "w2": 0.25}
    assert u["overall"] == pytest.approx((0.5 + 1.0 + 0.25) / 3)  # over all samples, not the mean of workers
    assert (u["samples"], u["worker_events"]) == (3, 3)


def test_reading_stdin_with_a_dash(
    log: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    stdin(monkeypatch, Path(log).read_bytes())
    s = summary(capsys, "-")
    assert s["events"] == 19 and s["jobs"]["completed"] == 11


def test_several_files_add_up(log: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert summary(capsys, log, log)["signals"]["JOB_COMPLETED"]["count"] == 22


def test_json_output_has_the_documented_keys(log: str, capsys: pytest.CaptureFixture[str]) -> None:
    s = summary(capsys, log)
    assert set(s) == {
        "events",
        "skipped_lines",
        "first",
        "last",
        "first_time",
        "last_time",
        "span_seconds",
        "events_per_second",
        "signals",
        "levels",
        "jobs",
        "duration_field",
        "durations_seconds",
        "duration_histogram",
        "error_events",
        "errors_exact",
        "top_errors",
        "top_error_types",
        "utilization",
        "timeline",
    }
    assert set(s["jobs"]) == {"completed", "failed_attempts", "abandoned", "success_ratio", "attempt_failure_ratio"}
    assert s["timeline"]["WORKER_HEARTBEAT"] == {str(1795356000): 1, str(1795356060): 1}
    assert sum(b["count"] for b in s["duration_histogram"]) == 11
    documented = (ROOT / "docs" / "cli" / "stats.md").read_text()
    assert all(f"`{key}`" in documented for key in s)


def test_text_report(log: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stats", log]) == 0
    out = capsys.readouterr().out
    assert out.startswith("19 events from 2026-11-22 14:00:00Z to 2026-11-22 14:01:59Z (119.000 s")
    assert "success ratio 91.7%" in out and "attempt failure ratio 26.7%" in out
    assert "TimeoutError" in out and "; 1 lines skipped" in out and "overall 58.3%" in out
    row = next(x for x in out.splitlines() if x.startswith("  email "))
    assert row.split() == ["email", "10", "5.0000", "10.0000", "10.0000", "10.0000", "5.5000"]


def test_text_report_explains_worker_events_without_utilization_fields(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["stats", write(tmp_path / "w.log", [line(0, "WORKER_HEARTBEAT", worker_id="w1")])]) == 0
    assert "utilization: 1 worker events, none with worker_id, active_jobs" in capsys.readouterr().out


def test_empty_input_says_no_events_and_exits_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    stdin(monkeypatch, b"")
    assert main(["stats", "-"]) == 0
    assert capsys.readouterr().out == "no events\n"
    assert main(["stats", write(tmp_path / "junk.log", ["junk"])]) == 0
    assert capsys.readouterr().out == "no events (1 lines were not zlog JSON)\n"
    s = summary(capsys, write(tmp_path / "empty.log", []))
    assert s["events"] == 0 and s["events_per_second"] is None and s["first_time"] is None


def test_missing_file_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stats", str(tmp_path / "missing.log")]) == 2
    err = capsys.readouterr().err
    assert err == f"zlog: {tmp_path / 'missing.log'}: no such file\n"
    assert main(["stats", "--no-such-option"]) == 2


def test_counts_match_the_background_jobs_example_through_the_console_script(tmp_path: Path) -> None:
    out = tmp_path / "jobs.jsonl"
    with out.open("w") as fh:
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "examples" / "background_jobs.py"),
                "--jobs",
                "80",
                "--workers",
                "4",
                "--seed",
                "1",
                "--failure-rate",
                "0.3",
            ],
            stdout=fh,
            stderr=subprocess.DEVNULL,
            timeout=120,
            check=True,
        )
    with out.open("a") as fh:
        fh.write("a line that is not JSON\n")
    zlog = str(Path(sys.executable).with_name("zlog"))
    done = subprocess.run([zlog, "stats", str(out), "--json"], capture_output=True, text=True, timeout=60, check=True)
    s = json.loads(done.stdout)
    events = [json.loads(x) for x in out.read_text().splitlines()[:-1]]
    counts = Counter(e["signal"] for e in events)
    assert {k: v["count"] for k, v in s["signals"].items()} == dict(counts)
    assert s["skipped_lines"] == 1 and s["events"] == len(events)
    jobs = s["jobs"]
    assert (jobs["completed"], jobs["failed_attempts"], jobs["abandoned"]) == (
        counts["JOB_COMPLETED"],
        counts["JOB_FAILED"],
        counts["JOB_ABANDONED"],
    )
    assert jobs["completed"] + jobs["abandoned"] == 80
    by_type = Counter(e["job_type"] for e in events if e["signal"] == "JOB_COMPLETED")
    assert {k: v["count"] for k, v in s["durations_seconds"].items()} == dict(by_type)
    assert sum(e["count"] for e in s["top_error_types"]) == sum("error" in e for e in events) == s["error_events"]


# -- any line content: a documented rendering or skip, never a traceback -----------------------------------


def at(time: str, signal: str = "A", **fields: Any) -> str:
    return json.dumps({"time": time, "signal": signal, "message": "", **fields})


def test_an_otel_line_without_a_signal_is_skipped_and_times_no_date_holds_do_not_move_the_span(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = write(
        tmp_path / "odd.log",
        [
            '{"timeUnixNano":"99999999999999999999999","body":{"stringValue":"x"},"attributes":[]}',  # no signal
            '{"timeUnixNano":"99999999999999999999999","body":{"stringValue":"x"},"eventName":"OTEL"}',
            at("0000-01-01T00:00:00Z"),
            at("10000-01-01T00:00:00Z"),
            at("0001-01-01T00:00:00+01:00"),
            at("9999-12-31T23:59:59-01:00"),
            json.dumps({"time": 1795357815, "signal": "A", "message": ""}),
            at("2026-11-22T14:00:00Z"),
            at("2026-11-22T14:00:10Z"),
        ],
    )
    s = summary(capsys, log)
    assert (s["events"], s["skipped_lines"]) == (8, 1)
    assert (s["first_time"], s["last_time"], s["span_seconds"]) == (
        "2026-11-22T14:00:00.000000Z",
        "2026-11-22T14:00:10.000000Z",
        10.0,
    )
    assert main(["stats", log]) == 0
    assert capsys.readouterr().out.startswith("8 events from 2026-11-22 14:00:00Z to 2026-11-22 14:00:10Z (10.000 s")


def test_a_log_from_year_1_to_the_last_microsecond_of_9999_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = write(tmp_path / "span.log", [at("0001-01-01T00:00:00Z"), at("9999-12-31T23:59:59.999999Z")])
    s = summary(capsys, log)
    assert s["first_time"] == "0001-01-01T00:00:00.000000Z" and s["last_time"].startswith("9999-12-31T23:59:59.99")
    assert main(["stats", log]) == 0
    assert capsys.readouterr().out.startswith("2 events from 0001-01-01 00:00:00Z to 9999-12-31 23:59:59Z")


def test_errors_of_any_shape_count_by_a_text_type_and_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    errors: list[Any] = [
        {"message": "no type"},
        {"type": ["a"], "message": {"k": 1}},
        ["x", 1],
        5,
        {"type": "T" * 1000, "message": None},
        False,
        0,
        "",
        None,
        [],
        {},
    ]
    s = summary(capsys, write(tmp_path / "e.log", [line(0, "JOB_FAILED", error=e) for e in errors]))
    assert s["error_events"] == 5  # null, false, 0, "", [] and {} say there was no error
    assert sorted((e["type"], e["message"]) for e in s["top_errors"]) == sorted(
        [("?", "no type"), ('["a"]', '{"k":1}'), ("-", '["x",1]'), ("-", "5"), ("T" * 200, "")]
    )


def test_durations_of_any_size_and_job_types_of_any_kind(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    huge = 1.7e308  # two of them overflow a float sum
    lines = [line(i, "JOB_COMPLETED", job_type=["a", 1], duration_seconds=huge) for i in range(2)]
    lines += [
        line(2, "JOB_COMPLETED", job_type=None, duration_seconds=1e-300),
        line(3, "JOB_COMPLETED", duration_ms=2**64 - 1),
        line(4, "JOB_COMPLETED", duration_seconds=True),
    ]
    s = summary(capsys, write(tmp_path / "d.log", lines))
    assert s["durations_seconds"]['["a",1]']["mean"] == huge
    assert s["durations_seconds"]["-"]["count"] == 2  # the bool is no duration
    assert sum(b["count"] for b in s["duration_histogram"]) == 4 and s["duration_histogram"][-1]["high"] == huge
    assert main(["stats", str(tmp_path / "d.log")]) == 0
    row = next(x for x in capsys.readouterr().out.splitlines() if x.startswith('  ["a",1]'))
    assert row.split()[2:] == ["1.7e+308"] * 5  # exponent form, not 309 digits


def test_a_utilization_sample_needs_active_jobs_at_least_0_and_a_limit_above_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = [
        line(0, "WORKER_BUSY", worker_id="w1", active_jobs=1, concurrency_limit=-4),
        line(1, "WORKER_BUSY", worker_id="w1", active_jobs=-1, concurrency_limit=4),
        line(2, "WORKER_BUSY", worker_id="w1", active_jobs=True, concurrency_limit=4),
        line(3, "WORKER_BUSY", worker_id="w1", active_jobs=1e308, concurrency_limit=1e-308),
        line(4, "WORKER_BUSY", worker_id="w1", active_jobs=1, concurrency_limit="x", concurrency=4),
        line(5, "WORKER_BUSY", worker_id={"pod": 7}, active_jobs=2, concurrency=4),
    ]
    u = summary(capsys, write(tmp_path / "u.log", lines))["utilization"]
    assert u["workers"] == {"w1": 0.25, '{"pod":7}': 0.5} and (u["samples"], u["worker_events"]) == (2, 6)


def test_a_report_stdout_cannot_encode_is_written_escaped(tmp_path: Path) -> None:
    log = write(tmp_path / "u.log", [line(0, "JOB_\u00e9\u4e2d")])
    zlog = str(Path(sys.executable).with_name("zlog"))
    env = {**os.environ, "PYTHONIOENCODING": "ascii"}
    text = subprocess.run([zlog, "stats", log], capture_output=True, timeout=60, env=env)
    assert text.returncode == 0 and b"JOB_\\xe9\\u4e2d" in text.stdout, text.stderr
    as_json = subprocess.run([zlog, "stats", log, "--json"], capture_output=True, timeout=60, env=env)
    assert as_json.returncode == 0 and "JOB_\u00e9\u4e2d" in json.loads(as_json.stdout)["signals"]
