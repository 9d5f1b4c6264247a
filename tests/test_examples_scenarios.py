"""The scenario examples run as a user runs them, and show what their docstrings promise."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
RULES = EXAMPLES / "prometheus" / "alert_rules.yml"
CONFIG = EXAMPLES / "prometheus" / "prometheus.yml"
needs_promtool = pytest.mark.skipif(
    shutil.which("promtool") is None, reason="promtool not installed (apt-get install prometheus)"
)


def run(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, str(EXAMPLES / script), *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done


# -- event_monitoring.py ---------------------------------------------------------------------------------


def test_event_monitoring_covers_the_lifecycle_and_its_live_analysis_matches_the_json_lines(tmp_path: Path) -> None:
    out = tmp_path / "events.jsonl"
    done = run("event_monitoring.py", "--jobs", "200", "--burst", "5000", "--seed", "2", "--out", str(out))
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    signals = Counter(x["signal"] for x in lines)
    assert {
        "SCHEDULED",
        "SCHEDULE_TRIGGERED",
        "RETRY_SCHEDULED",
        "JOB_ENQUEUED",
        "JOB_STARTED",
        "JOB_COMPLETED",
        "JOB_FAILED",
        "WORKER_STARTED",
        "WORKER_STOPPED",
        "WORKER_IDLE",
        "WORKER_BUSY",
        "WORKER_HEARTBEAT",
        "WORKER_ERROR",
    } <= set(signals)
    assert signals["JOB_ENQUEUED"] == 200 and signals["WORKER_HEARTBEAT"] >= 5000  # the burst is in the file
    heartbeat = next(x for x in lines if x["signal"] == "WORKER_HEARTBEAT")
    assert {"hostname", "pid", "active_jobs", "concurrency_limit"} <= set(heartbeat)
    # The summary the sink computed while events flowed agrees with an aggregation of the JSON lines
    # (what `zlog stats events.jsonl` does on the command line).
    completed, failed = signals["JOB_COMPLETED"], signals["JOB_FAILED"]
    durations = [x["duration_seconds"] for x in lines if x["signal"] in ("JOB_COMPLETED", "JOB_FAILED")]
    performance, errors, utilization = done.stderr.splitlines()[-3:]
    assert f"{completed + failed} attempts, success rate {completed / (completed + failed):.1%}" in performance
    assert f"average duration {sum(durations) / len(durations):.3f} s" in performance
    types = Counter(
        x["error"]["type"].rsplit(".", 1)[-1] for x in lines if x["signal"] in ("JOB_FAILED", "WORKER_ERROR")
    )
    top, count = types.most_common(1)[0]
    assert errors.startswith(f"error patterns: {top} x{count}")
    assert all(f"worker-{n} " in utilization for n in range(3)) and "fleet of 200 workers" in utilization


def test_event_monitoring_writes_json_lines_to_stdout_without_out() -> None:
    done = run("event_monitoring.py", "--jobs", "10", "--burst", "20", "--seed", "1")
    assert all(json.loads(x)["signal"] for x in done.stdout.splitlines())
    assert "performance:" in done.stderr


# -- task_events.py --------------------------------------------------------------------------------------


def test_task_events_reach_every_sink_the_live_subscriber_in_order_and_stay_immutable() -> None:
    done = run("task_events.py", "--tasks", "15", "--seed", "3")
    lines = [json.loads(x) for x in done.stdout.splitlines()]
    live = [x.split()[1:3] for x in done.stderr.splitlines() if x.startswith("live: ")]
    # the live view saw every event the JSON sink wrote, in the same order, with the same subject
    assert live == [[x["signal"], x.get("task_id") or x["worker"]] for x in lines]
    assert {
        "task_enqueued",
        "task_started",
        "task_completed",
        "task_failed",
        "task_reenqueued",
        "task_cancelled",
        "worker_online",
        "worker_heartbeat",
        "worker_offline",
    } <= {signal for signal, _ in live}
    assert "raised TypeError=True; replace() made a copy, original unchanged=True" in done.stderr
    assert f"live subscriber printed {len(lines)} events" in done.stderr


# -- health_checks.py ------------------------------------------------------------------------------------


def test_health_checks_walk_through_degraded_unhealthy_and_recovery() -> None:
    done = run("health_checks.py")
    steps = [json.loads(x) for x in done.stdout.splitlines()]
    assert [s["status"] for s in steps] == ["HEALTHY", "DEGRADED", "DEGRADED", "UNHEALTHY", "UNHEALTHY", "HEALTHY"]
    assert set(steps[1]["problems"]) == {"queue:default"}
    assert steps[2]["problems"] == {"queue:default": "backlog 250 >= 100", "worker:worker-2": "no heartbeat for 35s"}
    assert steps[3]["checks"]["worker:worker-2"]["status"] == "UNHEALTHY"
    assert steps[4]["checks"]["worker:scheduler"]["status"] == "UNHEALTHY"
    assert steps[4]["checks"]["queue:emails"]["status"] == "UNHEALTHY"
    assert {
        "worker:worker-1",
        "worker:worker-2",
        "worker:scheduler",
        "queue:default",
        "queue:emails",
        "failure_rate",
    } == set(steps[-1]["checks"]) and not steps[-1]["problems"]


# -- prometheus_alerting.py + prometheus/*.yml -----------------------------------------------------------

PROMQL_WORDS = {
    "and",
    "or",
    "unless",
    "bool",
    "offset",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "inf",
    "nan",
}


def rule_exprs() -> list[str]:
    """Every ``expr:`` of alert_rules.yml, block scalars joined (no YAML library needed)."""
    lines, exprs = RULES.read_text().splitlines(), []
    for i, line in enumerate(lines):
        match = re.match(r"(\s*)expr:\s*(.*)$", line)
        if match is None:
            continue
        indent, value = len(match.group(1)), match.group(2).strip()
        if value in ("|", ">", "|-", ">-"):
            block = []
            for following in lines[i + 1 :]:
                if following.strip() and len(following) - len(following.lstrip()) <= indent:
                    break
                block.append(following.strip())
            value = " ".join(block)
        exprs.append(value)
    return exprs


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects: identifiers that are not functions, keywords or labels."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    expr = re.sub(r"\{[^}]*\}|\[[^\]]*\]", " ", expr)  # label matchers, range selectors
    expr = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)
    names = set()
    for match in re.finditer(r"(?<![\w.])[A-Za-z_:][\w:]*", expr):
        if not expr[match.end() :].lstrip().startswith("(") and match.group().lower() not in PROMQL_WORDS:
            names.add(match.group())
    return names


def test_the_expression_parser_finds_metric_names_only() -> None:
    expr = 'histogram_quantile(0.95, sum by (le, job) (rate(a_bucket{x="y"}[5m]))) > 1e-9 and on(x) b_total'
    assert metric_names(expr) == {"a_bucket", "b_total"}


def test_prometheus_example_serves_every_metric_its_alert_rules_use_and_health() -> None:
    from prometheus_client.parser import text_string_to_metric_families

    proc = subprocess.Popen(
        [
            sys.executable,
            str(EXAMPLES / "prometheus_alerting.py"),
            "--port",
            "0",
            "--serve-seconds",
            "3",
            "--jobs",
            "300",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()  # printed once the server listens
        url = re.search(r"http://127\.0\.0\.1:\d+", first)
        assert url is not None, first + (proc.stderr.read() if proc.stderr else "")
        with urllib.request.urlopen(url.group() + "/metrics", timeout=10) as response:
            exposition = response.read().decode()
        try:
            with urllib.request.urlopen(url.group() + "/health", timeout=10) as response:
                code, health = response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:  # 503 when UNHEALTHY, still with the JSON report
            code, health = exc.code, json.loads(exc.read())
        assert proc.wait(timeout=60) == 0  # --serve-seconds 3 ends the process by itself
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    samples = {s.name for family in text_string_to_metric_families(exposition) for s in family.samples}
    exprs = rule_exprs()
    used = set().union(*map(metric_names, exprs))
    assert len(exprs) >= 5 and used >= {
        "zlog_jobs_failed_total",
        "zlog_jobs_completed_total",
        "zlog_queue_depth",
        "zlog_worker_utilization",
        "zlog_job_processing_seconds_bucket",
    }
    assert used <= samples, f"alert rules use metrics the example does not export: {used - samples}"
    depth = {
        s.labels["priority"]
        for f in text_string_to_metric_families(exposition)
        for s in f.samples
        if s.name == "zlog_queue_depth"
    }
    assert depth == {"high", "normal", "low"}
    assert health["status"] in ("HEALTHY", "DEGRADED", "UNHEALTHY") and "checks" in health
    assert code == (503 if health["status"] == "UNHEALTHY" else 200)


def exposition_without_serving() -> tuple[str, dict[str, Any]]:
    done = run("prometheus_alerting.py", "--jobs", "200", "--seed", "4")
    text, _, health = done.stdout.rstrip("\n").rpartition("\n")
    return text + "\n", json.loads(health)


def test_prometheus_example_without_serving_prints_the_exposition_and_health() -> None:
    from prometheus_client.parser import text_string_to_metric_families

    text, health = exposition_without_serving()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    submitted = sum(s.value for s in families["zlog_jobs_submitted"].samples)
    assert submitted == 200 and families["zlog_job_processing_seconds"].type == "histogram"
    assert families["zlog_worker_utilization"].type == "gauge" and "failure_rate" in health["checks"]


@needs_promtool
def test_promtool_accepts_the_rules_the_config_and_the_exposition() -> None:
    for args in (["check", "rules", str(RULES)], ["check", "config", str(CONFIG)]):
        done = subprocess.run(["promtool", *args], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr
    text, _ = exposition_without_serving()
    done = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def alert(name: str, at: str, labels: dict[str, str], summary: str | None) -> dict[str, Any]:
    expected = [] if summary is None else [{"exp_labels": labels, "exp_annotations": {"summary": summary}}]
    return {"eval_time": at, "alertname": name, "exp_alerts": expected}


@needs_promtool
def test_promtool_unit_tests_show_the_alerts_fire_when_they_should(tmp_path: Path) -> None:
    failing = {
        "interval": "1m",
        "input_series": [
            {"series": 'zlog_jobs_completed_total{job_type="email"}', "values": "0+70x30"},
            {"series": 'zlog_jobs_failed_total{job_type="email"}', "values": "0+30x30"},
            {"series": 'zlog_events_total{signal="WORKER_HEARTBEAT"}', "values": "0+6x10 60x30"},
            {"series": 'zlog_queue_depth{priority="high"}', "values": "150x30"},
            {"series": 'zlog_queue_depth{priority="low"}', "values": "3x30"},
            {"series": 'zlog_worker_utilization{worker_id="worker-0"}', "values": "1x30"},
            {"series": 'zlog_worker_utilization{worker_id="worker-1"}', "values": "0.95x30"},
        ],
        "alert_rule_test": [
            alert(
                "JobFailureRateHigh", "10m", {"severity": "page"}, "More than 20% of job attempts failed over 5 minutes"
            ),
            alert("WorkerHeartbeatsStopped", "5m", {}, None),
            alert(
                "WorkerHeartbeatsStopped",
                "25m",
                {"severity": "page"},
                "No worker heartbeat for 10 minutes: the workers are down or stuck",
            ),
            alert(
                "QueueDepthHigh",
                "15m",
                {"severity": "warning", "priority": "high"},
                "150 high-priority jobs are waiting",
            ),
            alert("WorkersSaturated", "20m", {"severity": "warning"}, "Workers are more than 90% busy: add capacity"),
            alert("NoJobsCompleting", "20m", {}, None),
        ],
    }
    healthy = {
        "interval": "1m",
        "input_series": [
            {"series": 'zlog_jobs_completed_total{job_type="email"}', "values": "0+95x30"},
            {"series": 'zlog_jobs_failed_total{job_type="email"}', "values": "0+5x30"},
            {"series": 'zlog_jobs_submitted_total{job_type="email"}', "values": "0+100x30"},
            {"series": 'zlog_queue_depth{priority="high"}', "values": "20x30"},
            {"series": 'zlog_worker_utilization{worker_id="worker-0"}', "values": "0.5x30"},
        ],
        "alert_rule_test": [
            alert(name, "25m", {}, None)
            for name in ("JobFailureRateHigh", "QueueDepthHigh", "WorkersSaturated", "NoJobsCompleting")
        ],
    }
    stalled = {
        "interval": "1m",
        "input_series": [
            {"series": 'zlog_jobs_completed_total{job_type="email"}', "values": "0+10x5 50x30"},
            {"series": 'zlog_jobs_submitted_total{job_type="email"}', "values": "0+10x35"},
        ],
        "alert_rule_test": [
            alert(
                "NoJobsCompleting", "35m", {"severity": "page"}, "Jobs are submitted but none completed in 15 minutes"
            )
        ],
    }
    tests = tmp_path / "alert_rules_test.yml"  # JSON is YAML
    tests.write_text(
        json.dumps(
            {"rule_files": [str(RULES)], "evaluation_interval": "1m", "tests": [failing, healthy, stalled]}, indent=1
        )
    )
    done = subprocess.run(["promtool", "test", "rules", str(tests)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
