"""AlertSink: rules, the pending/firing/resolved life of an alert, dedup, repeat and notifiers."""

from __future__ import annotations

from typing import Any

import pytest
from http_capture import Capture

from zlog import AlertSink, Router
from zlog.sinks.alerts import AlertmanagerNotifier, WebhookNotifier, stderr_notifier


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def wired(**kwargs: Any) -> tuple[Router, AlertSink, Clock, list[dict[str, Any]]]:
    clock = Clock()
    got: list[dict[str, Any]] = []
    alerts = AlertSink([got.append], clock=clock, **kwargs)
    router = Router()
    router.route_all(alerts)
    return router, alerts, clock, got


def statuses(got: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(n["labels"]["alertname"], n["status"]) for n in got]


def test_a_burst_of_1000_occurrences_is_one_alert_that_resolves() -> None:
    router, alerts, clock, got = wired()
    alerts.on("JOB_ABANDONED", name="JobAbandoned", by=["job_type"], severity="critical", resolve_after=60)
    for _ in range(1000):
        router.emit("JOB_ABANDONED", "gave up", job_type="email")
    alerts.flush(timeout=5)
    assert statuses(got) == [("JobAbandoned", "firing")]
    assert got[0]["labels"] == {
        "alertname": "JobAbandoned",
        "service": "zlog",
        "severity": "critical",
        "job_type": "email",
    }
    assert got[0]["endsAt"] == "0001-01-01T00:00:00Z" and got[0]["generatorURL"] == "zlog://zlog/JOB_ABANDONED"
    clock.now += 61
    alerts.flush(timeout=5)
    assert statuses(got) == [("JobAbandoned", "firing"), ("JobAbandoned", "resolved")]
    assert got[1]["endsAt"] != "0001-01-01T00:00:00Z" and alerts.active() == []


def test_label_sets_are_separate_alerts() -> None:
    router, alerts, _clock, got = wired()
    alerts.on("JOB_ABANDONED", name="JobAbandoned", by=["job_type"])
    router.emit("JOB_ABANDONED", "x", job_type="email")
    router.emit("JOB_ABANDONED", "x", job_type="report")
    alerts.flush(timeout=5)
    assert sorted(n["labels"]["job_type"] for n in got) == ["email", "report"]


def test_a_firing_alert_repeats_after_the_repeat_interval_only() -> None:
    router, alerts, clock, got = wired(repeat_interval=100)
    alerts.on("QUEUE_BACKLOG", name="Backlog", resolve_after=1000)
    router.emit("QUEUE_BACKLOG", "deep")
    clock.now += 50
    router.emit("QUEUE_BACKLOG", "deep")
    clock.now += 51
    router.emit("QUEUE_BACKLOG", "deep")
    alerts.flush(timeout=5)
    assert statuses(got) == [("Backlog", "firing"), ("Backlog", "firing")]


def test_threshold_over_a_sliding_window() -> None:
    router, alerts, clock, got = wired()
    alerts.threshold("ERROR", count=3, window=10, name="ErrorBurst")
    for _ in range(2):
        router.emit("ERROR", "e")
        clock.now += 6
    router.emit("ERROR", "e")  # only 2 within the last 10 s
    alerts.flush(timeout=5)
    assert got == []
    router.emit("ERROR", "e")
    router.emit("ERROR", "e")
    alerts.flush(timeout=5)
    assert statuses(got) == [("ErrorBurst", "firing")]
    clock.now += 11
    alerts.flush(timeout=5)
    assert statuses(got)[-1] == ("ErrorBurst", "resolved")


def test_failure_ratio_with_a_minimum_event_count() -> None:
    router, alerts, _clock, got = wired()
    alerts.ratio(
        ["JOB_FAILED", "JOB_ABANDONED"], ["JOB_COMPLETED"], above=0.2, window=300, min_events=10, name="JobFailureRate"
    )
    for _ in range(3):
        router.emit("JOB_FAILED", "f")
    alerts.flush(timeout=5)
    assert got == []  # 3 of 3 failed, but fewer than 10 events
    for _ in range(7):
        router.emit("JOB_COMPLETED", "c")
    alerts.flush(timeout=5)
    assert statuses(got) == [("JobFailureRate", "firing")]
    assert got[0]["annotations"]["description"].startswith("3/10 = 30%")
    for _ in range(10):
        router.emit("JOB_COMPLETED", "c")
    alerts.flush(timeout=5)
    assert statuses(got)[-1] == ("JobFailureRate", "resolved")


