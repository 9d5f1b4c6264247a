"""HealthSink: worker heartbeats and errors, queue backlog, failure rate, and the /health endpoint."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest

from zlog import HealthSink, MetricsSink, Router


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def wired(**kwargs: Any) -> tuple[Router, HealthSink, Clock]:
    clock = Clock()
    health = HealthSink(clock=clock, **kwargs)
    router = Router()
    router.route_all(health)
    return router, health, clock


def test_nothing_seen_is_healthy_with_the_documented_shape() -> None:
    _, health, _ = wired()
    report = health.status()
    assert report["status"] == "HEALTHY"
    assert set(report) == {"status", "checks", "timestamp"}
    assert report["timestamp"].endswith("Z")
    json.dumps(report)  # JSON-ready


def test_worker_heartbeat_age_degrades_then_makes_unhealthy() -> None:
    router, health, clock = wired(heartbeat_timeout=30)
    router.emit("WORKER_HEARTBEAT", "hb", worker_id="w1")
    assert health.status()["checks"]["worker:w1"]["status"] == "HEALTHY"
    clock.now += 31
    check = health.status()["checks"]["worker:w1"]
    assert check["status"] == "DEGRADED" and "no heartbeat" in check["reason"]
    clock.now += 30
    assert health.status()["status"] == "UNHEALTHY"
    router.emit("WORKER_STOPPED", "bye", worker_id="w1")
    assert "worker:w1" not in health.status()["checks"]


def test_worker_errors_in_the_window_degrade_the_worker() -> None:
    router, health, clock = wired(worker_errors=(2, 4), window=60)
    router.emit("WORKER_STARTED", "hi", worker_id="w1")
    for _ in range(2):
        router.emit("WORKER_ERROR", "oops", worker_id="w1")
    assert health.status()["checks"]["worker:w1"]["status"] == "DEGRADED"
    for _ in range(2):
        router.emit("WORKER_ERROR", "oops", worker_id="w1")
    assert health.status()["checks"]["worker:w1"]["status"] == "UNHEALTHY"
    clock.now += 61
    router.emit("WORKER_HEARTBEAT", "hb", worker_id="w1")
    assert health.status()["checks"]["worker:w1"]["status"] == "HEALTHY"


@pytest.mark.parametrize(("size", "status"), [(5, "HEALTHY"), (100, "DEGRADED"), (5000, "UNHEALTHY")])
def test_queue_backlog_against_thresholds(size: int, status: str) -> None:
    router, health, _ = wired(backlog=(100, 1000))
    router.emit("QUEUE_HEALTH_CHECK", "check", queue="emails", queue_size=size)
    assert health.status()["checks"]["queue:emails"]["status"] == status
    assert health.status()["status"] == status


def test_failure_rate_needs_enough_jobs_and_forgets_old_ones() -> None:
    router, health, clock = wired(failure_rate=(0.1, 0.25), min_events=10, window=60)
    for _ in range(3):
        router.emit("JOB_FAILED", "f")
    assert health.status()["checks"]["failure_rate"]["status"] == "HEALTHY"  # only 3 jobs seen
    for _ in range(7):
        router.emit("JOB_COMPLETED", "c")
    check = health.status()["checks"]["failure_rate"]
    assert check["status"] == "UNHEALTHY" and check["rate"] == 0.3
    clock.now += 61
    for _ in range(10):
        router.emit("JOB_COMPLETED", "c")
    assert health.status()["checks"]["failure_rate"]["status"] == "HEALTHY"


def test_invalid_thresholds_are_clear_errors() -> None:
    with pytest.raises(ValueError):
        HealthSink(backlog=(10, 5))
    with pytest.raises(ValueError):
        HealthSink(heartbeat_timeout=0)


def test_health_endpoint_serves_json_with_503_when_unhealthy_and_metrics_next_to_it() -> None:
    router, health, _ = wired(backlog=(1, 2))
    metrics = MetricsSink()
    router.route_all(metrics)
    server = health.serve_health(0, metrics=metrics)
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        ok = json.loads(urllib.request.urlopen(base + "/health", timeout=5).read())
        assert ok["status"] == "HEALTHY"
        router.emit("QUEUE_HEALTH_CHECK", "c", queue="q", queue_size=10)
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(base + "/health", timeout=5)
        assert info.value.code == 503
        assert json.loads(info.value.read())["status"] == "UNHEALTHY"
        body = urllib.request.urlopen(base + "/metrics", timeout=5).read().decode()
        assert 'zlog_events_total{signal="QUEUE_HEALTH_CHECK"} 1.0' in body
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(base + "/nope", timeout=5)
        assert missing.value.code == 404
    finally:
        server.shutdown()
        server.server_close()


def test_a_single_signal_name_is_one_signal_never_its_letters() -> None:
    router, health, _ = wired(heartbeat="WORKER_HEARTBEAT", worker_stopped="WORKER_STOPPED")
    router.emit("W", "a signal named like a letter of the name", worker_id="w-1")
    assert health.status()["checks"].keys() == {"failure_rate"}  # not taken for a heartbeat
    router.emit("WORKER_HEARTBEAT", "beat", worker_id="w-1")
    assert "worker:w-1" in health.status()["checks"]
    router.emit("WORKER_STOPPED", "bye", worker_id="w-1")
    assert "worker:w-1" not in health.status()["checks"]


def test_signal_arguments_take_signals_names_and_patterns() -> None:
    import zlog

    beat = zlog.Signal("WORKER_BEAT")
    router, health, _ = wired(heartbeat=[beat, "WORKER_ALIVE_*"])
    router.emit(beat, "beat", worker_id="w-1")
    router.emit("WORKER_ALIVE_AND_WELL", "beat", worker_id="w-2")
    assert {"worker:w-1", "worker:w-2"} <= health.status()["checks"].keys()
    with pytest.raises(TypeError):
        HealthSink(heartbeat=[42])  # type: ignore[list-item]
