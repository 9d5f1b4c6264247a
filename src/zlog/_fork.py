"""Re-creating locks (and forgetting threads) in a child process after ``os.fork()``.

A lock held by another thread at the moment of ``fork`` stays locked forever in the child. Every zlog
object that owns a lock registers a callback here; the child runs them before anything else. Objects
whose buffer a child would otherwise inherit and write a second time register a callback that runs in
the parent just before the fork (``before_fork``): they write it first.
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
_guard = threading.Lock()


def after_fork_in_child(obj: Any, callback: Callable[[Any], None]) -> None:
    """Call ``callback(obj)`` in the child after a fork, for as long as ``obj`` is alive (several
    callbacks for one object run in the order they were registered)."""
    with _guard:
        _callbacks.setdefault(obj, []).append(callback)


def before_fork(obj: Any, callback: Callable[[Any], None]) -> None:
    """Call ``callback(obj)`` in the parent just before each fork, for as long as ``obj`` is alive."""
    with _guard:
        _before[obj] = callback


def _run_before() -> None:
    with _guard:
        pending = list(_before.items())
    for obj, callback in pending:
        with contextlib.suppress(Exception):  # a failing hook must not stop the fork
            callback(obj)


def _run() -> None:
    global _guard
    _guard = threading.Lock()
    for obj, callbacks in list(_callbacks.items()):
        for callback in callbacks:
            with contextlib.suppress(Exception):  # a broken hook must not break the child
                callback(obj)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_run_before, after_in_child=_run)


def owned_lock(obj: Any, attr: str = "_lock", factory: Callable[[], Any] = threading.Lock) -> Any:
    """A new lock for ``obj.<attr>``; a forked child gets a fresh one there (assign the result)."""
    after_fork_in_child(obj, lambda o: setattr(o, attr, factory()))
    return factory()
