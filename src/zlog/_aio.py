"""The router's side of async sinks: one ``AsyncSink`` per async sink routed directly, and the awaitable
``aflush``/``aclose`` that wait on another thread so that the caller's event loop keeps running.

Nothing here imports asyncio or the sink modules until an async sink is routed or ``aflush`` is awaited.
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from collections.abc import Callable, Hashable
from typing import Any

from zlog._deadline import Deadline
from zlog._sinkcalls import is_async, key_of
from zlog.typing import SinkLike

__all__ = ["Wrapped", "off_loop", "wrap"]

#: Per router: the AsyncSink made around each async sink (by ``key_of``), alive as long as it is. The
#: wrapper holds the sink, so the key's object cannot be collected and its id reused meanwhile.
Wrapped = weakref.WeakValueDictionary


def wrap(obj: SinkLike, made: Wrapped[Hashable, Any]) -> SinkLike:
    """``obj`` itself, or for an async sink the ``AsyncSink`` around it (the same one each time it is
    routed on this router, until that one is closed). Call under the router's lock."""
    if not is_async(obj):
        return obj
    key = key_of(obj)
    wrapper = made.get(key)
    if wrapper is None or wrapper.closed:
        from zlog.sinks.aio import AsyncSink  # only when an async sink is routed

        wrapper = made[key] = AsyncSink(obj)
    return wrapper


async def off_loop(call: Callable[[float | None], bool], timeout: float | None) -> bool:
    """Await ``call(timeout)`` (a router's flush or close) run on its own thread, so the event loop keeps
    running; returns by ``timeout`` (False if it ran out) whatever the call does."""
    import asyncio

    deadline = Deadline(timeout)
    loop = asyncio.get_running_loop()
    future: asyncio.Future[bool] = loop.create_future()

    def settle(result: bool | None, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(bool(result))

    def run() -> None:
        result: bool | None = None
        error: BaseException | None = None
        try:
            result = call(deadline.remaining())
        except BaseException as exc:  # handed to the awaiting coroutine
            error = exc
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody awaits it any more
            loop.call_soon_threadsafe(settle, result, error)

    threading.Thread(target=run, name="zlog-aflush", daemon=True).start()
    done, _ = await asyncio.wait({future}, timeout=deadline.remaining())
    if not done:
        future.cancel()  # what the call still does is the router's to report, not this coroutine's
        return False
    return future.result()
