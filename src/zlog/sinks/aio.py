"""``AsyncSink``: an ``async def`` sink awaited on zlog's own thread and event loop, behind a bounded queue."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import inspect
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from zlog._deadline import Deadline
from zlog._sinkcalls import Target, is_coroutine_callable, key_of, sink_name
from zlog.event import Event
from zlog.sinks.background import Background
from zlog.typing import SinkLike

if TYPE_CHECKING:
    from typing_extensions import ParamSpec
else:
    from typing import ParamSpec

__all__ = ["AsyncSink"]

P = ParamSpec("P")
T = TypeVar("T")


class AsyncSink(Background):
    """Runs an async sink (``async def sink(event)``, an object with ``async def handle(event)`` or
    ``async def __call__``, a ``functools.partial`` of one) off the caller's event loop.

    ``emit`` only appends to a bounded queue, as with ``Background`` (``maxsize``, ``overflow``, drops
    counted and reported as ``ZLOG_EVENTS_DROPPED``, drained by ``flush``, ``close`` and interpreter
    exit within ``exit_timeout``). One writer thread owns a private event loop and awaits
    ``handle(event)`` for each event in turn, in emit order. An ``async def flush(timeout=None)`` or
    ``close(timeout=None)`` of the sink is awaited on that same loop (where its connections live),
    within the deadline. ``zlog.route()`` wraps an async sink in one ``AsyncSink`` by itself.
    """

    _takes_async = True
    #: A fork does not wait for the batch being awaited: an async sink waits on the network, mostly.
    _hold_at_fork = False
    #: A close or exit that runs out of time cancels the batch being awaited: its events are dropped.
    _drops_in_flight_at_close = True

    def __init__(
        self,
        sink: SinkLike,
        *,
        maxsize: int = 10_000,
        overflow: str = "drop_newest",
        exit_timeout: float = 5.0,
        name: str | None = None,
    ) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None  # the batch being awaited
        self._cancelled: asyncio.Task[None] | None = None  # the batch a close that ran out of time cancelled
        self._loop_lock = threading.Lock()  # the loop runs on one thread at a time
        self._loop_closed = False  # by close(): the sink's flush and close are not awaited again
        super().__init__(
            sink,
            maxsize=maxsize,
            overflow=overflow,
            exit_timeout=exit_timeout,
            name=name or f"async({sink_name(sink)})",
        )
        self._inner_handle: Callable[[Event], Any] = self._handle
        # Background.handle calls _handle for an event emitted by the sink itself, on the writer thread:
        # here that event is queued (never awaited inside the batch being awaited, never waited for).
        self._handle = self._queue_from_writer
        self._handle_batch = None

    def _after_fork(self) -> None:
        super()._after_fork()
        self._loop_lock = threading.Lock()
        self._task = self._cancelled = None
        loop, self._loop = self._loop, None  # the child makes its own loop: the parent's may be running
        if loop is not None and not loop.is_running():
            with contextlib.suppress(Exception):
                loop.close()  # the child's copies of its descriptors only

    # -- the writer ------------------------------------------------------------------------------
    def _queue_from_writer(self, event: Event) -> None:
        """An event the sink emitted while being awaited (even during the drain of a close): queued."""
        with self._cond:
            full = len(self._queue) >= self.maxsize
            if full and self.overflow == "drop_oldest":
                self._queue.popleft()
            if not full or self.overflow == "drop_oldest":
                self._queue.append(event)
                self._cond.notify_all()
            if full:
                self.dropped += 1
        if full:  # "block" cannot wait here: the writer would wait for itself
            self._reporter.dropped(1, "its queue is full", sink=self.name, policy=self.overflow)

    def _get_loop(self) -> asyncio.AbstractEventLoop:
        """Under ``_loop_lock``: the writer's loop, made on first use."""
        if self._loop is None or self._loop.is_closed():
            self._loop = asyncio.new_event_loop()
            self._loop.set_default_executor(_DaemonThreads())
        return self._loop

    def _deliver(self, batch: list[Event]) -> None:
        with self._loop_lock:
            try:
                loop = self._get_loop()
                self._task = task = loop.create_task(self._feed(batch))
                loop.run_until_complete(task)
            except BaseException as exc:  # on the writer: nothing may end it
                if not isinstance(exc, asyncio.CancelledError):  # cancelled by _abandon: counted there
                    self.errors += 1
                    self._reporter.failed(exc, batch[0], sink=self._inner_name)
            finally:
                self._task = None

    async def _feed(self, batch: list[Event]) -> None:
        handle, isawaitable, cond = self._inner_handle, inspect.isawaitable, self._cond
        for event in batch:
            with cond:
                if self._busy <= 0:
                    return  # a close or exit that ran out of time gave the rest up, and counted it
            try:
                result = handle(event)
                if isawaitable(result):
                    await result
            except BaseException as exc:  # on the writer: nothing may end it
                if isinstance(exc, asyncio.CancelledError) and self._cancelled is asyncio.current_task():
                    raise  # the batch itself was cancelled (_abandon): stop here
                self.errors += 1
                self._reporter.failed(exc, event, sink=self._inner_name)
            with cond:
                if self._busy > 0:
                    self._busy -= 1

    def _abandon(self, reason: str, *, in_flight: bool = False) -> int:
        """Count what is left as dropped and empty the queue, then give up the batch being awaited (its
        events not yet awaited were counted with it): the await in progress is cancelled."""
        left = super()._abandon(reason, in_flight=in_flight)
        if not in_flight:
            return left
        with self._cond:
            self._busy = 0  # the writer awaits nothing more of its batch
        loop, task = self._loop, self._task
        if loop is not None and task is not None:
            self._cancelled = task
            with contextlib.suppress(RuntimeError):  # the loop is closed: nothing runs on it
                loop.call_soon_threadsafe(task.cancel)
        return left

    # -- the inner sink's flush and close --------------------------------------------------------
    def _targets(self) -> list[Target]:
        return [Target(key_of(self.sink), _OnLoop(self), self._inner_name)]

    def _call_inner(self, method: str, timeout: float | None) -> bool:
        """``flush`` or ``close`` of the inner sink (``close`` falls back to ``flush``); a coroutine one is
        awaited on the writer's loop by the deadline (and cancelled there when time runs out)."""
        deadline = Deadline(timeout)
        func: Any = getattr(self.sink, method, None)
        if func is None and method == "close":
            func = getattr(self.sink, "flush", None)
        if func is None or not callable(func):
            return True
        if is_coroutine_callable(func):
            return self._on_loop(lambda remaining: func(timeout=remaining), deadline)
        result = func(timeout=timeout)
        if not inspect.isawaitable(result):
            return result is not False
        try:
            return self._on_loop(lambda _: result, deadline)
        finally:
            if inspect.iscoroutine(result) and inspect.getcoroutinestate(result) == inspect.CORO_CREATED:
                result.close()  # never run (no time, or called from the sink itself): not a "never awaited"

    def _on_loop(self, make: Callable[[float | None], Any], deadline: Deadline) -> bool:
        """Await ``make(remaining)`` on the writer's loop, by the deadline; False if the time ran out."""
        if getattr(self._local, "writer", False):
            return True  # called from the sink itself, while its loop runs: it cannot wait on itself
        if _in_a_loop():  # a coroutine called flush: this thread cannot run another loop
            return _apart(lambda: self._on_loop(make, deadline), deadline)
        remaining = deadline.remaining()
        if not self._loop_lock.acquire(timeout=-1 if remaining is None else remaining):
            return False  # the writer is still awaiting a batch
        try:
            if self._loop_closed:
                return True  # closed, and its loop with it: nothing is left to flush
            return self._get_loop().run_until_complete(_within(make, deadline))
        finally:
            self._loop_lock.release()

    def _release(self, timeout: float | None) -> bool:
        deadline = Deadline(timeout)
        done = super()._release(deadline.remaining())
        self._close_loop(deadline)
        return done

    def _close_loop(self, deadline: Deadline) -> None:
        """Cancel what the sink left running on the writer's loop, and close it (if it is free in time)."""
        if _in_a_loop():
            _apart(lambda: self._close_loop(deadline), deadline)
            return
        remaining = deadline.remaining()
        if not self._loop_lock.acquire(timeout=-1 if remaining is None else remaining):
            return
        try:
            loop, self._loop, self._loop_closed = self._loop, None, True
            if loop is None or loop.is_closed():
                return
            with contextlib.suppress(Exception):
                loop.run_until_complete(_cancel_all(deadline))
                loop.close()
        finally:
            self._loop_lock.release()

    def __repr__(self) -> str:
        return f"<AsyncSink {self.name!r} queued={len(self._queue)} dropped={self.dropped} overflow={self.overflow!r}>"


