"""``Background``: runs a sink on its own writer thread behind a bounded queue."""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

from zlog import _exit, _fork
from zlog._reporting import Reporter, SinkEntry
from zlog.event import Event
from zlog.signals import ZLOG_EVENTS_DROPPED
from zlog.sinks.base import SinkLike, handler_of, sink_name

__all__ = ["ZLOG_EVENTS_DROPPED", "Background"]

_POLICIES = ("block", "drop_newest", "drop_oldest")


class Background:
    """Moves ``sink`` off the caller's thread: ``emit`` only appends to a bounded queue.

    One writer thread (started on first use, and again in a forked child) hands events to the sink, in
    batches of up to ``batch_size`` to ``handle_batch(events)`` when the sink has it. When the queue holds
    ``maxsize`` events, ``overflow`` decides: ``"block"`` waits for room, ``"drop_newest"`` discards the
    new event, ``"drop_oldest"`` discards the oldest queued one. Dropped events are counted (``dropped``)
    and reported as ``ZLOG_EVENTS_DROPPED`` through ``router`` (the default router unless given).
    """

    def __init__(
        self,
        sink: SinkLike,
        *,
        maxsize: int = 10_000,
        overflow: str = "drop_newest",
        batch_size: int = 256,
        report_interval: float = 1.0,
        exit_timeout: float = 5.0,
        router: Any = None,
        name: str | None = None,
    ) -> None:
        if overflow not in _POLICIES:
            raise ValueError(f"overflow must be one of {', '.join(_POLICIES)}, got {overflow!r}")
        if not isinstance(maxsize, int) or maxsize < 1 or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError("maxsize and batch_size must be ints >= 1")
        self.sink = sink
        self.name = name or f"background({sink_name(sink)})"
        self.maxsize = maxsize
        self.overflow = overflow
        self.batch_size = batch_size
        self.report_interval = report_interval
        self.exit_timeout = exit_timeout
        self._router = router
        self._handle = handler_of(sink)
        batch = getattr(sink, "handle_batch", None)
        self._handle_batch = batch if callable(batch) else None
        self.dropped = 0
        self.errors = 0
        self._unreported = 0
        self._last_report = -float("inf")
        self._queue: deque[Event] = deque()
        self._busy = 0  # events taken by the writer and not yet handed to the sink
        self._closed = False
        self._thread: threading.Thread | None = None
        self._local = threading.local()
        self._init_sync()
        _fork.after_fork_in_child(self, Background._after_fork)
        _exit.flush_at_exit(self)

    def _init_sync(self) -> None:
        lock = threading.Lock()
        self._cond = threading.Condition(lock)  # queue changes
        self._idle = threading.Condition(lock)  # the queue ran empty

    def _after_fork(self) -> None:
        self._init_sync()
        self._queue.clear()  # the parent writes what it had queued; the child must not write it again
        self._busy = 0
        self._thread = None

    # -- the caller's side -----------------------------------------------------------------------
    def handle(self, event: Event) -> None:
        if getattr(self._local, "writer", False):  # the sink emitted while being fed: do not wait on ourselves
            self._handle(event)
            return
        dropped = False
        with self._cond:
            if self._closed:
                raise RuntimeError(f"{self.name} is closed")
            if self._thread is None:
                self._start()
            queue = self._queue
            if len(queue) >= self.maxsize:
                if self.overflow == "block":
                    while len(queue) >= self.maxsize and not self._closed:
                        self._cond.wait()
                elif self.overflow == "drop_oldest":
                    queue.popleft()
                    dropped = True
                else:
                    dropped = True
            if dropped:
                self.dropped += 1
                self._unreported += 1
            if not dropped or self.overflow == "drop_oldest":
                queue.append(event)
                self._cond.notify_all()
        if dropped:
            self._maybe_report()

    def _maybe_report(self) -> None:
        now = time.monotonic()
        with self._cond:
            if now - self._last_report < self.report_interval or getattr(self._local, "reporting", False):
                return
            self._last_report = now
            count, self._unreported = self._unreported, 0
            total = self.dropped
        self._local.reporting = True
        try:
            self._emitter().emit(
                ZLOG_EVENTS_DROPPED, f"{self.name} dropped {count} events: its queue is full",
                sink=self.name, dropped=count, total_dropped=total, policy=self.overflow,
            )
        finally:
            self._local.reporting = False

    def _emitter(self) -> Any:
        if self._router is None:
            from zlog._api import default_router

            return default_router
        return self._router

    # -- the writer ------------------------------------------------------------------------------
    def _start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"zlog-{self.name}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        self._local.writer = True
        reporter = Reporter(self._emitter(), self.report_interval)
        entry = SinkEntry(self, self.handle, self.name)
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._cond.wait()
                if not self._queue and self._closed:
                    self._idle.notify_all()
                    return
                take = min(self.batch_size, len(self._queue))
                batch = [self._queue.popleft() for _ in range(take)]
                self._busy = take
                self._cond.notify_all()  # room for blocked callers
            self._deliver(batch, reporter, entry)
            with self._cond:
                self._busy = 0
                if not self._queue:
                    self._idle.notify_all()

    def _deliver(self, batch: list[Event], reporter: Reporter, entry: SinkEntry) -> None:
        if self._handle_batch is not None:
            try:
                self._handle_batch(batch)
                return
            except Exception as exc:
                self.errors += 1
                reporter.failed(entry, exc, batch[0], processor=False)
                return
        for event in batch:
            try:
                self._handle(event)
            except Exception as exc:
                self.errors += 1
                reporter.failed(entry, exc, event, processor=False)

    # -- lifecycle -------------------------------------------------------------------------------
    def pending(self) -> int:
        """Events queued or being written."""
        with self._cond:
            return len(self._queue) + self._busy

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every queued event reached the sink, then flush the sink; False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._queue or self._busy:
                if self._thread is None or not self._thread.is_alive():
                    if self._closed:
                        break
                    self._start()
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._idle.wait(remaining)
        flush = getattr(self.sink, "flush", None)
        if callable(flush):
            flush()
        return True

    def drain_at_exit(self) -> None:
        """Called by zlog's interpreter-exit hook: flush for at most ``exit_timeout`` seconds."""
        self.flush(self.exit_timeout)

    def close(self, timeout: float | None = None) -> bool:
        """Drain the queue, stop the writer and close the sink; False if the drain timed out."""
        drained = self.flush(timeout)
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        close = getattr(self.sink, "close", None)
        if callable(close):
            close()
        _exit.forget(self)
        return drained

    def __repr__(self) -> str:
        return f"<Background {self.name!r} queued={len(self._queue)} dropped={self.dropped} overflow={self.overflow!r}>"
