"""MetricsSink: counts per signal, declared metrics, the cardinality guard, snapshot and exposition."""

from __future__ import annotations

import urllib.request
from collections.abc import Callable

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

import zlog
from zlog import MetricsSink, Router
from zlog.sinks._prometheus import registry_for


@zlog.signal(level="info")
def JOB_COMPLETED(*, job_id: str, job_type: str, duration_seconds: float) -> None:
    """A job finished."""


@zlog.signal(level="warn")
def JOB_FAILED(*, job_id: str, job_type: str) -> None:
    """A job failed."""


@zlog.signal
def QUEUE_HEALTH_CHECK(*, queue: str, queue_size: int) -> None:
    """Queue measurement."""


def wired(metrics: MetricsSink | None = None) -> tuple[Router, MetricsSink]:
    sink = MetricsSink() if metrics is None else metrics
    router = Router()
    router.route_all(sink)
    return router, sink


def samples(metrics: MetricsSink) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = generate_latest(registry_for(metrics)).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_every_event_is_counted_per_signal_and_declared_signals_start_at_zero() -> None:
    router, metrics = wired(MetricsSink(declare=[JOB_FAILED, "JOB_ABANDONED"]))
    router.emit(JOB_COMPLETED, "done", job_id="j1", job_type="email", duration_seconds=0.2)
    router.emit(JOB_COMPLETED, "done", job_id="j2", job_type="email", duration_seconds=0.3)
    router.emit("OTHER", "x")
    assert metrics.snapshot()["events"] == {"JOB_FAILED": 0, "JOB_ABANDONED": 0, "JOB_COMPLETED": 2, "OTHER": 1}


def test_labelled_counter_gauge_and_histogram_from_fields() -> None:
    router, metrics = wired()
    metrics.counter("zlog_jobs_failed_total", JOB_FAILED, labels=["job_type"])
    metrics.gauge("zlog_queue_size", QUEUE_HEALTH_CHECK, field="queue_size", labels=["queue"])
    metrics.histogram(
        "zlog_job_duration_seconds", JOB_COMPLETED, field="duration_seconds", labels=["job_type"], buckets=[0.1, 1.0]
    )
    router.emit(JOB_FAILED, "f", job_id="j1", job_type="email")
    router.emit(JOB_FAILED, "f", job_id="j2", job_type="email")
    router.emit(JOB_FAILED, "f", job_id="j3", job_type="report")
    router.emit(QUEUE_HEALTH_CHECK, "h", queue="default", queue_size=7)
    router.emit(QUEUE_HEALTH_CHECK, "h", queue="default", queue_size=3)
    for d in (0.05, 0.5, 5.0):
        router.emit(JOB_COMPLETED, "c", job_id="j", job_type="email", duration_seconds=d)
    snap = metrics.snapshot()["metrics"]
    failed = {tuple(s["labels"].items()): s["value"] for s in snap["zlog_jobs_failed_total"]["series"]}
    assert failed == {(("job_type", "email"),): 2, (("job_type", "report"),): 1}
    assert snap["zlog_queue_size"]["series"] == [{"labels": {"queue": "default"}, "value": 3.0}]
    [hist] = snap["zlog_job_duration_seconds"]["series"]
    assert hist["buckets"] == {"0.1": 1, "1.0": 2, "+Inf": 3}
    assert hist["count"] == 3 and hist["sum"] == pytest.approx(5.55)


def test_exposition_parses_with_prometheus_clients_own_parser() -> None:
    router, metrics = wired(MetricsSink(declare=[JOB_FAILED]))
    metrics.histogram(
        "zlog_job_duration_seconds", JOB_COMPLETED, field="duration_seconds", labels=["job_type"], buckets=[0.1, 1.0]
    )
    router.emit(JOB_COMPLETED, "c", job_id="j", job_type="email", duration_seconds=0.5)
    got = samples(metrics)
    assert got[("zlog_events_total", (("signal", "JOB_FAILED"),))] == 0
    assert got[("zlog_events_total", (("signal", "JOB_COMPLETED"),))] == 1
    assert got[("zlog_job_duration_seconds_bucket", (("job_type", "email"), ("le", "0.1")))] == 0
    assert got[("zlog_job_duration_seconds_bucket", (("job_type", "email"), ("le", "1.0")))] == 1
    assert got[("zlog_job_duration_seconds_bucket", (("job_type", "email"), ("le", "+Inf")))] == 1
    assert got[("zlog_job_duration_seconds_count", (("job_type", "email"),))] == 1
    assert got[("zlog_job_duration_seconds_sum", (("job_type", "email"),))] == 0.5


