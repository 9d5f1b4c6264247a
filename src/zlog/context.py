"""Bound context: fields added to every event emitted inside a ``with zlog.bind(...)`` block."""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from types import MappingProxyType, TracebackType
from typing import Any

__all__ = ["Binding", "bind", "bound"]

_EMPTY: dict[str, Any] = {}
#: The current bound fields. Never mutated in place: ``bind`` sets a new dict.
CONTEXT: ContextVar[dict[str, Any]] = ContextVar("zlog_context", default=_EMPTY)


class Binding:
    """Context manager returned by :func:`bind`.

    One binding may be entered by several threads or tasks at once, and re-entered: each entry is
    recorded in the current context, and ``__exit__`` undoes this context's latest entry of the binding.
    """

    __slots__ = ("_fields",)

    def __init__(self, fields: dict[str, Any]) -> None:
        self._fields = fields

    def __enter__(self) -> Mapping[str, Any]:
        previous = CONTEXT.get()
        merged = {**previous, **self._fields}
        CONTEXT.set(merged)
        _ENTRIES.set((*_ENTRIES.get(), (self, previous)))
        return MappingProxyType(merged)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        entries = _ENTRIES.get()
        for i in range(len(entries) - 1, -1, -1):
            if entries[i][0] is self:
                CONTEXT.set(entries[i][1])
                _ENTRIES.set(entries[:i] + entries[i + 1 :])
                return
        raise RuntimeError("zlog.bind: this binding was exited more often than it was entered in this context")


#: The bindings entered in the current context, oldest first, with the fields each one replaced.
_ENTRIES: ContextVar[tuple[tuple[Binding, dict[str, Any]], ...]] = ContextVar("zlog_bindings", default=())


def bind(**fields: Any) -> Binding:
    """Add ``fields`` to every event emitted inside the ``with`` block (contextvars based)."""
    return Binding(fields)


def bound() -> Mapping[str, Any]:
    """The fields bound in the current context, read-only."""
    return MappingProxyType(CONTEXT.get())
