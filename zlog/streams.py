"""Reading events back from Redis Streams and NATS: one iterator of JSON lines for every worker's events.

``subscribe("redis://127.0.0.1:6379/zlog:events")`` or ``subscribe("nats://127.0.0.1:4222/zlog.events.>")``
yields the lines a ``RedisSink`` or ``NATSSink`` wrote. Needs the ``redis`` or ``nats`` extra.
"""

from __future__ import annotations

import asyncio
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

    path = [unquote(p) for p in parts.path.split("/") if p]
    if not path or len(path) > 2 or (len(path) == 2 and not path[0].isdigit()):
        raise ValueError(f"{parts.geturl()!r}: expected redis://HOST:PORT[/DB]/STREAM")
    db, stream = (int(path[0]), path[1]) if len(path) == 2 else (0, path[0])
    client = redis.Redis(host=parts.hostname or "127.0.0.1", port=parts.port or 6379, db=db,
                         socket_connect_timeout=2)
    try:
        client.ping()
    except redis.ConnectionError as exc:
        raise ConnectionError(f"cannot reach Redis at {parts.hostname}:{parts.port or 6379}: {exc}") from None
    return _redis_lines(client, stream, follow, start, timeout)


def _redis_lines(client: Any, stream: str, follow: bool, start: str, timeout: float | None) -> Iterator[bytes]:
    last = "0" if start == "all" else "$"
    if last == "$":  # "$" means after the newest entry at call time: resolve it once
        newest = client.xrevrange(stream, count=1)
        last = newest[0][0].decode() if newest else "0"
    idle_since = time.monotonic()
    try:
        while True:
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
    finally:
        client.close()


def _nats(parts: Any, follow: bool, start: str, timeout: float | None) -> Iterator[bytes]:
    subject = unquote(parts.path.lstrip("/"))
    if not subject:
        raise ValueError(f"{parts.geturl()!r}: expected nats://HOST:PORT/SUBJECT")
    server = f"nats://{parts.hostname or '127.0.0.1'}:{parts.port or 4222}"
    loop = asyncio.new_event_loop()
    try:
        nc, sub = loop.run_until_complete(_nats_subscribe(server, subject, start))
    except Exception as exc:
        loop.close()
        raise ConnectionError(f"cannot subscribe to {subject!r} at {server}: {type(exc).__name__}: {exc}") from None
    return _nats_lines(loop, nc, sub, follow, timeout)


async def _quiet(error: Exception) -> None:
    """Connection errors surface as the ConnectionError of ``subscribe``, not as nats-py log lines."""


async def _nats_subscribe(server: str, subject: str, start: str) -> tuple[Any, Any]:
    import nats
    from nats.js.api import DeliverPolicy
    from nats.js.errors import NotFoundError

    nc = await nats.connect(server, connect_timeout=2, allow_reconnect=False, max_reconnect_attempts=1,
                             reconnect_time_wait=0.1, error_cb=_quiet)  # 0 attempts waits forever if refused
    if start == "all":
        js = nc.jetstream()
        try:
            await js.find_stream_name_by_subject(subject)
            return nc, await js.subscribe(subject, ordered_consumer=True, deliver_policy=DeliverPolicy.ALL)
        except NotFoundError:
            pass  # no stream stores it: only what arrives from now on exists
    return nc, await nc.subscribe(subject)


def _nats_lines(loop: asyncio.AbstractEventLoop, nc: Any, sub: Any, follow: bool,
                timeout: float | None) -> Iterator[bytes]:
    from nats.errors import TimeoutError as NATSTimeout

    wait = (timeout or 1.0) if follow else _IDLE
    try:
        while True:
            try:
                msg = loop.run_until_complete(sub.next_msg(timeout=wait))
            except (NATSTimeout, asyncio.TimeoutError):
                if follow and timeout is None:
                    continue
                return
            yield bytes(msg.data)
    finally:
        loop.run_until_complete(nc.close())
        loop.close()
