"""``zlog stats``: counts, rates, outcomes, nearest-rank percentiles, errors, utilization, JSON and HTML."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from zlog.cli import main
from zlog.cli._stats import percentile


def line(second: int, signal: str, **fields: Any) -> str:
    return json.dumps({"time": f"2026-11-22T14:{second // 60:02d}:{second % 60:02d}.000000Z", "level": "info",
                       "signal": signal, "message": signal.lower(), **fields})


def write(path: Path, lines: list[str]) -> str:
    path.write_text("\n".join(lines) + "\n")
    return str(path)


@pytest.fixture()
def log(tmp_path: Path) -> str:
    lines = [line(i, "JOB_COMPLETED", job_type="email", duration_seconds=float(i + 1)) for i in range(10)]
    lines += [line(20, "JOB_COMPLETED", job_type="report", duration_ms=2500)]
    lines += [line(30 + i, "JOB_FAILED", job_type="email", error={"type": "TimeoutError", "message": "smtp"})
              for i in range(3)]
    lines += [line(40, "JOB_FAILED", error={"type": "ValueError", "message": "bad"}), line(41, "JOB_ABANDONED")]
    lines += [line(50, "WORKER_HEARTBEAT", worker_id="w1", active_jobs=2, concurrency_limit=4),
              line(110, "WORKER_HEARTBEAT", worker_id="w1", active_jobs=4, concurrency_limit=4),
              line(119, "WORKER_BUSY", worker_id="w2", active_jobs=1, concurrency=4)]
    lines += ["not json at all"]
    return write(tmp_path / "app.log", lines)


def summary(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    assert main(["stats", *args, "--json"]) == 0
    result: dict[str, Any] = json.loads(capsys.readouterr().out)
    return result


def test_counts_rates_and_skipped_lines(log: str, capsys: pytest.CaptureFixture[str]) -> None:
    s = summary(capsys, log)
    assert s["events"] == 19 and s["skipped_lines"] == 1 and s["span_seconds"] == 119.0
    assert s["signals"]["JOB_COMPLETED"]["count"] == 11
    assert s["signals"]["JOB_FAILED"]["per_second"] == pytest.approx(4 / 119)


def test_job_outcomes_and_ratios(log: str, capsys: pytest.CaptureFixture[str]) -> None:
    jobs = summary(capsys, log)["jobs"]
    assert (jobs["completed"], jobs["failed_attempts"], jobs["abandoned"]) == (11, 4, 1)
    assert jobs["success_ratio"] == pytest.approx(11 / 12)
    assert jobs["attempt_failure_ratio"] == pytest.approx(4 / 15)


def test_nearest_rank_percentiles_per_job_type_and_ms_converted(log: str, capsys: pytest.CaptureFixture[str]) -> None:
    durations = summary(capsys, log)["durations_seconds"]
    assert durations["email"] == {"count": 10, "p50": 5.0, "p95": 10.0, "p99": 10.0, "max": 10.0, "mean": 5.5}
    assert percentile([float(x) for x in range(1, 101)], 95) == 95.0
    assert summary(capsys, log, "--duration-field", "duration_ms")["durations_seconds"] == {
        "report": {"count": 1, "p50": 2.5, "p95": 2.5, "p99": 2.5, "max": 2.5, "mean": 2.5}}


def test_top_errors_and_worker_utilization(log: str, capsys: pytest.CaptureFixture[str]) -> None:
    s = summary(capsys, log)
    assert s["top_errors"][0] == {"type": "TimeoutError", "message": "smtp", "count": 3}
    assert s["utilization"]["workers"] == {"w1": 0.75, "w2": 0.25}
    assert s["utilization"]["overall"] == pytest.approx((0.5 + 1.0 + 0.25) / 3)


def test_custom_outcome_signals(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path / "t.log", [line(0, "TASK_DONE", took=1.0), line(1, "TASK_ERROR"), line(2, "TASK_DONE")])
    jobs = summary(capsys, path, "--completed", "TASK_D*", "--failed", "TASK_ERROR")["jobs"]
    assert (jobs["completed"], jobs["failed_attempts"]) == (2, 1)


def test_text_report_and_empty_input(log: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    assert main(["stats", log]) == 0
    out = capsys.readouterr().out
    assert out.startswith("19 events from 2026-11-22 14:00:00Z") and "success ratio 91.7%" in out
    assert "TimeoutError" in out and "1 lines skipped" in out
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"")))
    assert main(["stats", "-"]) == 0
    assert capsys.readouterr().out == "no events\n"


def test_html_report_is_one_self_contained_page(log: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "report.html"
    assert main(["stats", log, "--html", str(report)]) == 0
    page = report.read_text()
    assert page.startswith("<!doctype html>") and page.count("<svg") == 2
    assert "http://" not in page and "https://" not in page and "<script" not in page
    assert "JOB_COMPLETED (11)" in page  # series labelled on their own row: no legend to hunt for


def test_missing_file_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stats", "missing.log"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == "zlog: missing.log: no such file"


def test_counts_match_the_demo_output_through_the_console_script() -> None:
    zlog = str(Path(sys.executable).with_name("zlog"))
    demo = subprocess.run([zlog, "demo", "--jobs", "60", "--seed", "4", "--failure-rate", "0.3"],
                          capture_output=True, text=True, timeout=120, check=True)
    stats = subprocess.run([zlog, "stats", "-", "--json"], input=demo.stdout, capture_output=True, text=True,
                           timeout=60, check=True)
    s = json.loads(stats.stdout)
    expected = Counter(json.loads(x)["signal"] for x in demo.stdout.splitlines())
    assert {k: v["count"] for k, v in s["signals"].items()} == dict(expected)
    assert s["jobs"]["completed"] + s["jobs"]["abandoned"] == 60
