"""AlertSink against a real Alertmanager (Debian's prometheus-alertmanager): zlog posts alerts to
``/api/v2/alerts``, Alertmanager notifies a webhook, and that webhook body has the shape zlog's own
``WebhookNotifier`` writes. Skipped, with the install command, when the binary is not installed."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from http_capture import Capture

from zlog import AlertSink, Router
from zlog.sinks.alerts import AlertmanagerNotifier, WebhookNotifier

BINARY = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
pytestmark = pytest.mark.skipif(
    BINARY is None, reason="Alertmanager not installed (apt-get install prometheus-alertmanager)"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture()
def alertmanager(tmp_path: Path) -> Iterator[tuple[str, Capture]]:
    hook = Capture()
    config = tmp_path / "alertmanager.yml"
    config.write_text(
        "route: {receiver: zlog-hook, group_by: ['alertname', 'service'], group_wait: 1s, group_interval: 1s,"
        " repeat_interval: 1h}\n"
        f"receivers: [{{name: zlog-hook, webhook_configs: [{{url: '{hook.url}/hook', send_resolved: true}}]}}]\n"
    )
    port = free_port()
    assert BINARY is not None
    process = subprocess.Popen(
        [
            BINARY,
            f"--config.file={config}",
            f"--storage.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(url + "/-/ready", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise AssertionError("Alertmanager did not become ready") from None
                time.sleep(0.05)
        yield url, hook
    finally:
        process.terminate()
        process.wait(timeout=10)
        hook.close()


def test_alertmanager_accepts_zlog_alerts_and_notifies_firing_then_resolved(
    alertmanager: tuple[str, Capture],
) -> None:
    url, hook = alertmanager
    alerts = AlertSink([AlertmanagerNotifier(url)], service="worker")
    alerts.on(
        "JOB_ABANDONED",
        name="JobAbandoned",
        by=["job_type"],
        severity="page",
        resolve_after=2,
        summary="a job was abandoned",
    )
    router = Router()
    router.route_all(alerts)
    for _ in range(100):  # a burst: one alert
        router.emit("JOB_ABANDONED", "gave up", job_type="email")
    assert alerts.flush(timeout=10) and alerts.notify_errors == 0

    firing = hook.wait_for("firing")
    [alert] = firing["alerts"]
    assert alert["labels"] == {
        "alertname": "JobAbandoned",
        "service": "worker",
        "severity": "page",
        "job_type": "email",
    }
    assert alert["annotations"]["summary"] == "a job was abandoned"
    assert alert["generatorURL"] == "zlog://worker/JOB_ABANDONED"

    time.sleep(2.1)  # the occurrence rule resolves after 2 s without the signal
    assert alerts.flush(timeout=10) and alerts.resolved == 1
    resolved = hook.wait_for("resolved")
    assert [a["labels"]["alertname"] for a in resolved["alerts"]] == ["JobAbandoned"]


def test_zlog_webhook_payload_has_the_keys_of_a_real_alertmanager_notification(
    alertmanager: tuple[str, Capture],
) -> None:
    url, hook = alertmanager
    real_sink = AlertSink([AlertmanagerNotifier(url)], service="worker")
    real_sink.on("QUEUE_BACKLOG", name="Backlog")
    router = Router()
    router.route_all(real_sink)
    router.emit("QUEUE_BACKLOG", "deep")
    assert real_sink.flush(timeout=10)
    real = hook.wait_for("firing")

    own = Capture()
    try:
        zlog_sink = AlertSink([WebhookNotifier(own.url + "/hook")], service="worker")
        zlog_sink.on("QUEUE_BACKLOG", name="Backlog")
        other = Router()
        other.route_all(zlog_sink)
        other.emit("QUEUE_BACKLOG", "deep")
        assert zlog_sink.flush(timeout=10)
        ours = own.wait_for("firing", timeout=10)
    finally:
        own.close()
    assert set(ours) == set(real)
    assert set(ours["alerts"][0]) == set(real["alerts"][0])
    assert ours["version"] == real["version"] == "4"
    assert ours["alerts"][0]["endsAt"] == real["alerts"][0]["endsAt"] == "0001-01-01T00:00:00Z"
    assert ours["alerts"][0]["labels"] == real["alerts"][0]["labels"]
