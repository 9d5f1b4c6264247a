"""``AlertSink``: alert rules over signals, with pending, firing, resolved, dedup and repeat."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from zlog import _encode
from zlog._signalset import SignalSpec, signal_names
from zlog.event import Event
from zlog.sinks._labels import MAX_LABEL_CHARS, OVERFLOW, label_value
from zlog.sinks._notify import ZERO_TIME, AlertmanagerNotifier, Dispatcher, Notifier, WebhookNotifier, stderr_notifier
from zlog.sinks._window import Window
from zlog.sinks.base import SinkBase

__all__ = ["AlertSink", "AlertmanagerNotifier", "WebhookNotifier", "stderr_notifier"]

Signals = SignalSpec


def _names(signals: Signals, what: str, *, empty: bool = False) -> frozenset[str]:
    names = frozenset(signal_names(signals, what=what, patterns=False))
    if not names and not empty:
        raise ValueError(f"{what} needs at least one signal, got {signals!r}")
    return names


def _wall() -> str:
    return _encode.Clock().stamp(time.time_ns())


@dataclass
class _Rule:
    name: str
    kind: str  # occurrence | threshold | ratio | absence
    signals: frozenset[str]
    by: tuple[str, ...]
    severity: str
    summary: str
    pending_for: float
    count: int = 1
    window: float = 60.0
    bad: frozenset[str] = frozenset()
    above: float = 0.0
    min_events: int = 1
    forget: frozenset[str] = frozenset()
    data: dict[tuple[str, ...], Any] = field(default_factory=dict)


@dataclass
class _Alert:
    state: str  # pending | firing
    since: float
    starts_at: str
    last_notified: float = -float("inf")
    detail: str = ""


class AlertSink(SinkBase):
    """Evaluates alert rules on the events routed to it and notifies on state changes.

    An alert is identified by its rule and label values; it goes pending (when the rule has
    ``pending_for``) then firing, and is notified once when it fires, again every ``repeat_interval``
    while it keeps firing, and once when it resolves. Windows use a monotonic clock. Notifications are
    delivered on a separate thread, so they never block ``emit``; a notification dropped (the queue of
    ``max_pending`` is full) or failed after retries is counted and reported. A rule keeps at most
    ``max_label_sets`` label sets (further ones go to the set whose values are all ``"other"``); label
    values are cut to 128 characters.
    """

    def __init__(
        self,
        notifiers: Sequence[Notifier] = (stderr_notifier,),
        *,
        repeat_interval: float = 3600.0,
        max_label_sets: int = 100,
        max_pending: int = 1000,
        service: str = "zlog",
        clock: Callable[[], float] = time.monotonic,
        name: str = "alerts",
    ) -> None:
        if not isinstance(max_label_sets, int) or max_label_sets < 1:
            raise ValueError(f"max_label_sets must be an int >= 1, got {max_label_sets!r}")
        super().__init__(name=name)
        self.repeat_interval = repeat_interval
        self.max_label_sets = max_label_sets
        self.service = service
        self._clock = clock
        self._rules: list[_Rule] = []
        self._by_signal: dict[str, tuple[_Rule, ...]] = {}
        self._alerts: dict[tuple[str, tuple[str, ...]], _Alert] = {}
        self._dispatcher = Dispatcher(list(notifiers), max_pending, self._notify_dropped, self._notify_failed)
        self._ticker: threading.Thread | None = None
        self._stop = threading.Event()
        self.fired = 0
        self.resolved = 0
        self._last_sweep = -float("inf")

    # -- rules -----------------------------------------------------------------------------------
    def _add(self, rule: _Rule) -> None:
        if any(r.name == rule.name for r in self._rules):
            raise ValueError(f"an alert rule named {rule.name!r} exists already")
        if rule.pending_for < 0 or rule.window <= 0:
            raise ValueError("pending_for must be >= 0 and window > 0")
        with self._lock:
            self._rules.append(rule)
            self._by_signal = {
                name: tuple(r for r in self._rules if name in r.signals) for r in self._rules for name in r.signals
            }

    def on(
        self,
        signals: Signals,
        *,
        name: str,
        by: Sequence[str] = (),
        severity: str = "warning",
        summary: str = "",
        resolve_after: float = 300.0,
        pending_for: float = 0.0,
    ) -> None:
        """Fire on any occurrence; resolve after ``resolve_after`` seconds without one."""
        self._add(
            _Rule(
                name,
                "occurrence",
                _names(signals, f"rule {name!r}"),
                tuple(by),
                severity,
                summary,
                pending_for,
                window=resolve_after,
            )
        )

    def threshold(
        self,
        signals: Signals,
        *,
        count: int,
        window: float,
        name: str,
        by: Sequence[str] = (),
        severity: str = "warning",
        summary: str = "",
        pending_for: float = 0.0,
    ) -> None:
        """Fire while at least ``count`` events happened within the last ``window`` seconds."""
        if count < 1:
            raise ValueError("count must be >= 1")
        self._add(
            _Rule(
                name,
                "threshold",
                _names(signals, f"rule {name!r}"),
                tuple(by),
                severity,
                summary,
                pending_for,
                count=count,
                window=window,
            )
        )

    def ratio(
        self,
        bad: Signals,
        total: Signals,
        *,
        above: float,
        window: float,
        name: str,
        min_events: int = 20,
        by: Sequence[str] = (),
        severity: str = "warning",
        summary: str = "",
        pending_for: float = 0.0,
    ) -> None:
        """Fire while bad / total within ``window`` exceeds ``above``, once ``min_events`` were seen."""
        bad_names = _names(bad, f"rule {name!r} (bad)")
        total_names = _names(total, f"rule {name!r} (total)")
        self._add(
            _Rule(
                name,
                "ratio",
                total_names | bad_names,
                tuple(by),
                severity,
                summary,
                pending_for,
                window=window,
                bad=bad_names,
                above=above,
                min_events=min_events,
            )
        )

    def absence(
        self,
        signals: Signals,
        *,
        after: float,
        name: str,
        by: Sequence[str] = (),
        forget: Signals = (),
        severity: str = "warning",
        summary: str = "",
        pending_for: float = 0.0,
    ) -> None:
        """Fire when a signal seen before (per ``by`` labels) has not been seen for ``after`` seconds.

        ``forget`` signals (such as WORKER_STOPPED) stop watching that label set.
        """
        forget_names = _names(forget, f"rule {name!r} (forget)", empty=True)
        self._add(
            _Rule(
                name,
                "absence",
                _names(signals, f"rule {name!r}") | forget_names,
                tuple(by),
                severity,
                summary,
                pending_for,
                window=after,
                forget=forget_names,
            )
        )

    # -- the sink --------------------------------------------------------------------------------
    def handle(self, event: Event) -> None:
        if self._closed:
            self._refuse()
        name = event[0]
        rules = self._by_signal.get(name)
        now = self._clock()
        lock = self._lock
        lock.acquire()  # not ``with``: acquire/release is half the cost on this hot path
        try:
            if rules:
                fields = event[3]
                alerts = self._alerts
                for rule in rules:
                    labels = self._labels(rule, fields) if rule.by else ()
                    kind = rule.kind
                    if kind == "threshold" or kind == "ratio":  # the hot path, inlined
                        window = rule.data.get(labels)
                        if window is None:
                            window = rule.data[labels] = Window(rule.window)
                        total = window.push(now, name in rule.bad)
                        if kind == "threshold":
                            active = total >= rule.count
                        else:
                            active = total >= rule.min_events and window.bad / total > rule.above
                        if active or (alerts and (rule.name, labels) in alerts):
                            self._set(rule, labels, active, now)
                        continue
                    self._observe(rule, labels, name, now)
                    if labels in rule.data:
                        active = self._condition(rule, labels, now)
                        if active or (rule.name, labels) in alerts or rule.kind == "occurrence":
                            self._set(rule, labels, active, now)
            if now - self._last_sweep >= 1.0:  # the other rules and label sets, at most once a second
                self._evaluate(now)
        finally:
            lock.release()

    def _labels(self, rule: _Rule, fields: dict[str, Any]) -> tuple[str, ...]:
        if not rule.by:
            return ()
        values: list[Any] = [fields.get(k) for k in rule.by]
        labels = tuple([v if v.__class__ is str and len(v) <= MAX_LABEL_CHARS else label_value(v) for v in values])
        if labels not in rule.data and len(rule.data) >= self.max_label_sets:
            return (OVERFLOW,) * len(rule.by)
        return labels

    def _observe(self, rule: _Rule, labels: tuple[str, ...], signal: str, now: float) -> None:
        data = rule.data
        if rule.kind == "occurrence":  # threshold and ratio windows are updated in handle()
            data[labels] = now
        elif signal in rule.forget:
            data.pop(labels, None)
            self._set(rule, labels, False, now)
        else:
            data[labels] = now

    def evaluate(self) -> None:
        """Re-check every rule against the clock (absences and expiring windows)."""
        with self._lock:
            self._evaluate(self._clock())

    def _evaluate(self, now: float) -> None:
        self._last_sweep = now
        for rule in self._rules:
            for labels in list(rule.data):
                self._set(rule, labels, self._condition(rule, labels, now), now)

    def _condition(self, rule: _Rule, labels: tuple[str, ...], now: float) -> bool:
        value = rule.data[labels]
        kind = rule.kind
        if kind == "threshold":
            return bool(value.expire(now) >= rule.count)
        if kind == "occurrence":
            return bool(now - value < rule.window)
        if kind == "ratio":
            total = value.expire(now)
            return bool(total >= rule.min_events and value.bad / total > rule.above)
        return bool(now - value >= rule.window)

    def _detail(self, rule: _Rule, labels: tuple[str, ...], now: float) -> str:
        """Why the alert holds, in words (computed only when an alert starts or is notified)."""
        value = rule.data.get(labels)
        if rule.kind == "occurrence" or value is None:
            return "occurred"
        if rule.kind == "threshold":
            return f"{value.total} events in {rule.window:g}s (threshold {rule.count})"
        if rule.kind == "ratio":
            total, bad = value.total, value.bad
            return f"{bad}/{total} = {bad / max(total, 1):.0%} (above {rule.above:.0%})"
        return f"not seen for {now - value:.0f}s (limit {rule.window:g}s)"

    def _set(self, rule: _Rule, labels: tuple[str, ...], active: bool, now: float) -> None:
        key = (rule.name, labels)
        alert = self._alerts.get(key)
        if not active:
            if alert is not None:
                del self._alerts[key]
                if alert.state == "firing":
                    self.resolved += 1
                    self._notify(rule, labels, alert, "resolved")
            if rule.kind == "occurrence":
                if rule.data.get(labels, now) <= now - rule.window:
                    rule.data.pop(labels, None)  # bounded memory: forget quiet label sets
            elif rule.kind != "absence" and labels in rule.data and not rule.data[labels].total:
                del rule.data[labels]
            return
        if alert is None:
            alert = self._alerts[key] = _Alert("pending", now, _wall())
        if alert.state == "pending" and now - alert.since >= rule.pending_for:
            alert.state = "firing"
            self.fired += 1
            self._notify(rule, labels, alert, "firing")
        elif alert.state == "firing" and now - alert.last_notified >= self.repeat_interval:
            self._notify(rule, labels, alert, "firing")

    def _notify(self, rule: _Rule, labels: tuple[str, ...], alert: _Alert, status: str) -> None:
        alert.last_notified = now = self._clock()
        alert.detail = self._detail(rule, labels, now)
        all_labels = {
            "alertname": rule.name,
            "service": self.service,
            "severity": rule.severity,
            **dict(zip(rule.by, labels, strict=True)),
        }
        fingerprint = hashlib.sha256(repr(sorted(all_labels.items())).encode()).hexdigest()[:16]
        signal = sorted(rule.signals - rule.forget)[0]
        self._dispatcher.submit(
            {
                "status": status,
                "labels": all_labels,
                "annotations": {"summary": rule.summary or f"{rule.name}: {alert.detail}", "description": alert.detail},
                "startsAt": alert.starts_at,
                "endsAt": _wall() if status == "resolved" else ZERO_TIME,
                "generatorURL": f"zlog://{self.service}/{signal}",
                "fingerprint": fingerprint,
            }
        )

    # -- reading and lifecycle -------------------------------------------------------------------
    def active(self) -> list[dict[str, Any]]:
        """The pending and firing alerts: ``{"alertname", "labels", "state", "detail"}``."""
        with self._lock:
            now = self._clock()
            out = []
            for (rule_name, labels), alert in self._alerts.items():
                rule = next(r for r in self._rules if r.name == rule_name)
                out.append(
                    {
                        "alertname": rule_name,
                        "labels": dict(zip(rule.by, labels, strict=True)),
                        "state": alert.state,
                        "detail": self._detail(rule, labels, now),
                    }
                )
            return out

    def start(self, interval: float = 1.0) -> None:
        """Evaluate every ``interval`` seconds on a daemon thread, so absences fire without events."""
        if self._ticker is None:
            self._stop.clear()

            def tick() -> None:
                while not self._stop.wait(interval):
                    self.evaluate()

            self._ticker = threading.Thread(target=tick, name="zlog-alert-ticker", daemon=True)
            self._ticker.start()

    def flush(self, timeout: float | None = None) -> bool:
        """Evaluate, then wait until every notification was delivered; False on timeout."""
        if not self._closed:
            self.evaluate()
        return self._dispatcher.flush(timeout)

    def _release(self, timeout: float | None) -> bool:
        self._stop.set()
        self._ticker = None
        with self._lock:
            self._evaluate(self._clock())
        return self._dispatcher.flush(timeout)

    def _notify_dropped(self, count: int) -> None:
        self._reporter.dropped(count, "its notification queue is full", sink=self.name, policy="drop_newest")

    def _notify_failed(self, error: BaseException) -> None:
        self._reporter.failed(error, None, sink=self.name)

    @property
    def notify_errors(self) -> int:
        """Notifications that failed after retries."""
        return self._dispatcher.errors

    def stats(self) -> dict[str, Any]:
        d = self._dispatcher
        return {
            **super().stats(),
            "fired": self.fired,
            "resolved": self.resolved,
            "notified": d.sent,
            "notify_errors": d.errors,
            "notify_dropped": d.dropped,
        }