@pytest.mark.parametrize("labels", [["job_type"], ["job_type", "queue"]])
def test_label_values_are_text_of_at_most_128_characters(labels: list[str]) -> None:
    router, metrics = wired()
    metrics.counter("zlog_jobs_total", "JOB", labels=labels)
    for value in ["email", None, True, 42, 1.5, "x" * 300, "x" * 300 + "y"]:
        fields = {"job_type": value} if value is not None else {}
        router.emit("JOB", "j", **fields, queue="q1")
    series = metrics.snapshot()["metrics"]["zlog_jobs_total"]["series"]
    got = {s["labels"]["job_type"]: s["value"] for s in series}
    assert got == {"email": 1, "": 1, "true": 1, "42": 1, "1.5": 1, "x" * 128: 2}  # cut to 128: one series
    assert all(s["labels"].get("queue", "q1") == "q1" for s in series)


def test_cardinality_guard_folds_new_label_sets_into_other_and_counts_them() -> None:
    router, metrics = wired(MetricsSink(max_label_sets=3))
    metrics.counter("zlog_jobs_failed_total", JOB_FAILED, labels=["job_id"])
    for i in range(10):
        router.emit(JOB_FAILED, "f", job_id=f"j{i}", job_type="email")
    series = metrics.snapshot()["metrics"]["zlog_jobs_failed_total"]["series"]
    assert len(series) == 4  # three label sets plus "other"
    assert {"labels": {"job_id": "other"}, "value": 7} in series
    assert metrics.overflow == {"zlog_jobs_failed_total": 7}
    assert samples(metrics)[("zlog_metric_overflow_total", (("metric", "zlog_jobs_failed_total"),))] == 7


def test_missing_or_non_numeric_fields_are_skipped_and_counted() -> None:
    router, metrics = wired()
    metrics.gauge("zlog_queue_size", QUEUE_HEALTH_CHECK, field="queue_size")
    router.emit("QUEUE_HEALTH_CHECK", "h", queue="q")
    router.emit("QUEUE_HEALTH_CHECK", "h", queue="q", queue_size="big")
    router.emit("QUEUE_HEALTH_CHECK", "h", queue="q", queue_size=float("nan"))
    assert metrics.snapshot()["skipped"] == {
        "zlog_queue_size:missing": 1,
        "zlog_queue_size:not_a_number": 1,
        "zlog_queue_size:not_finite": 1,
    }
    assert metrics.snapshot()["metrics"]["zlog_queue_size"]["series"] == []


def test_numbers_of_every_kind_are_measured_and_impossible_ones_skipped() -> None:
    from enum import IntEnum

    class Size(IntEnum):
        BIG = 7

    router, metrics = wired()
    metrics.gauge("zlog_queue_size", QUEUE_HEALTH_CHECK, field="queue_size", scale=1)
    values: list[object] = [3, 2.5, Size.BIG, True, 10**400, float("inf"), None]
    readings = []
    for value in values:
        router.emit("QUEUE_HEALTH_CHECK", "h", queue="q", queue_size=value)
        [series] = metrics.snapshot()["metrics"]["zlog_queue_size"]["series"]
        readings.append(series["value"])
    assert readings == [3.0, 2.5, 7.0, 7.0, 7.0, 7.0, 7.0]  # the last good value stays
    assert all(type(r) is float for r in readings)
    assert metrics.snapshot()["skipped"] == {
        "zlog_queue_size:not_a_number": 1,
        "zlog_queue_size:not_finite": 2,
        "zlog_queue_size:missing": 1,
    }


def test_a_skipped_event_is_not_counted_as_overflow() -> None:
    router, metrics = wired(MetricsSink(max_label_sets=1))
    metrics.histogram("zlog_job_duration_seconds", JOB_COMPLETED, field="duration_seconds", labels=["job_type"])
    router.emit("JOB_COMPLETED", "c", job_id="j0", job_type="email")  # no duration: skipped, takes no label set
    router.emit("JOB_COMPLETED", "c", job_id="j1", job_type="report", duration_seconds=0.2)
    router.emit("JOB_COMPLETED", "c", job_id="j2", job_type="sms")  # guard full, but nothing to fold
    [series] = metrics.snapshot()["metrics"]["zlog_job_duration_seconds"]["series"]
    assert series["labels"] == {"job_type": "report"}
    assert metrics.overflow == {}
    assert metrics.skipped == {("zlog_job_duration_seconds", "missing"): 2}


