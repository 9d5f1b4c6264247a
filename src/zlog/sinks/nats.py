"""``NATSSink``: events to NATS subjects, through JetStream (with message-id de-duplication) when a
stream holds the subject. Needs ``pip install 'zlog[nats]'`` (nats-py).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from typing import Any

from zlog.event import Event
from zlog.sinks._streams import StreamSink, Writer, keep_inherited, line_renderer, masked_url, new_ids

try:
    import nats
    from nats.errors import BadHeaderError, BadSubjectError, MaxPayloadError
    from nats.errors import Error as NATSError
    from nats.js.errors import APIError, NoStreamResponseError, NotFoundError, ServiceUnavailableError
except ImportError as exc:  # pragma: no cover - exercised without the extra only
    raise ImportError("zlog.sinks.nats needs nats-py: pip install 'zlog[nats]'") from exc

__all__ = ["NATSSink"]


async def _quiet(error: Exception) -> None:
    """nats-py logs every connection error itself; the sink counts them and retries instead."""


_PERMANENT = (APIError, MaxPayloadError, BadSubjectError, BadHeaderError)  # retrying cannot help
_TRANSIENT = (ServiceUnavailableError, NoStreamResponseError)  # JetStream busy, or the stream went away


_STORE_FAILED = 10077  # the stream's limits refuse the message ("maximum messages exceeded", discard=new)


def _retry(exc: BaseException) -> bool:
    """Whether a failed publish is worth retrying: connection trouble, a timeout, JetStream unavailable."""
    if isinstance(exc, _TRANSIENT):
        return getattr(exc, "err_code", None) != _STORE_FAILED  # 503 too, but retrying cannot help
    return isinstance(exc, (NATSError, asyncio.TimeoutError, OSError)) and not isinstance(exc, _PERMANENT)


class _NATSWriter(Writer):
    """Publishes from the writer thread on a private event loop (never the application's loop)."""

    def __init__(self, servers: str | list[str], prefix: str, profile: str | None, jetstream: bool) -> None:
        super().__init__()
        self.servers, self.prefix, self.jetstream = servers, prefix, jetstream
        listed = [servers] if isinstance(servers, str) else list(servers)
        self.shown = ", ".join(masked_url(s) for s in listed)  # what messages may show: never a password
        self.render = line_renderer(profile)
        self.next_id = new_ids()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._nc: Any = None
        self._js: Any = None
        self._streams: dict[str, bool] = {}
        self._batch: list[Event] | None = None  # the batch being sent, kept across retries with its ids
        self._todo: list[tuple[str, bytes, str]] = []  # its messages not yet accepted nor rejected
        self._accepted = 0
        self._pid = os.getpid()

    def _after_fork(self) -> None:
        super()._after_fork()
        keep_inherited((self._loop, self._nc, self._js))  # the parent's: never closed or collected here
        self._loop, self._nc, self._js, self._streams = None, None, None, {}

    def _run(self, coro: Any) -> Any:
        if self._loop is None or self._pid != os.getpid():  # a forked child starts its own loop and connection
            self._loop, self._nc, self._js, self._streams = asyncio.new_event_loop(), None, None, {}
            self._pid = os.getpid()
        return self._loop.run_until_complete(coro)

    async def _connect(self) -> Any:
        if self._nc is None or self._nc.is_closed:
            self._nc = await nats.connect(
                self.servers,
                connect_timeout=2,
                allow_reconnect=False,
                max_reconnect_attempts=1,
                reconnect_time_wait=0.1,
                error_cb=_quiet,
            )
            self._js = self._nc.jetstream(timeout=5)
            self._streams = {}  # looked up again on every new connection: streams come and go
        return self._nc

    async def _has_stream(self, subject: str) -> bool:
        found = self._streams.get(subject)
        if found is None:
            try:
                await self._js.find_stream_name_by_subject(subject)
                found = True
            except (NotFoundError, ServiceUnavailableError):  # no stream, or a server without JetStream
                found = False
            self._streams[subject] = found
        return found

    async def _publish(self, items: list[tuple[str, bytes, str]]) -> list[tuple[str, bytes, str]]:
        """Publishes ``items``; returns those to retry. Counts accepted ones; a rejected one is not retried."""
        nc = await self._connect()
        core: list[tuple[str, bytes, str]] = []
        stored: list[tuple[str, bytes, str]] = []
        for item in items:
            (stored if self.jetstream and await self._has_stream(item[0]) else core).append(item)
        for subject, data, _ in core:
            if len(data) > nc.max_payload:
                self.last_error = MaxPayloadError(f"{len(data)} bytes > max_payload {nc.max_payload} on {subject}")
                continue
            await nc.publish(subject, data)
        await nc.flush(timeout=5)
        self._accepted += sum(len(data) <= nc.max_payload for _, data, _ in core)
        results = await self._acks(stored)
        retry: list[tuple[str, bytes, str]] = []
        for item, result in zip(stored, results, strict=True):
            if not isinstance(result, BaseException):
                self._accepted += 1
                continue
            self.last_error = result
            if _retry(result):
                retry.append(item)
            elif not isinstance(result, Exception):  # pragma: no cover - KeyboardInterrupt and the like
                raise result
        return retry

    async def _acks(self, stored: list[tuple[str, bytes, str]]) -> list[Any]:
        """JetStream publishes, all sent before any acknowledgement is awaited: each ack or its exception."""
        if not stored:
            return []
        publish_async = getattr(self._js, "publish_async", None)  # nats-py >= 2.10: no request per message
        if publish_async is None:  # pragma: no cover - older nats-py
            return await asyncio.gather(
                *(self._js.publish(subject, data, headers={"Nats-Msg-Id": msg_id}) for subject, data, msg_id in stored),
                return_exceptions=True,
            )
        futures = [
            await publish_async(subject, data, headers={"Nats-Msg-Id": msg_id}) for subject, data, msg_id in stored
        ]
        _, late = await asyncio.wait(futures, timeout=5)
        results: list[Any] = [None if f in late else f.exception() or f.result() for f in futures]
        if late:  # nats-py 2.16 never resolves the future of a 503 error reply: ask again, one request each
            for future in late:
                future.cancel()
            again = [i for i, f in enumerate(futures) if f in late]
            retried = await asyncio.gather(
                *(self._js.publish(stored[i][0], stored[i][1], headers={"Nats-Msg-Id": stored[i][2]}) for i in again),
                return_exceptions=True,
            )  # the same id: stored once
            for i, result in zip(again, retried, strict=True):
                results[i] = result
        return results

    def send(self, events: list[Event]) -> int:
        if self._batch is not events:  # a retry keeps the ids: JetStream stores each message once
            self._batch, self._accepted = events, 0
            self._todo = [(f"{self.prefix}.{e[0]}", self.render(e), self.next_id()) for e in events]
        try:
            self._todo = self._run(self._publish(self._todo))
        except Exception as exc:
            if not _retry(exc):
                self._batch = None
                raise
            raise ConnectionError(f"nats at {self.shown}: {type(exc).__name__}: {exc}") from exc
        if self._todo:
            self.disconnect()  # look the streams up again: one may have been deleted
            raise ConnectionError(
                f"nats at {self.shown}: {len(self._todo)} JetStream publishes not acknowledged: "
                f"{type(self.last_error).__name__}: {self.last_error}"
            )
        self._batch = None
        return self._accepted

    def disconnect(self) -> None:
        nc, self._nc = self._nc, None
        loop = self._loop
        if nc is not None and loop is not None and self._pid == os.getpid() and not loop.is_running():
            with contextlib.suppress(Exception):
                loop.run_until_complete(nc.close())


class NATSSink(StreamSink):
    """Publishes each event as one JSON line on ``<subject_prefix>.<SIGNAL>`` (``zlog.events.JOB_FAILED``).

    When a JetStream stream holds the subject (looked up once per subject and connection), the event is
    published through JetStream with a unique ``Nats-Msg-Id`` header, so a retried batch is stored once
    (within the stream's duplicate window); otherwise with a core NATS publish. Runs in the background like
    ``Background``, reconnecting with exponential backoff and jitter; drops are counted and reported.
    """

    def __init__(
        self,
        servers: str | list[str] = "nats://127.0.0.1:4222",
        *,
        subject_prefix: str = "zlog.events",
        jetstream: bool = True,
        profile: str | None = None,
        maxsize: int = 10_000,
        overflow: str = "drop_newest",
        batch_size: int = 256,
        exit_timeout: float = 5.0,
        name: str = "nats",
    ) -> None:
        if not subject_prefix or any(c in subject_prefix for c in " *>\t\n"):
            raise ValueError(f"subject_prefix must be a NATS subject without wildcards, got {subject_prefix!r}")
        self.servers, self.subject_prefix = servers, subject_prefix
        writer = _NATSWriter(servers, subject_prefix, profile, jetstream)
        super().__init__(
            writer, maxsize=maxsize, overflow=overflow, batch_size=batch_size, exit_timeout=exit_timeout, name=name
        )
