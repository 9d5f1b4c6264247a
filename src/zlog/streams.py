"""Reading events back from Redis Streams and NATS: one iterator of JSON lines for every worker's events.

``subscribe("redis://127.0.0.1:6379/zlog:events")`` or ``subscribe("nats://127.0.0.1:4222/zlog.events.>")``
yields the lines a ``RedisSink`` or ``NATSSink`` wrote. Needs the ``redis`` or ``nats`` extra.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote, urlsplit

__all__ = ["subscribe"]

_IDLE = 0.5  # without follow, a core NATS subscription ends after this long without a message


def subscribe(url: str, *, follow: bool = True, start: str = "new", timeout: float | None = None) -> Iterator[bytes]:
    """The JSON lines at ``url``: ``redis://HOST:PORT[/DB]/STREAM`` or ``nats://HOST:PORT/SUBJECT``.

    ``start="all"`` begins with what is stored (a Redis Stream's entries, or a JetStream stream holding
    the subject); ``"new"`` with what arrives from now on. ``follow=False`` stops when caught up;
    ``follow=True`` keeps waiting, until ``timeout`` seconds pass without a message (None: forever).
    Raises ValueError for a bad URL and ConnectionError when the server cannot be reached.
    """
    if start not in ("new", "all"):
        raise ValueError(f"start must be 'new' or 'all', got {start!r}")
    parts = urlsplit(url)
    if parts.scheme == "redis":
        return _redis(parts, follow, start, timeout)
    if parts.scheme == "nats":
        return _nats(parts, follow, start, timeout)
    raise ValueError(f"{url!r}: expected redis://HOST:PORT[/DB]/STREAM or nats://HOST:PORT/SUBJECT")


def _redis(parts: Any, follow: bool, start: str, timeout: float | None) -> Iterator[bytes]:
    import redis
    from redis.backoff import EqualJitterBackoff, NoBackoff
    from redis.retry import Retry

    path = [unquote(p) for p in parts.path.split("/") if p]
    if not path or len(path) > 2 or (len(path) == 2 and not path[0].isdigit()):
        raise ValueError(f"{parts.geturl()!r}: expected redis://HOST:PORT[/DB]/STREAM")
    db, stream = (int(path[0]), path[1]) if len(path) == 2 else (0, path[0])
    where = f"{parts.hostname or '127.0.0.1'}:{parts.port or 6379}"
    client = redis.Redis(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 6379,
        db=db,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        socket_connect_timeout=2,
        retry=Retry(NoBackoff(), 0),
    )  # the first contact fails fast; reading retries below
    try:
        raw = client.type(stream)
        kind = raw.decode() if isinstance(raw, bytes) else str(raw)
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        client.close()
        raise ConnectionError(f"cannot reach Redis at {where}: {exc}") from None
    if kind not in ("stream", "none"):
        client.close()
        raise ValueError(f"{parts.geturl()!r}: the key {stream!r} is a Redis {kind}, not a stream")
    try:
        newest = client.xrevrange(stream, count=1)  # "$" in XREAD means "after the newest": resolve it now
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        client.close()
        raise ConnectionError(f"cannot reach Redis at {where}: {exc}") from None
    client.set_retry(Retry(EqualJitterBackoff(cap=2.0), 5))  # a blip while following is retried
    end = _entry_id(newest[0][0]) if newest else (0, 0)
    last = "0" if start == "all" else f"{end[0]}-{end[1]}"  # without follow: stop after this one
    return _redis_lines(client, where, stream, (last, end), follow, timeout)


def _entry_id(raw: Any) -> tuple[int, int]:
    ms, _, seq = (raw.decode() if isinstance(raw, bytes) else raw).partition("-")
    return int(ms), int(seq or 0)


def _redis_lines(
    client: Any, where: str, stream: str, position: tuple[str, tuple[int, int]], follow: bool, timeout: float | None
) -> Iterator[bytes]:
    import redis

    last, end = position
    try:
        idle_since = time.monotonic()
        while True:
            if not follow and _entry_id(last) >= end:
                return
            block = int(min(1.0, timeout or 1.0) * 1000) if follow else None
            reply = client.xread({stream: last}, count=1000, block=block)
            if not reply:
                if not follow or (timeout is not None and time.monotonic() - idle_since >= timeout):
                    return
                continue
            idle_since = time.monotonic()
            for entry_id, entry in reply[0][1]:
                last = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
                line = entry.get(b"event")
                if line is not None:
                    yield line
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        raise ConnectionError(f"lost the connection to Redis at {where}: {exc}") from None
    finally:
        client.close()


def _nats(parts: Any, follow: bool, start: str, timeout: float | None) -> Iterator[bytes]:
    subject = unquote(parts.path.lstrip("/"))
    if not subject:
        raise ValueError(f"{parts.geturl()!r}: expected nats://HOST:PORT/SUBJECT")
    server = f"nats://{parts.netloc or '127.0.0.1:4222'}"  # keeps user:password@ when given
    loop = asyncio.new_event_loop()
    try:
        nc, sub = loop.run_until_complete(_nats_subscribe(server, subject, start))
    except Exception as exc:
        loop.close()
        where = f"{parts.hostname or '127.0.0.1'}:{parts.port or 4222}"  # never the password
        message = f"cannot subscribe to {subject!r} at nats://{where}: {type(exc).__name__}: {exc}"
        raise ConnectionError(message) from None
    return _nats_lines(loop, nc, sub, follow, timeout)


async def _quiet(error: Exception) -> None:
    """Connection errors surface as the ConnectionError of ``subscribe``, not as nats-py log lines."""


async def _nats_subscribe(server: str, subject: str, start: str) -> tuple[Any, Any]:
    import nats
    from nats.js.api import DeliverPolicy
    from nats.js.errors import NotFoundError

    nc = await nats.connect(
        server,
        connect_timeout=2,
        allow_reconnect=False,
        max_reconnect_attempts=1,
        reconnect_time_wait=0.1,
        error_cb=_quiet,
    )  # 0 attempts waits forever if refused
    if start == "all":
        js = nc.jetstream()
        try:
            await js.find_stream_name_by_subject(subject)
            return nc, await js.subscribe(subject, ordered_consumer=True, deliver_policy=DeliverPolicy.ALL)
        except NotFoundError:
            pass  # no stream stores it: only what arrives from now on exists
    return nc, await nc.subscribe(subject)


def _nats_lines(
    loop: asyncio.AbstractEventLoop, nc: Any, sub: Any, follow: bool, timeout: float | None
) -> Iterator[bytes]:
    from nats.errors import Error as NATSError
    from nats.errors import TimeoutError as NATSTimeout

    wait = (timeout or 1.0) if follow else _IDLE
    try:
        while True:
            try:
                msg = loop.run_until_complete(sub.next_msg(timeout=wait))
            except (NATSTimeout, asyncio.TimeoutError):
                if nc.is_closed:
                    raise ConnectionError("lost the connection to the NATS server") from None
                if follow and timeout is None:
                    continue
                return
            except NATSError as exc:
                raise ConnectionError(f"lost the connection to NATS: {type(exc).__name__}: {exc}") from None
            yield bytes(msg.data)
            if not follow and msg.reply and _caught_up(msg):
                return
    finally:
        with contextlib.suppress(Exception):
            loop.run_until_complete(sub.unsubscribe())  # a JetStream subscription also stops its helper tasks
        with contextlib.suppress(Exception):
            loop.run_until_complete(nc.close())
        loop.close()


def _caught_up(msg: Any) -> bool:
    """A JetStream message tells how many more the consumer has: none left means caught up."""
    try:
        return int(msg.metadata.num_pending) == 0
    except Exception:  # not a JetStream message
        return False