class _OnLoop:
    """What the wrapper flushes and closes: the inner sink's methods, run through ``_call_inner``."""

    def __init__(self, owner: AsyncSink) -> None:
        self._owner = owner

    def flush(self, timeout: float | None = None) -> bool:
        return self._owner._call_inner("flush", timeout)

    def close(self, timeout: float | None = None) -> bool:
        return self._owner._call_inner("close", timeout)


async def _within(make: Callable[[float | None], Any], deadline: Deadline) -> bool:
    remaining = deadline.remaining()
    try:
        result = await asyncio.wait_for(make(remaining), remaining)
    except asyncio.TimeoutError:
        if deadline.expired():
            return False  # cancelled at the deadline
        raise  # the sink's own error, not the deadline: reported as a failure
    return result is not False


async def _cancel_all(deadline: Deadline) -> None:
    me = asyncio.current_task()
    tasks = [t for t in asyncio.all_tasks() if t is not me]
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks, timeout=deadline.remaining())
    await asyncio.get_running_loop().shutdown_asyncgens()


def _in_a_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _apart(func: Callable[[], bool | None], deadline: Deadline) -> bool:
    """``func()`` on a helper thread, waited for by the deadline: its result (what it raised is raised
    here), or False if the time ran out first."""
    outcome: list[BaseException | bool | None] = []

    def run() -> None:
        try:
            outcome.append(func())
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run, name="zlog-async-call", daemon=True)
    thread.start()
    thread.join(deadline.remaining())
    if not outcome:
        return False
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0] is not False


class _DaemonThreads(concurrent.futures.ThreadPoolExecutor):
    """The writer loop's executor (``asyncio.to_thread``, DNS lookups): one daemon thread per call, not
    the pool (asyncio takes only this class). Unlike the default one it still works in the
    interpreter-exit drain, and a call stuck in it cannot hold the exit."""

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> concurrent.futures.Future[T]:
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:
                future.set_exception(exc)
            else:
                future.set_result(result)

        threading.Thread(target=run, name="zlog-async-call", daemon=True).start()
        return future
