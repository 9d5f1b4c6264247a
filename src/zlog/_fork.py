"""Re-creating locks (and forgetting threads) in a child process after ``os.fork()``.

A lock held by another thread at the moment of ``fork`` stays locked forever in the child. Every zlog
object that owns a lock registers a callback here; the child runs them before anything else.

Objects whose lock must not be caught held by a fork take it just before the fork and keep it until
the fork is done (``hold_across_fork``), the latest made first (a wrapper is made after the sink it
wraps, so it goes first): a ``Background`` waits for the batch its writer is handing to its sink (so the
fork never catches that thread inside a stream's own lock); a ``JSONSink`` waits for the line being
written, and a buffered one writes its buffer, which the child would otherwise write a second time.
"""

from __future__ import annotations

import contextlib
import os
import threading
import weakref
from collections.abc import Callable
from typing import Any

_callbacks: weakref.WeakKeyDictionary[Any, list[Callable[[Any], None]]] = weakref.WeakKeyDictionary()
_before: weakref.WeakKeyDictionary[Any, Callable[[Any], None]] = weakref.WeakKeyDictionary()
_parent: weakref.WeakKeyDictionary[Any, Callable[[Any], None]] = weakref.WeakKeyDictionary()
_held: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()  # the lock each object holds now
_guard = threading.Lock()


def after_fork_in_child(obj: Any, callback: Callable[[Any], None]) -> None:
    """Call ``callback(obj)`` in the child after a fork, for as long as ``obj`` is alive (several
    callbacks for one object run in the order they were registered)."""
    with _guard:
        _callbacks.setdefault(obj, []).append(callback)


def hold_across_fork(
    obj: Any, lock_of: Callable[[Any], Any], *, wait: float, then: Callable[[Any], None] | None = None
) -> None:
    """Before each fork, in the parent: take ``lock_of(obj)`` (waiting at most ``wait`` seconds) and, holding
    it, call ``then(obj)``; release it once the fork is done. The child makes a lock of its own (its
    ``after_fork_in_child`` callback), so it never inherits this one held by a thread it does not have."""

    def before(o: Any) -> None:
        lock = lock_of(o)
        held = lock.acquire(timeout=wait)
        _held[o] = lock if held else None
        if held and then is not None:
            then(o)

    def after(o: Any) -> None:
        lock = _held.pop(o, None)
        if lock is not None:
            lock.release()

    with _guard:
        _before[obj] = before
        _parent[obj] = after


def _run_before() -> None:
    with _guard:
        pending = list(_before.items())
    for obj, callback in reversed(pending):  # the latest made first: a wrapper before the sink it wraps
        with contextlib.suppress(Exception):  # a failing hook must not stop the fork
            callback(obj)


def _run_in_parent() -> None:
    with _guard:
        pending = list(_parent.items())
    for obj, callback in pending:
        with contextlib.suppress(Exception):
            callback(obj)


def _run() -> None:
    global _guard
    _guard = threading.Lock()
    _held.clear()  # the parent's, released there
    for obj, callbacks in list(_callbacks.items()):
        for callback in callbacks:
            with contextlib.suppress(Exception):  # a broken hook must not break the child
                callback(obj)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_run_before, after_in_parent=_run_in_parent, after_in_child=_run)


def owned_lock(obj: Any, attr: str = "_lock", factory: Callable[[], Any] = threading.Lock) -> Any:
    """A new lock for ``obj.<attr>``; a forked child gets a fresh one there (assign the result)."""
    after_fork_in_child(obj, lambda o: setattr(o, attr, factory()))
    return factory()
