"""Bound context: fields added to every event emitted inside a ``with zlog.bind(...)`` block."""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar, Token
from types import MappingProxyType, TracebackType
from typing import Any

__all__ = ["Binding", "bind", "bound"]

_EMPTY: dict[str, Any] = {}
#: The current bound fields. Never mutated in place: ``bind`` sets a new dict.
CONTEXT: ContextVar[dict[str, Any]] = ContextVar("zlog_context", default=_EMPTY)


class Binding:
    """Context manager returned by :func:`bind`. Each `with` block sets and restores its own context."""

    __slots__ = ("_fields", "_tokens")

    def __init__(self, fields: dict[str, Any]) -> None:
        self._fields = fields
        self._tokens: list[Token[dict[str, Any]]] = []

    def __enter__(self) -> Mapping[str, Any]:
        merged = {**CONTEXT.get(), **self._fields}
        self._tokens.append(CONTEXT.set(merged))
        return MappingProxyType(merged)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        CONTEXT.reset(self._tokens.pop())


def bind(**fields: Any) -> Binding:
    """Add ``fields`` to every event emitted inside the ``with`` block (contextvars based)."""
    return Binding(fields)


def bound() -> Mapping[str, Any]:
    """The fields bound in the current context, read-only."""
    return MappingProxyType(CONTEXT.get())