def test_absence_of_heartbeats_per_worker_and_forget() -> None:
    router, alerts, clock, got = wired()
    alerts.absence("WORKER_HEARTBEAT", after=30, by=["worker_id"], forget="WORKER_STOPPED", name="WorkerSilent")
    router.emit("WORKER_HEARTBEAT", "hb", worker_id="w1")
    router.emit("WORKER_HEARTBEAT", "hb", worker_id="w2")
    clock.now += 20
    router.emit("WORKER_HEARTBEAT", "hb", worker_id="w2")
    router.emit("WORKER_STOPPED", "bye", worker_id="w2")
    clock.now += 15
    alerts.flush(timeout=5)
    assert [(n["labels"]["worker_id"], n["status"]) for n in got] == [("w1", "firing")]
    router.emit("WORKER_HEARTBEAT", "back", worker_id="w1")
    alerts.flush(timeout=5)
    assert [(n["labels"]["worker_id"], n["status"]) for n in got][-1] == ("w1", "resolved")


def test_pending_for_needs_the_condition_to_hold() -> None:
    router, alerts, clock, got = wired()
    alerts.on("QUEUE_BACKLOG", name="Backlog", pending_for=10, resolve_after=5)
    router.emit("QUEUE_BACKLOG", "deep")
    assert alerts.active()[0]["state"] == "pending"
    clock.now += 6  # resolved before it was due: never fires
    alerts.flush(timeout=5)
    assert got == [] and alerts.active() == []
    router.emit("QUEUE_BACKLOG", "deep")
    for _ in range(3):
        clock.now += 4
        router.emit("QUEUE_BACKLOG", "deep")
    alerts.flush(timeout=5)
    assert statuses(got) == [("Backlog", "firing")]


def test_label_sets_per_rule_are_bounded_by_max_label_sets() -> None:
    router, alerts, _, got = wired(max_label_sets=3)
    alerts.on("JOB_ABANDONED", name="JobAbandoned", by=["job_id"])
    for i in range(10):
        router.emit("JOB_ABANDONED", "x", job_id=f"j{i}")
    alerts.flush(timeout=5)
    assert sorted(n["labels"]["job_id"] for n in got) == ["j0", "j1", "j2", "other"]


def test_invalid_rules_are_clear_errors() -> None:
    alerts = AlertSink([])
    alerts.on("A", name="A")
    with pytest.raises(ValueError, match="exists already"):
        alerts.on("B", name="A")
    with pytest.raises(ValueError):
        alerts.threshold("A", count=0, window=1, name="T")
    with pytest.raises(ValueError):
        alerts.on([], name="Empty")
    with pytest.raises(ValueError):
        WebhookNotifier("ftp://x")


def test_a_failing_notifier_never_reaches_emit_and_is_counted() -> None:
    def broken(alert: dict[str, Any]) -> None:
        raise OSError("no route")

    clock = Clock()
    alerts = AlertSink([broken], clock=clock)
    alerts.on("A", name="A")
    router = Router()
    router.route_all(alerts)
    router.emit("A", "x")
    assert alerts.flush(timeout=10)
    assert alerts.notify_errors == 1


def test_stderr_notifier_writes_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    stderr_notifier(
        {"status": "firing", "labels": {"alertname": "Backlog", "queue": "q"}, "annotations": {"summary": "deep"}}
    )
    assert capsys.readouterr().err == "zlog alert FIRING Backlog {queue=q} deep\n"


def test_webhook_posts_the_alertmanager_v4_payload() -> None:
    hook = Capture()
    try:
        alerts = AlertSink([WebhookNotifier(hook.url + "/hook")], clock=Clock())
        alerts.on("JOB_ABANDONED", name="JobAbandoned", by=["job_type"], summary="a job was abandoned")
        router = Router()
        router.route_all(alerts)
        router.emit("JOB_ABANDONED", "x", job_type="email")
        assert alerts.flush(timeout=10)
    finally:
        hook.close()
    [body] = hook.bodies
    assert hook.paths == ["/hook"]
    assert set(body) == {
        "receiver",
        "status",
        "alerts",
        "groupLabels",
        "commonLabels",
        "commonAnnotations",
        "externalURL",
        "version",
        "groupKey",
        "truncatedAlerts",
    }
    assert body["version"] == "4" and body["status"] == "firing"
    [alert] = body["alerts"]
    assert set(alert) == {"status", "labels", "annotations", "startsAt", "endsAt", "generatorURL", "fingerprint"}
    assert alert["annotations"]["summary"] == "a job was abandoned"
    assert alert["startsAt"].endswith("Z") and len(alert["fingerprint"]) == 16


