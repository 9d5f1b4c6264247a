"""Shared pieces of the stream sinks (Redis, NATS): line rendering, unique ids, backoff, the sink base."""

from __future__ import annotations

import itertools
import os
import random
import socket
import threading
from collections.abc import Callable
from typing import Any

from zlog import _encode, _fork, _profiles, _reporting
from zlog.event import Event
from zlog.sinks.background import Background
from zlog.typing import Reporter

__all__ = [
    "Backoff",
    "RejectedError",
    "StreamSink",
    "Writer",
    "keep_inherited",
    "line_renderer",
    "masked_url",
    "new_ids",
]

LINE_LIMIT = 1_000_000  # one event per message; backends take at least 1 MB


def line_renderer(profile: str | None) -> Callable[[Event], bytes]:
    """Event -> one JSON line without the newline (zlog's native line, or a profile's)."""
    clock = _encode.Clock()
    if profile is None:

        def native(event: Event) -> bytes:
            name, message, ns, fields, level = event
            return _encode.render(name, message, clock.stamp(ns), fields, level, LINE_LIMIT)[:-1]

        return native
    build = _profiles.builder(profile)

    def profiled(event: Event) -> bytes:
        name, message, ns, fields, level = event
        return _encode.dumps(build(name, message, ns, clock.stamp(ns), fields, level))[:-1]

    return profiled


def masked_url(url: str) -> str:
    """``url`` as it may be shown: everything before an ``@`` (user, password) and the query hidden."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    if "@" in rest:  # even where a password with a raw / or ? would have ended the authority early
        rest = "***@" + rest.rpartition("@")[2]
    rest, query, _ = rest.partition("#")[0].partition("?")
    return f"{scheme}{sep}{rest}" + ("?***" if query else "")


def new_ids() -> Callable[[], str]:
    """Unique message ids: host, pid, a random part and a counter (a forked child gets new ones)."""
    state: dict[str, Any] = {}

    def next_id() -> str:
        if state.get("pid") != os.getpid():
            state.update(
                pid=os.getpid(),
                counter=itertools.count(),
                prefix=f"{socket.gethostname()}-{os.getpid()}-{random.getrandbits(32):08x}",
            )
        return f"{state['prefix']}-{next(state['counter'])}"

    return next_id


#: A forked child's copies of its parent's clients: never used, closed or collected there, since a lock
#: inside them may have been held by a parent thread at the fork (redis-py's connection pool would then
#: wait forever in the child when the client is closed or garbage-collected).
_inherited: list[Any] = []


def keep_inherited(client: Any) -> None:
    """In a forked child: keep the parent's ``client`` alive and untouched for the life of the process."""
    if client is not None:
        _inherited.append(client)


class Backoff:
    """Exponential backoff with full jitter: delays up to ``base * 2**n``, capped at ``cap`` seconds."""

    def __init__(self, base: float = 0.05, cap: float = 5.0) -> None:
        self.base, self.cap, self.attempt = base, cap, 0

    def next(self) -> float:
        ceiling = min(self.cap, self.base * 2**self.attempt)
        self.attempt += 1
        return random.uniform(ceiling / 2, ceiling)


class Writer:
    """The writer-thread side of a stream sink.

    ``send(batch)`` returns how many events the server accepted; it raises ConnectionError (or TimeoutError,
    OSError) to have the batch retried after a backoff, anything else to fail the batch. Once ``stop`` is
    set (``close()``) nothing is retried and what is left is counted through ``on_abandon(count)``.
    """

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.sent = 0
        self.reconnects = 0
        self.last_error: BaseException | None = None
        self.on_abandon: Callable[[int], None] = lambda count: None
        self.name = type(self).__name__  # the stream sink gives it its own name: failures are reported under it
        self._reporter: Reporter = _reporting.standalone()
        _fork.after_fork_in_child(self, lambda writer: writer._after_fork())

    def attach(self, reporter: Reporter, /) -> None:
        """Report failed attempts (rate-limited) through the reporter of the routed stream sink."""
        self._reporter = reporter

    def _after_fork(self) -> None:
        """In a forked child: a new stop event; subclasses also let go of the parent's connection (with
        :func:`keep_inherited`)."""
        stopped, self.stop = self.stop.is_set(), threading.Event()  # a parent thread may hold the old one's lock
        if stopped:
            self.stop.set()

    def send(self, events: list[Event]) -> int:  # pragma: no cover - overridden
        raise NotImplementedError

    def disconnect(self) -> None:
        """Drop the connection so that the next ``send`` reconnects."""

    def handle_batch(self, events: list[Event]) -> None:
        backoff = Backoff()
        while not self.stop.is_set():
            try:
                accepted = self.send(events)
            except (ConnectionError, TimeoutError, OSError) as exc:
                self.last_error = exc
                self.reconnects += 1
                self.disconnect()
                self._reporter.failed(exc, events[0], sink=self.name)  # an outage is seen, not only its drops
                self.stop.wait(backoff.next())
                continue
            self.sent += accepted
            if accepted < len(events):
                raise RejectedError(
                    f"the server rejected {len(events) - accepted} of {len(events)} events: {self.last_error}"
                )
            return
        self.on_abandon(len(events))

    def handle(self, event: Event) -> None:
        self.handle_batch([event])

    def close(self, timeout: float | None = None) -> bool:
        """Stop retrying and drop the connection."""
        self.stop.set()
        self.disconnect()
        return True


class RejectedError(Exception):
    """The server refused some events for good (not a connection problem): they are not retried."""


class StreamSink(Background):
    """A Background sink around a Writer: never blocks ``emit``, retries with backoff, counts drops.

    When the time runs out at close or exit, the writer stops retrying; the events still queued and
    those of the batch being sent are counted as dropped and reported (a batch the server acknowledges
    after that moment is delivered, and still counted).
    """

    _hold_at_fork = False  # the writer uses sockets only, and a stalled server must not hold up a fork

    def __init__(
        self, writer: Writer, *, maxsize: int, overflow: str, batch_size: int, exit_timeout: float, name: str
    ) -> None:
        self.writer = writer
        writer.on_abandon = self._abandoned
        writer.name = name
        self._gave_up = False
        super().__init__(
            writer, maxsize=maxsize, overflow=overflow, batch_size=batch_size, exit_timeout=exit_timeout, name=name
        )

    @property
    def sent(self) -> int:
        """Events the server accepted."""
        return self.writer.sent

    @property
    def reconnects(self) -> int:
        """Failed attempts that were retried after a backoff."""
        return self.writer.reconnects

    def _abandoned(self, count: int) -> None:
        """The writer gave up a batch (the sink is closing): count and report it once."""
        with self._cond:
            if self._gave_up:
                return  # counted by _give_up already
            self.dropped += count
        self._reporter.dropped(
            count, "the server was unreachable when the sink was closed", sink=self.name, policy=self.overflow
        )

    _drops_in_flight_at_close = True

    def _give_up(self) -> None:
        with self._cond:
            self._gave_up = True  # the batch being sent is counted by _abandon, not again by the writer
        self.writer.stop.set()  # a writer still retrying gives up now

    def stats(self) -> dict[str, Any]:
        return {**super().stats(), "sent": self.writer.sent, "reconnects": self.writer.reconnects}
