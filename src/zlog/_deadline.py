"""Calling into sinks under a deadline that holds whatever the sink does.

``flush(timeout)`` and ``close(timeout)`` must return by their deadline even when a sink blocks forever
(a full pipe, a hung server, a ``flush`` that ignores its ``timeout``). With a timeout, each call runs on
a helper thread and the caller waits at most until the deadline; without one it runs inline, at no cost.
A call still running after its deadline keeps its helper; a later call on the same sink and method waits
for that one instead of starting another, so a stuck sink holds one thread, not one per call.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Hashable, Sequence
from typing import Any

__all__ = ["Deadline", "Outcome", "call_all"]

_WORKER_IDLE_SECONDS = 30.0


class Deadline:
    """A point in time ``timeout`` seconds from now (None: no deadline)."""

    __slots__ = ("at",)

    def __init__(self, timeout: float | None) -> None:
        if timeout is not None and (
            isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout != timeout
        ):
            raise TypeError(f"timeout must be None or a number of seconds, got {timeout!r}")
        self.at = None if timeout is None else time.monotonic() + max(0.0, timeout)  # negative: already due

    def remaining(self) -> float | None:
        """Seconds left (never below 0), or None without a deadline."""
        return None if self.at is None else max(0.0, self.at - time.monotonic())

    def expired(self) -> bool:
        return self.at is not None and time.monotonic() >= self.at


class Outcome:
    """How one call ended: ``finished`` in time, with ``result`` or the ``error`` it raised."""

    __slots__ = ("done", "error", "finished", "result")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.finished = False
        self.result: Any = None
        self.error: BaseException | None = None


class _Pool:
    """Daemon helper threads, reused while idle; a helper stuck in a call is simply not reused."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: list[_Worker] = []
        self._running: dict[Hashable, Outcome] = {}

    def submit(self, key: Hashable, func: Callable[[], Any]) -> Outcome:
        with self._lock:
            outcome = self._running.get(key)
            if outcome is not None:
                return outcome  # the earlier call is still running: wait for it, do not start another
            outcome = self._running[key] = Outcome()
            worker = self._idle.pop() if self._idle else None
        if worker is None:
            worker = _Worker(self)
        worker.give(key, func, outcome)
        return outcome

    def finished(self, key: Hashable, worker: _Worker) -> None:
        with self._lock:
            self._running.pop(key, None)
            self._idle.append(worker)

    def retire(self, worker: _Worker) -> bool:
        with self._lock:
            if worker in self._idle:
                self._idle.remove(worker)
                return True
            return False


class _Worker:
    def __init__(self, pool: _Pool) -> None:
        self._pool = pool
        self._ready = threading.Condition(threading.Lock())
        self._job: tuple[Hashable, Callable[[], Any], Outcome] | None = None
        threading.Thread(target=self._run, name="zlog-deadline", daemon=True).start()

    def give(self, key: Hashable, func: Callable[[], Any], outcome: Outcome) -> None:
        with self._ready:
            self._job = (key, func, outcome)
            self._ready.notify()

    def _run(self) -> None:
        while True:
            with self._ready:
                if self._job is None and not self._ready.wait_for(lambda: self._job is not None, _WORKER_IDLE_SECONDS):
                    if self._pool.retire(self):
                        return
                    self._ready.wait_for(lambda: self._job is not None)  # handed a job while retiring
                assert self._job is not None
                key, func, outcome = self._job
                self._job = None
            try:
                outcome.result = func()
            except BaseException as exc:  # delivered to the waiting caller, who reports it
                outcome.error = exc
            outcome.finished = True
            outcome.done.set()
            self._pool.finished(key, self)


_pool = _Pool()


def _reset_after_fork() -> None:
    global _pool
    _pool = _Pool()  # the parent's helpers do not exist in the child


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)


def call_all(calls: Sequence[tuple[Hashable, Callable[[float | None], Any]]], timeout: float | None) -> list[Outcome]:
    """Run every ``func(remaining)`` and wait for them all, at most ``timeout`` seconds in total.

    Without a timeout the calls run inline, one after the other. With one they run at the same time on
    helper threads; a call that has not finished by the deadline has ``finished`` False. ``key`` names
    the call (a sink and method), so that a call still running from an earlier deadline is not repeated.
    """
    if timeout is None:
        outcomes = []
        for _, func in calls:
            outcome = Outcome()
            try:
                outcome.result = func(None)
            except BaseException as exc:
                if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                    raise
                outcome.error = exc
            outcome.finished = True
            outcomes.append(outcome)
        return outcomes
    deadline = Deadline(timeout)
    outcomes = [_pool.submit(key, _bind(func, deadline)) for key, func in calls]
    for outcome in outcomes:
        outcome.done.wait(deadline.remaining())
    return outcomes


def _bind(func: Callable[[float | None], Any], deadline: Deadline) -> Callable[[], Any]:
    return lambda: func(deadline.remaining())
