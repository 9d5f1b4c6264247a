"""The scenario examples run as a user runs them, and show what their docstrings promise."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
RULES = EXAMPLES / "prometheus" / "alert_rules.yml"


def run(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, str(EXAMPLES / script), *args], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return done


def test_event_monitoring_covers_the_lifecycle_and_its_analysis_matches_zlog_stats(tmp_path: Path) -> None:
    out = tmp_path / "events.jsonl"
    done = run("event_monitoring.py", "--jobs", "200", "--burst", "5000", "--seed", "2", "--out", str(out))
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    signals = {x["signal"] for x in lines}
    assert {"SCHEDULED", "SCHEDULE_TRIGGERED", "RETRY_SCHEDULED", "JOB_ENQUEUED", "JOB_STARTED", "JOB_COMPLETED",
            "JOB_FAILED", "WORKER_STARTED", "WORKER_STOPPED", "WORKER_IDLE", "WORKER_BUSY", "WORKER_HEARTBEAT",
            "WORKER_ERROR"} <= signals
    heartbeat = next(x for x in lines if x["signal"] == "WORKER_HEARTBEAT")
    assert {"hostname", "pid", "active_jobs", "concurrency_limit"} <= set(heartbeat)
    assert sum(x["signal"] == "WORKER_HEARTBEAT" for x in lines) >= 5000
    completed = sum(x["signal"] == "JOB_COMPLETED" for x in lines)
    failed = sum(x["signal"] == "JOB_FAILED" for x in lines)
    assert f"success rate {completed / (completed + failed):.1%}" in done.stderr
    stats = subprocess.run([str(Path(sys.executable).with_name("zlog")), "stats", str(out), "--json"],
                           capture_output=True, text=True, timeout=60, check=True)
    summary = json.loads(stats.stdout)
    assert summary["jobs"]["completed"] == completed and summary["jobs"]["failed_attempts"] == failed
    top = summary["top_errors"][0]["type"].rsplit(".", 1)[-1]
    assert top in done.stderr.split("error patterns: ")[1].split(",")[0]


def test_task_events_reach_every_sink_and_the_live_subscriber_in_order() -> None:
    done = run("task_events.py", "--tasks", "15", "--seed", "3")
    lines = [json.loads(x) for x in done.stdout.splitlines()]
    live = [x.split()[1] for x in done.stderr.splitlines() if x.startswith("live: ")]
    assert live == [x["signal"] for x in lines]  # the live view saw every event, in order
    assert {"task_enqueued", "task_started", "task_completed", "worker_online", "worker_offline"} <= set(live)
    assert f"live subscriber printed {len(lines)} events" in done.stderr


def test_health_checks_walk_through_degraded_unhealthy_and_recovery() -> None:
    done = run("health_checks.py")
    steps = [json.loads(x) for x in done.stdout.splitlines()]
    assert [s["status"] for s in steps] == ["HEALTHY", "DEGRADED", "DEGRADED", "UNHEALTHY", "UNHEALTHY", "HEALTHY"]
    assert "worker:scheduler" in steps[4]["problems"] and "queue:emails" in steps[4]["problems"]
    assert all(set(s["checks"][name]) >= {"status", "reason"} for s in steps for name in s["checks"])


def rule_metric_names() -> set[str]:
    exprs = re.findall(r"expr: \|?\s*((?:.|\n)*?)\n\s+for:", RULES.read_text())
    names = set()
    for expr in exprs:
        names |= set(re.findall(r"\b(zlog_[a-z_]+)\b", expr))
    return names


def test_prometheus_example_serves_every_metric_its_alert_rules_use_and_health() -> None:
    from prometheus_client.parser import text_string_to_metric_families

    script = EXAMPLES / "prometheus_alerting.py"
    proc = subprocess.Popen([sys.executable, str(script), "--port", "0", "--serve-seconds", "20", "--jobs", "300"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        url = re.search(r"http://[\d.]+:\d+", first)
        assert url is not None, first + (proc.stderr.read() if proc.stderr else "")
        deadline = time.monotonic() + 10
        while True:
            try:
                with urllib.request.urlopen(url.group() + "/metrics", timeout=5) as response:
                    exposition = response.read().decode()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        with urllib.request.urlopen(url.group() + "/health", timeout=5) as response:
            health = json.loads(response.read())
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    samples = {s.name for family in text_string_to_metric_families(exposition) for s in family.samples}
    used = rule_metric_names()
    assert used >= {"zlog_jobs_failed_total", "zlog_jobs_completed_total", "zlog_queue_depth",
                    "zlog_worker_utilization", "zlog_job_processing_seconds_bucket"}
    assert used <= samples, used - samples
    assert health["status"] in ("HEALTHY", "DEGRADED", "UNHEALTHY") and "checks" in health


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed (apt-get install prometheus)")
def test_promtool_accepts_the_alert_rules_and_the_scrape_config() -> None:
    for args in (["check", "rules", str(RULES)], ["check", "config", str(EXAMPLES / "prometheus" / "prometheus.yml")]):
        done = subprocess.run(["promtool", *args], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr
