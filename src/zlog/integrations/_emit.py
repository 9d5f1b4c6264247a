"""How the integrations emit: a ``zlog.jobs`` signal with fields gathered at run time."""

from __future__ import annotations

from typing import Any

import zlog

__all__ = ["emit"]


def emit(signal: zlog.Signal[...], message: str, **fields: Any) -> None:
    """``zlog.emit`` without the fields the job system did not know (None): a type checker cannot see the
    gathered fields one by one, and a line never holds a field that says nothing."""
    zlog.emit(signal, message, **{k: v for k, v in fields.items() if v is not None})
