"""Alert notifiers and the thread that delivers to them, so that notifying never blocks ``emit``."""

from __future__ import annotations

import contextlib
import queue
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import orjson

from zlog import _fork

Notification = dict[str, Any]
Notifier = Callable[[Notification], object]
ZERO_TIME = "0001-01-01T00:00:00Z"


def stderr_notifier(alert: Notification) -> None:
    """One human line per notification on stderr."""
    labels = ",".join(f"{k}={v}" for k, v in alert["labels"].items() if k != "alertname")
    summary = alert["annotations"].get("summary", "")
    print(
        f"zlog alert {alert['status'].upper()} {alert['labels']['alertname']} {{{labels}}} {summary}",
        file=sys.stderr,
        flush=True,
    )


def _post(url: str, body: Any, timeout: float, headers: dict[str, str] | None = None) -> None:
    import urllib.request  # on first use: it costs as much to import as the rest of zlog

    data = orjson.dumps(body)
    request = urllib.request.Request(
        url, data=data, method="POST", headers={"Content-Type": "application/json", **(headers or {})}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        response.read()


class WebhookNotifier:
    """POSTs each notification as an Alertmanager webhook (version 4) payload to ``url``."""

    def __init__(
        self, url: str, *, receiver: str = "zlog", timeout: float = 5.0, headers: dict[str, str] | None = None
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"webhook url must be http:// or https://, got {url!r}")
        self.url, self.receiver, self.timeout, self.headers = url, receiver, timeout, headers

    def payload(self, alert: Notification) -> dict[str, Any]:
        labels = alert["labels"]
        group = {"alertname": labels["alertname"]}
        return {
            "receiver": self.receiver,
            "status": alert["status"],
            "alerts": [alert],
            "groupLabels": group,
            "commonLabels": dict(labels),
            "commonAnnotations": dict(alert["annotations"]),
            "externalURL": "",
            "version": "4",
            "groupKey": "{}:{alertname=" + orjson.dumps(labels["alertname"]).decode() + "}",
            "truncatedAlerts": 0,
        }

    def __call__(self, alert: Notification) -> None:
        _post(self.url, self.payload(alert), self.timeout, self.headers)


class AlertmanagerNotifier:
    """Posts alerts to an Alertmanager's ``/api/v2/alerts`` (firing without ``endsAt``, resolved with it).

    Alertmanager resolves an alert by itself ``resolve_timeout`` after its last update, so keep the
    AlertSink's ``repeat_interval`` below that (for example 60 s).
    """

    def __init__(self, base_url: str, *, timeout: float = 5.0) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"Alertmanager url must be http:// or https://, got {base_url!r}")
        self.url = base_url.rstrip("/") + "/api/v2/alerts"
        self.timeout = timeout

    def __call__(self, alert: Notification) -> None:
        item = {k: alert[k] for k in ("labels", "annotations", "startsAt", "generatorURL")}
        if alert["status"] == "resolved":
            item["endsAt"] = alert["endsAt"]
        _post(self.url, [item], self.timeout)


class Dispatcher:
    """A bounded queue and one daemon thread calling the notifiers; a failed call is retried twice.

    A notification that finds the queue full is counted in ``dropped`` and passed to ``on_dropped``;
    one that failed after its retries is counted in ``errors`` and its last error passed to ``on_failed``.
    """

    def __init__(
        self,
        notifiers: list[Notifier],
        maxsize: int = 1000,
        on_dropped: Callable[[int], object] = lambda count: None,
        on_failed: Callable[[BaseException], object] = lambda error: None,
    ) -> None:
        if not isinstance(maxsize, int) or maxsize < 1:
            raise ValueError(f"max_pending must be an int >= 1, got {maxsize!r}")
        self.notifiers = notifiers
        self.maxsize = maxsize
        self._on_dropped, self._on_failed = on_dropped, on_failed
        self.sent = 0
        self.dropped = 0
        self.errors = 0
        self.last_error: BaseException | None = None
        self._reset()
        _fork.after_fork_in_child(self, Dispatcher._reset)

    def _reset(self) -> None:
        self._queue: queue.Queue[Notification] = queue.Queue(self.maxsize)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, alert: Notification) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="zlog-alerts", daemon=True)
                self._thread.start()
        try:
            self._queue.put_nowait(alert)
        except queue.Full:
            self.dropped += 1
            self._on_dropped(1)

    def _run(self) -> None:
        while True:
            alert = self._queue.get()
            try:
                for notifier in self.notifiers:
                    self._deliver(notifier, alert)
            finally:
                self._queue.task_done()

    def _deliver(self, notifier: Notifier, alert: Notification) -> None:
        for attempt in range(3):
            try:
                notifier(alert)
                self.sent += 1
                return
            except Exception as exc:
                self.last_error = exc
                if attempt < 2:
                    time.sleep(0.2 * 2**attempt)
        self.errors += 1
        if self.last_error is not None:
            self._on_failed(self.last_error)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every submitted notification was delivered (or failed); False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if deadline is not None and time.monotonic() > deadline:
                return False
            with contextlib.suppress(Exception):
                time.sleep(0.005)
        return True
