"""``NATSSink``: events to NATS subjects, through JetStream (with message-id de-duplication) when a
stream holds the subject. Needs ``pip install 'zlog[nats]'`` (nats-py).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from typing import Any

from zlog.event import Event
from zlog.sinks._streams import StreamSink, Writer, line_renderer, new_ids

try:
    import nats
    from nats.errors import Error as NATSError
    from nats.js.errors import NotFoundError
except ImportError as exc:  # pragma: no cover - exercised without the extra only
    raise ImportError("zlog.sinks.nats needs nats-py: pip install 'zlog[nats]'") from exc

__all__ = ["NATSSink"]


async def _quiet(error: Exception) -> None:
    """nats-py logs every connection error itself; the sink counts them and retries instead."""


class _NATSWriter(Writer):
    """Publishes from the writer thread on a private event loop (never the application's loop)."""

    def __init__(self, servers: str | list[str], prefix: str, profile: str | None, jetstream: bool) -> None:
        super().__init__()
        self.servers, self.prefix, self.jetstream = servers, prefix, jetstream
        self.render = line_renderer(profile)
        self.next_id = new_ids()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._nc: Any = None
        self._js: Any = None
        self._streams: dict[str, bool] = {}
        self._batch: tuple[list[Event], list[tuple[str, bytes, str]]] | None = None
        self._pid = os.getpid()

    def _run(self, coro: Any) -> Any:
        if self._loop is None or self._pid != os.getpid():  # a forked child starts its own loop and connection
            self._loop, self._nc, self._js, self._streams = asyncio.new_event_loop(), None, None, {}
            self._pid = os.getpid()
        return self._loop.run_until_complete(coro)

    async def _connect(self) -> Any:
        if self._nc is None or self._nc.is_closed:
            self._nc = await nats.connect(self.servers, connect_timeout=2, allow_reconnect=False,
                                          max_reconnect_attempts=1, reconnect_time_wait=0.1, error_cb=_quiet)
            self._js = self._nc.jetstream(timeout=5)
            self._streams = {}
        return self._nc

    async def _has_stream(self, subject: str) -> bool:
        found = self._streams.get(subject)
        if found is None:
            try:
                await self._js.find_stream_name_by_subject(subject)
                found = True
            except NotFoundError:
                found = False
            self._streams[subject] = found
        return found

    async def _publish(self, items: list[tuple[str, bytes, str]]) -> None:
        nc = await self._connect()
        acks = []
        for subject, data, msg_id in items:
            if self.jetstream and await self._has_stream(subject):
                acks.append(self._js.publish(subject, data, headers={"Nats-Msg-Id": msg_id}))
            else:
                await nc.publish(subject, data)
        if acks:
            await asyncio.gather(*acks)
        await nc.flush(timeout=5)

    def send(self, events: list[Event]) -> None:
        batch = self._batch
        if batch is None or batch[0] is not events:  # a retry keeps the ids: JetStream stores the batch once
            batch = self._batch = (events, [(f"{self.prefix}.{e[0]}", self.render(e), self.next_id()) for e in events])
        try:
            self._run(self._publish(batch[1]))
        except (NATSError, asyncio.TimeoutError, OSError) as exc:
            raise ConnectionError(f"nats at {self.servers}: {type(exc).__name__}: {exc}") from exc
        self._batch = None

    def disconnect(self) -> None:
        nc, self._nc = self._nc, None
        if nc is not None and self._loop is not None and self._pid == os.getpid():
            with contextlib.suppress(Exception):
                self._loop.run_until_complete(nc.close())


class NATSSink(StreamSink):
    """Publishes each event as one JSON line on ``<subject_prefix>.<SIGNAL>`` (``zlog.events.JOB_FAILED``).

    When a JetStream stream holds the subject (looked up once per subject and connection), the event is
    published through JetStream with a unique ``Nats-Msg-Id`` header, so a retried batch is stored once
    (within the stream's duplicate window); otherwise with a core NATS publish. Runs in the background like
    ``Background``, reconnecting with exponential backoff and jitter; drops are counted and reported.
    """

    def __init__(self, servers: str | list[str] = "nats://127.0.0.1:4222", *, subject_prefix: str = "zlog.events",
                 jetstream: bool = True, profile: str | None = None, maxsize: int = 10_000,
                 overflow: str = "drop_newest", batch_size: int = 256, router: Any = None, name: str = "nats") -> None:
        if not subject_prefix or any(c in subject_prefix for c in " *>\t\n"):
            raise ValueError(f"subject_prefix must be a NATS subject without wildcards, got {subject_prefix!r}")
        self.servers, self.subject_prefix = servers, subject_prefix
        writer = _NATSWriter(servers, subject_prefix, profile, jetstream)
        super().__init__(writer, maxsize=maxsize, overflow=overflow, batch_size=batch_size, router=router, name=name)
