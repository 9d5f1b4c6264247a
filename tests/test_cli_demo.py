"""``zlog demo``: the README's main command works after install, is deterministic and rejects bad options."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ZLOG = Path(sys.executable).with_name("zlog")


def demo(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(ZLOG), "demo", *args], capture_output=True, text=True, timeout=120)


def outcomes(stdout: str) -> dict[str, str]:
    lines = [json.loads(x) for x in stdout.splitlines()]
    assert all(list(x)[:2] == ["time", "level"] or list(x)[:2] == ["time", "signal"] for x in lines)
    return {x["job_id"]: x["signal"] for x in lines if x["signal"] in ("JOB_COMPLETED", "JOB_ABANDONED")}


def test_every_queued_job_ends_once_and_the_summary_verifies_the_audit_log() -> None:
    done = demo("--jobs", "30", "--workers", "3", "--seed", "2", "--failure-rate", "0.3")
    assert done.returncode == 0, done.stderr
    lines = [json.loads(x) for x in done.stdout.splitlines()]
    queued = [x["job_id"] for x in lines if x["signal"] == "JOB_QUEUED"]
    ends = [x["job_id"] for x in lines if x["signal"] in ("JOB_COMPLETED", "JOB_ABANDONED")]
    assert len(queued) == 30 and sorted(ends) == sorted(queued)
    summary = done.stderr.strip().splitlines()[-1]
    assert summary.startswith("30 jobs:") and "intact" in summary and "health:" in summary


def test_the_same_seed_gives_the_same_outcome_for_every_job() -> None:
    first = demo("--jobs", "25", "--workers", "4", "--seed", "5", "--failure-rate", "0.5")
    second = demo("--jobs", "25", "--workers", "2", "--seed", "5", "--failure-rate", "0.5")
    assert first.returncode == second.returncode == 0
    assert outcomes(first.stdout) == outcomes(second.stdout)


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["--jobs", "-1"], "--jobs: must be at least 0"),
        (["--workers", "0"], "--workers: must be at least 1"),
        (["--failure-rate", "2"], "--failure-rate: must be between 0 and 1"),
        (["--jobs", "many"], "expected a whole number"),
    ],
)
def test_bad_options_exit_2_with_a_clear_error_and_no_traceback(args: list[str], complaint: str) -> None:
    done = demo(*args)
    assert done.returncode == 2 and complaint in done.stderr and "Traceback" not in done.stderr


def test_the_demo_output_feeds_zlog_tail() -> None:
    done = demo("--jobs", "10", "--seed", "1")
    tail = subprocess.run(
        [str(ZLOG), "tail", "-", "--signal", "JOB_QUEUED", "--format", "json"],
        input=done.stdout,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert tail.returncode == 0 and len(tail.stdout.splitlines()) == 10


def test_ctrl_c_stops_the_workers_and_exits_130_quietly(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    with out.open("w") as stdout:
        proc = subprocess.Popen(
            [str(ZLOG), "demo", "--jobs", "20000", "--workers", "3"], stdout=stdout, stderr=subprocess.PIPE, text=True
        )
        assert proc.stderr is not None
        first = proc.stderr.readline()  # the backlog alert: the jobs are queued, the workers are starting
        assert "QueueBacklog" in first
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        rest = proc.stderr.read()
        assert proc.wait(timeout=60) == 130
    assert "Traceback" not in rest and "jobs:" not in rest
    names = [json.loads(x)["signal"] for x in out.read_text().splitlines()]
    assert names.count("WORKER_STARTED") == names.count("WORKER_STOPPED") == 3
    assert names.count("JOB_COMPLETED") < 20000


def test_a_reader_that_leaves_stops_the_demo_quietly() -> None:
    proc = subprocess.Popen(
        [str(ZLOG), "demo", "--jobs", "20000"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert json.loads(proc.stdout.readline())["signal"] == "JOB_QUEUED"
    proc.stdout.close()  # `zlog demo | head -1`
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == 0
    assert "Traceback" not in err and "BrokenPipe" not in err and "jobs:" not in err
