"""The examples run as a user would run them, and their output is what the docs promise."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "background_jobs.py"
TERMINAL = {"JOB_COMPLETED", "JOB_ABANDONED"}


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(EXAMPLE), *args], capture_output=True, text=True, timeout=60)


def events(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines()]


def outcomes(lines: list[dict[str, Any]]) -> dict[object, str]:
    return {line["job_id"]: str(line["signal"]) for line in lines if line["signal"] in TERMINAL}


@pytest.fixture(scope="module")
def first_run() -> subprocess.CompletedProcess[str]:
    return run("--jobs", "40", "--workers", "3", "--seed", "7", "--failure-rate", "0.4")


def test_background_jobs_writes_only_json_lines_with_the_core_keys_first(
    first_run: subprocess.CompletedProcess[str],
) -> None:
    assert first_run.returncode == 0, first_run.stderr
    lines = events(first_run.stdout)
    assert len(lines) > 40
    for line in lines:
        keys = [k for k in line if k in ("time", "level", "signal", "message")]
        assert list(line)[: len(keys)] == keys
        assert keys[0] == "time" and keys[-2:] == ["signal", "message"]
    summary = first_run.stderr.splitlines()[-1]
    assert summary.startswith("40 jobs:") and "alerts fired:" in summary
    assert ": intact," in summary and "health:" in summary


def test_every_queued_job_reaches_exactly_one_terminal_state(first_run: subprocess.CompletedProcess[str]) -> None:
    lines = events(first_run.stdout)
    queued = {line["job_id"] for line in lines if line["signal"] == "JOB_QUEUED"}
    terminal: dict[object, list[str]] = defaultdict(list)
    for line in lines:
        if line["signal"] in TERMINAL:
            terminal[line["job_id"]].append(str(line["signal"]))
    assert len(queued) == 40
    assert set(terminal) == queued
    assert all(len(states) == 1 for states in terminal.values())


def test_failures_are_retried_and_business_and_worker_signals_appear(
    first_run: subprocess.CompletedProcess[str],
) -> None:
    lines = events(first_run.stdout)
    signals = {line["signal"] for line in lines}
    assert {
        "JOB_FAILED",
        "JOB_RETRYING",
        "JOB_STARTED",
        "WORKER_STARTED",
        "WORKER_STOPPED",
        "WORKER_BUSY",
        "QUEUE_HEALTH_CHECK",
    } <= signals
    assert signals & {"EMAIL_SENT", "REPORT_GENERATED", "DATA_PROCESSED", "PAYMENT_PROCESSED"}
    failed = next(line for line in lines if line["signal"] == "JOB_FAILED")
    assert failed["error"]["type"].endswith("TransientError")
    started = [line for line in lines if line["signal"] == "JOB_STARTED"]
    assert all(str(line["worker_id"]).startswith("worker-") for line in started)


def test_the_job_system_sinks_see_their_signals(first_run: subprocess.CompletedProcess[str]) -> None:
    lines = events(first_run.stdout)
    abandoned = {line["job_type"] for line in lines if line["signal"] == "JOB_ABANDONED"}
    alert_lines = [line for line in first_run.stderr.splitlines() if line.startswith("zlog alert FIRING JobAbandoned")]
    assert abandoned and len(alert_lines) == len(abandoned)  # one alert per job type, not per job
    audited = sum(1 for line in lines if line["signal"] in ("PAYMENT_PROCESSED", "REPORT_GENERATED"))
    assert f"intact, {audited} records" in first_run.stderr


def test_same_seed_gives_the_same_outcome_per_job(first_run: subprocess.CompletedProcess[str]) -> None:
    again = run("--jobs", "40", "--workers", "2", "--seed", "7", "--failure-rate", "0.4")
    assert outcomes(events(again.stdout)) == outcomes(events(first_run.stdout))


def test_a_backlog_is_reported_when_the_queue_is_long() -> None:
    done = run("--jobs", "60", "--workers", "1", "--seed", "3", "--failure-rate", "0")
    lines = events(done.stdout)
    assert any(line["signal"] == "QUEUE_BACKLOG" for line in lines)
    assert all(line["signal"] != "JOB_ABANDONED" for line in lines)


@pytest.mark.parametrize("args", [["--jobs", "-1"], ["--jobs", "x"], ["--workers", "0"], ["--failure-rate", "2"]])
def test_bad_arguments_exit_2_without_a_traceback(args: list[str]) -> None:
    done = run(*args)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "usage:" in done.stderr
