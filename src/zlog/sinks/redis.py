"""``RedisSink``: events to a Redis Stream (XADD, approximate MAXLEN) or a Pub/Sub channel.

Needs ``pip install 'zlog[redis]'`` (redis-py).
"""

from __future__ import annotations

import codecs
import contextlib
import os
from typing import Any

from zlog.event import Event
from zlog.sinks._streams import RejectedError, StreamSink, Writer, keep_inherited, line_renderer, masked_url

try:
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry
except ImportError as exc:  # pragma: no cover - exercised without the extra only
    raise ImportError("zlog.sinks.redis needs redis-py: pip install 'zlog[redis]'") from exc

__all__ = ["RedisSink"]


class _RedisWriter(Writer):
    def __init__(
        self, url: str, stream: str | None, channel: str | None, maxlen: int | None, profile: str | None
    ) -> None:
        super().__init__()
        self.url, self.stream, self.channel, self.maxlen = url, stream, channel, maxlen
        self.shown = masked_url(url)  # what messages may show: never the password
        self.render = line_renderer(profile)
        self._client: Any = None
        self._pid = os.getpid()
        _import_now()

    def _after_fork(self) -> None:
        super()._after_fork()
        keep_inherited(self._client)  # the parent's: closing it here could wait forever on its pool's lock
        self._client = None

    def _connection(self) -> Any:
        if self._client is None or self._pid != os.getpid():  # a forked child opens its own connection
            self._client = redis.Redis.from_url(
                self.url, socket_timeout=5, socket_connect_timeout=2, retry=Retry(NoBackoff(), 0)
            )  # the writer retries with its backoff
            self._pid = os.getpid()
        return self._client

    def send(self, events: list[Event]) -> int:
        pipe = self._connection().pipeline(transaction=False)
        command, render = pipe.execute_command, self.render  # the raw command: redis-py's xadd() costs more
        if self.stream is not None:
            head: tuple[Any, ...] = ("XADD", self.stream, *(("MAXLEN", "~", self.maxlen) if self.maxlen else ()), "*")
            for event in events:
                command(*head, "signal", event[0], "event", render(event))
        else:
            for event in events:
                command("PUBLISH", self.channel, render(event))
        try:
            pipe.execute()  # a command Redis refuses (WRONGTYPE: the key is not a stream) fails the batch, unretried
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise ConnectionError(f"redis at {self.shown}: {exc}") from exc
        except redis.ResponseError as exc:
            raise RejectedError(f"redis at {self.shown} refused the batch of {len(events)}: {exc}") from exc
        return len(events)

    def disconnect(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()


def _import_now() -> None:
    """Import here, in the thread that makes the sink, what redis-py imports on its first connection.

    A process that forks while one of its threads is importing a module leaves that module's import lock
    held forever in the child: the child's writer then hangs on its first connection. So the writer
    thread must never import anything (tests/test_sinks_redis.py checks it).
    """
    redis.Redis.from_url("redis://127.0.0.1:6379/0").close()  # the pool's imports; connects nowhere
    redis.utils.get_lib_version()  # type: ignore[no-untyped-call] # importlib.metadata's parsers, for the handshake's CLIENT SETINFO
    codecs.lookup("idna")  # socket.getaddrinfo() encodes the host name with it


class RedisSink(StreamSink):
    """Sends each event as one JSON line to a Redis Stream (entry fields ``signal`` and ``event``) or, with
    ``channel=``, publishes it on a Pub/Sub channel.

    Runs in the background like ``Background``: batches of up to ``batch_size`` go in one pipeline; while
    Redis is unreachable the writer retries with exponential backoff and jitter, the bounded queue fills,
    and what ``overflow`` drops is counted and reported as ``ZLOG_EVENTS_DROPPED``. ``flush()``/``close()``
    drain the queue. ``maxlen`` trims the stream approximately (None keeps everything).
    """

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        stream: str | None = "zlog:events",
        channel: str | None = None,
        maxlen: int | None = 100_000,
        profile: str | None = None,
        maxsize: int = 10_000,
        overflow: str = "drop_newest",
        batch_size: int = 1000,
        exit_timeout: float = 5.0,
        name: str = "redis",
    ) -> None:
        if channel is not None:
            stream = None
        if stream is None and channel is None:
            raise ValueError("RedisSink needs a stream or a channel")
        if maxlen is not None and (not isinstance(maxlen, int) or maxlen < 1):
            raise ValueError(f"maxlen must be None or an int >= 1, got {maxlen!r}")
        if not url.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError(f"RedisSink url must start with redis://, rediss:// or unix://, got {masked_url(url)!r}")
        self.url, self.stream, self.channel = url, stream, channel
        writer = _RedisWriter(url, stream, channel, maxlen, profile)
        super().__init__(
            writer, maxsize=maxsize, overflow=overflow, batch_size=batch_size, exit_timeout=exit_timeout, name=name
        )
