"""``Background``: runs a sink on its own writer thread behind a bounded queue."""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

from zlog import _exit, _fork
from zlog._deadline import Deadline
from zlog._sinkcalls import sink_name
from zlog.event import Event
from zlog.sinks.base import Wrapper
from zlog.typing import SinkLike

__all__ = ["Background"]

_POLICIES = ("block", "drop_newest", "drop_oldest")
_FORK_WAIT = 1.0  # seconds a fork waits at most for the batch being written


class Background(Wrapper):
    """Moves ``sink`` off the caller's thread: ``emit`` only appends to a bounded queue.

    One writer thread (started on first use, and again in a forked child) hands events to the sink, in
    batches of up to ``batch_size`` to ``handle_batch(events)`` when the sink has it. When the queue holds
    ``maxsize`` events, ``overflow`` decides: ``"block"`` waits for room, ``"drop_newest"`` discards the
    new event, ``"drop_oldest"`` discards the oldest queued one. Dropped events are counted (``dropped``)
    and reported as ``ZLOG_EVENTS_DROPPED``; so are events still queued when ``close(timeout)`` or the
    exit drain (at most ``exit_timeout`` seconds) runs out of time.
    """

    def __init__(
        self,
        sink: SinkLike,
        *,
        maxsize: int = 10_000,
        overflow: str = "drop_newest",
        batch_size: int = 256,
        exit_timeout: float = 5.0,
        name: str | None = None,
    ) -> None:
        if overflow not in _POLICIES:
            raise ValueError(f"overflow must be one of {', '.join(_POLICIES)}, got {overflow!r}")
        if not isinstance(maxsize, int) or maxsize < 1 or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError("maxsize and batch_size must be ints >= 1")
        super().__init__(sink, name=name or f"background({sink_name(sink)})")
        self.sink = sink
        self.maxsize = maxsize
        self.overflow = overflow
        self.batch_size = batch_size
        self.exit_timeout = exit_timeout
        self._handle = self._handlers[0]
        batch = getattr(sink, "handle_batch", None)
        self._handle_batch = batch if callable(batch) else None
        self._inner_name = sink_name(sink)
        self.dropped = 0
        self.errors = 0
        self._queue: deque[Event] = deque()
        self._busy = 0  # events taken by the writer and not yet handed to the sink
        self._thread: threading.Thread | None = None
        self._local = threading.local()
        self._init_sync()
        _exit.flush_at_exit(self)
        if self._hold_at_fork:
            _fork.hold_across_fork(self, lambda b: b._delivering, wait=_FORK_WAIT)

    #: Whether a fork waits for the batch being handed to the sink (at most ``_FORK_WAIT`` seconds): a
    #: sink that writes to a Python file holds that file's lock meanwhile, and a child forked then would
    #: find it held forever. The stream sinks, whose writers use only sockets, do not wait.
    _hold_at_fork = True

    def _init_sync(self) -> None:
        lock = threading.Lock()
        self._cond = threading.Condition(lock)  # queue changes
        self._idle = threading.Condition(lock)  # the queue ran empty
        self._delivering = threading.Lock()  # held by the writer while it hands a batch to the sink

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
                self._refuse()
            if self._thread is None:
                self._start()
            queue = self._queue
            if len(queue) >= self.maxsize:
                if self.overflow == "block":
                    while len(queue) >= self.maxsize and not self._closed:
                        self._cond.wait()
                    if self._closed:
                        self._refuse()
                elif self.overflow == "drop_oldest":
                    queue.popleft()
                    dropped = True
                else:
                    dropped = True
            if dropped:
                self.dropped += 1
            if not dropped or self.overflow == "drop_oldest":
                queue.append(event)
                self._cond.notify_all()
        if dropped:
            self._reporter.dropped(1, "its queue is full", sink=self.name, policy=self.overflow)

    # -- the writer ------------------------------------------------------------------------------
    def _start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"zlog-{self.name}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        self._local.writer = True
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
            with self._delivering:
                self._deliver(batch)
            with self._cond:
                self._busy = 0
                if not self._queue:
                    self._idle.notify_all()

    def _deliver(self, batch: list[Event]) -> None:
        if self._handle_batch is not None:
            try:
                self._handle_batch(batch)
            except BaseException as exc:  # on the writer thread: nothing may end it
                self.errors += 1
                self._reporter.failed(exc, batch[0], sink=self._inner_name)
            return
        for event in batch:
            try:
                self._handle(event)
            except BaseException as exc:
                self.errors += 1
                self._reporter.failed(exc, event, sink=self._inner_name)

    # -- lifecycle -------------------------------------------------------------------------------
    def pending(self) -> int:
        """Events queued or being written."""
        with self._cond:
            return len(self._queue) + self._busy

    def _wait_written(self, deadline: Deadline) -> bool:
        """Wait until every queued event reached the sink; False if the deadline came first."""
        if getattr(self._local, "writer", False):
            return True  # called from the sink itself, on the writer: waiting would wait on ourselves
        with self._cond:
            while self._queue or self._busy:
                if self._thread is None or not self._thread.is_alive():
                    if self._closed and not self._queue:
                        break
                    self._start()
                remaining = deadline.remaining()
                if remaining is not None and remaining <= 0:
                    return False
                self._idle.wait(remaining)
        return True

    def _abandon(self, reason: str, *, in_flight: bool = False) -> int:
        """Count the events still queued (and, with ``in_flight``, those the writer is still handing to
        the sink) as dropped, and report them."""
        with self._cond:
            left = len(self._queue) + (self._busy if in_flight else 0)
            self._queue.clear()
            self.dropped += left
            self._idle.notify_all()
        if left:
            self._reporter.dropped(left, reason, sink=self.name, policy=self.overflow)
        self._reporter.pending_drops(sink=self.name)
        return left

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every queued event reached the sink, then flush the sink; False on timeout."""
        deadline = Deadline(timeout)
        if not self._wait_written(deadline):
            return False
        return super().flush(deadline.remaining())

    #: Whether a close that runs out of time counts the batch being handed to the sink as dropped (a
    #: stream sink's writer gives it up; a plain sink keeps it and may still finish it).
    _drops_in_flight_at_close = False

    def _give_up(self) -> None:
        """Called when the time to write what is queued ran out at close or exit (a hook)."""

    def _finish(self, deadline: Deadline, reason: str, *, exiting: bool = False) -> bool:
        """Write what is queued by the deadline; then count and report what is left as dropped (at exit,
        also the events the sink is still busy with: the process ends before it can finish them)."""
        written = self._wait_written(deadline)
        if not written:
            self._give_up()
            self._abandon(reason, in_flight=exiting or self._drops_in_flight_at_close)
        else:
            self._reporter.pending_drops(sink=self.name)
        return written

    def drain_at_exit(self, timeout: float | None = None) -> bool:
        """Called by zlog's interpreter-exit hook: write and flush what is queued, for at most
        ``exit_timeout`` seconds (and ``timeout``); what is left then is counted as dropped and reported."""
        deadline = Deadline(self.exit_timeout if timeout is None else min(timeout, self.exit_timeout))
        written = self._finish(deadline, "the process exited before they were written", exiting=True)
        return super().flush(deadline.remaining()) and written

    def _stop(self, timeout: float | None) -> bool:
        """At close: write what is queued, stop the writer; what is still queued at the deadline is dropped."""
        deadline = Deadline(timeout)
        written = self._finish(deadline, "the sink was closed before they were written")
        with self._cond:
            self._cond.notify_all()  # a writer waiting for events sees the sink closed and ends
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(deadline.remaining())
        _exit.forget(self)
        return written

    def stats(self) -> dict[str, Any]:
        with self._cond:
            queued = len(self._queue) + self._busy
        return {
            **super().stats(),
            "queued": queued,
            "dropped": self.dropped,
            "errors": self.errors,
            "maxsize": self.maxsize,
            "overflow": self.overflow,
        }

    def __repr__(self) -> str:
        return f"<Background {self.name!r} queued={len(self._queue)} dropped={self.dropped} overflow={self.overflow!r}>"