def test_alertmanager_notifier_posts_to_api_v2_alerts() -> None:
    am = Capture()
    try:
        clock = Clock()
        alerts = AlertSink([AlertmanagerNotifier(am.url)], clock=clock)
        alerts.on("QUEUE_BACKLOG", name="Backlog", resolve_after=10)
        router = Router()
        router.route_all(alerts)
        router.emit("QUEUE_BACKLOG", "x")
        clock.now += 11
        assert alerts.flush(timeout=10)
    finally:
        am.close()
    assert am.paths == ["/api/v2/alerts", "/api/v2/alerts"]
    firing, resolved = am.bodies
    assert "endsAt" not in firing[0] and firing[0]["labels"]["alertname"] == "Backlog"
    assert resolved[0]["endsAt"].endswith("Z")


def test_windows_stay_bounded_and_count_every_event_at_any_rate() -> None:
    router, alerts, clock, got = wired()
    alerts.threshold("JOB_DONE", count=10**9, window=60, name="Never")
    alerts.ratio(["JOB_FAILED"], ["JOB_DONE"], above=0.5, window=60, min_events=10, name="FailureRate")
    for i in range(50_000):
        clock.now += 0.001  # 1,000 events a second for 50 s
        router.emit("JOB_FAILED" if i % 4 == 0 else "JOB_DONE", "x")
    threshold = alerts._rules[0].data[()]
    ratio = alerts._rules[1].data[()]
    assert threshold.total == 37_500 and ratio.total == 50_000 and ratio.bad == 12_500
    assert len(threshold.buckets) <= 101 and len(ratio.buckets) <= 101
    alerts.flush(timeout=5)
    assert got == []  # 25% failed: below 50%


def test_windows_of_quiet_label_sets_are_forgotten() -> None:
    router, alerts, clock, _got = wired()
    alerts.threshold("ERROR", count=5, window=10, name="Errors", by=["worker_id"])
    for n in range(20):
        router.emit("ERROR", "e", worker_id=f"w{n}")
    clock.now += 11
    alerts.evaluate()
    assert alerts._rules[0].data == {}


def test_a_notification_that_finds_the_queue_full_is_counted_and_reported() -> None:
    import threading

    release = threading.Event()

    def slow(notification: dict[str, Any]) -> None:
        release.wait(10)

    clock = Clock()
    alerts = AlertSink([slow], clock=clock, max_pending=2)
    router = Router()
    reports: list[Any] = []
    router.route("ZLOG_EVENTS_DROPPED", reports.append)
    router.route("JOB_*", alerts)
    alerts.on("JOB_ABANDONED", name="JobAbandoned", by=["job_id"])
    for i in range(6):  # one in the notifier, two queued, three find the queue full
        router.emit("JOB_ABANDONED", "x", job_id=f"j{i}")
    release.set()
    assert alerts.flush(timeout=10)
    assert alerts.stats()["notify_dropped"] >= 3
    assert sum(r.fields["dropped"] for r in reports) >= 1 and reports[0].fields["sink"] == "alerts"
    alerts.close()
    assert sum(r.fields["dropped"] for r in reports) == alerts.stats()["notify_dropped"]  # all reported by close


def test_label_values_are_cut_to_128_characters() -> None:
    router, alerts, _, got = wired()
    alerts.on("JOB_ABANDONED", name="JobAbandoned", by=["job_type", "error"])
    router.emit("JOB_ABANDONED", "x", job_type="e" * 1_000_000, error=ValueError("secret " * 1000))
    alerts.flush(timeout=5)
    [notification] = got
    assert notification["labels"]["job_type"] == "e" * 128
    assert notification["labels"]["error"] == "ValueError"  # an exception's type, never its unbounded message


def test_a_single_signal_name_is_one_signal_never_its_letters() -> None:
    router, alerts, _, got = wired()
    alerts.on("JOB_ABANDONED", name="JobAbandoned")
    router.emit("J", "x")
    router.emit("JOB_ABANDONED", "x")
    alerts.flush(timeout=5)
    assert statuses(got) == [("JobAbandoned", "firing")]
    with pytest.raises(ValueError, match="pattern"):
        alerts.on("JOB_*", name="Patterns")
    with pytest.raises(TypeError):
        alerts.on(42, name="NotASignal")  # type: ignore[arg-type]