def test_scale_converts_milliseconds_to_seconds() -> None:
    router, metrics = wired()
    metrics.histogram("zlog_job_duration_seconds", "JOB_DONE", field="duration_ms", scale=0.001, buckets=[1.0])
    router.emit("JOB_DONE", "d", duration_ms=1500)
    [hist] = metrics.snapshot()["metrics"]["zlog_job_duration_seconds"]["series"]
    assert hist["sum"] == 1.5 and hist["buckets"]["1.0"] == 0


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda m: m.counter("jobs_failed", "X"), "_total"),
        (lambda m: m.gauge("bad-name", "X", field="f"), "valid Prometheus name"),
        (lambda m: m.counter("x_total", "X", labels=["bad-label"]), "label"),
        (lambda m: m.histogram("h_seconds", "X", field="f", buckets=[]), "bucket"),
    ],
)
def test_invalid_declarations_are_clear_errors(call: Callable[[MetricsSink], None], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call(MetricsSink())


def test_declaring_a_metric_twice_is_an_error() -> None:
    metrics = MetricsSink()
    metrics.counter("x_total", "X")
    with pytest.raises(ValueError, match="already declared"):
        metrics.counter("x_total", "Y")
    with pytest.raises(ValueError):
        MetricsSink(max_label_sets=0)


def test_serve_metrics_answers_a_scrape_on_loopback() -> None:
    router, metrics = wired()
    router.emit("JOB_QUEUED", "q")
    server = metrics.serve_metrics(0)
    try:
        port = server.server_port
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    finally:
        server.shutdown()
        server.server_close()
    assert "zlog_events" in {f.name for f in text_string_to_metric_families(body)}
    assert 'zlog_events_total{signal="JOB_QUEUED"} 1.0' in body


def test_exposition_passes_promtool_lint_when_promtool_is_installed() -> None:
    import shutil
    import subprocess

    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not installed (apt-get install prometheus) - lint against the real consumer skipped")
    router, metrics = wired(MetricsSink(declare=[JOB_FAILED]))
    metrics.counter("zlog_jobs_failed_total", JOB_FAILED, labels=["job_type"], help="Failed jobs by type.")
    metrics.histogram("zlog_job_duration_seconds", JOB_COMPLETED, field="duration_seconds", help="Job duration.")
    router.emit(JOB_FAILED, "f", job_id="j", job_type="email")
    router.emit(JOB_COMPLETED, "c", job_id="j", job_type="email", duration_seconds=0.3)
    text = generate_latest(registry_for(metrics))
    done = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr.decode()


def test_zlog_events_total_keeps_at_most_max_label_sets_signals_and_folds_the_rest_into_other() -> None:
    router, metrics = wired(MetricsSink(declare="JOB_DONE", max_label_sets=10))
    for i in range(200_000):
        router.emit(f"DYNAMIC_{i}", "a signal name made at run time")
    router.emit("JOB_DONE", "declared signals keep their series")
    events = metrics.snapshot()["events"]
    assert len(events) == 11  # ten signals (the declared one among them) and "other"
    assert events["JOB_DONE"] == 1 and events["other"] == 200_000 - 9
    assert metrics.overflow == {"zlog_events_total": 200_000 - 9}
    assert samples(metrics)[("zlog_metric_overflow_total", (("metric", "zlog_events_total"),))] == 200_000 - 9


def test_a_single_signal_name_is_one_signal_never_its_letters() -> None:
    router, metrics = wired(MetricsSink(declare="JOB_DONE"))
    metrics.counter("zlog_done_total", "JOB_DONE")
    router.emit("J", "x")
    assert metrics.snapshot()["events"] == {"JOB_DONE": 0, "J": 1}
    assert metrics.snapshot()["metrics"]["zlog_done_total"]["signals"] == ["JOB_DONE"]
    with pytest.raises(ValueError, match="pattern"):
        MetricsSink(declare="JOB_*")
    with pytest.raises(TypeError):
        MetricsSink(declare=42)  # type: ignore[arg-type]


def test_a_metric_on_several_signals_or_a_pattern_counts_each_matching_event() -> None:
    router, metrics = wired()
    metrics.counter("zlog_job_endings_total", ["JOB_FAILED", "JOB_ABANDONED"], labels=["job_type"])
    metrics.counter("zlog_worker_events_total", "WORKER_*")
    for signal in ("JOB_FAILED", "JOB_ABANDONED", "JOB_COMPLETED", "WORKER_BUSY", "WORKER_IDLE", "OTHER"):
        router.emit(signal, "x", job_type="email")
    got = samples(metrics)
    assert got[("zlog_job_endings_total", (("job_type", "email"),))] == 2
    assert got[("zlog_worker_events_total", ())] == 2
