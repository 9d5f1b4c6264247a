"""Standard library ``logging``, both ways: records into zlog events, and events into logging handlers."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any

from zlog.event import Event
from zlog.router import Router
from zlog.signals import Signal

__all__ = ["LoggingSink", "ZlogHandler", "capture_logging"]

#: The attributes every LogRecord has; anything else on a record came from ``extra=``.
_RECORD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
_LEVEL_NAMES = {logging.DEBUG: "debug", logging.INFO: "info", logging.WARNING: "warn", logging.ERROR: "error",
                logging.CRITICAL: "fatal"}
_LEVEL_NUMBERS = {"debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING, "error": logging.ERROR,
                  "fatal": logging.CRITICAL}
#: Set on records made by LoggingSink, so a ZlogHandler on the same logger tree never sends them back.
_ORIGIN = "_zlog_origin"


def _level_of(levelno: int) -> str:
    """The zlog level of a stdlib level number (custom numbers fall to the level below them)."""
    for number in (logging.CRITICAL, logging.ERROR, logging.WARNING, logging.INFO):
        if levelno >= number:
            return _LEVEL_NAMES[number]
    return "debug"


class ZlogHandler(logging.Handler):
    """A ``logging.Handler`` that turns each record into a zlog event.

    The signal is the level's signal (``INFO``, ``WARN``, ``ERROR``, ``FATAL``, ``DEBUG``) unless
    ``signals`` maps the logger's name (or a parent's: ``"sqlalchemy"`` covers ``"sqlalchemy.engine"``)
    to a signal name. The event keeps the record's level, its message (``%`` arguments applied), the
    field ``logger``, every ``extra=`` field, ``exc_info`` as the ``error`` field and ``stack_info`` as
    ``stack``.
    """

    def __init__(
        self,
        level: int | str = logging.NOTSET,
        *,
        router: Router | None = None,
        signals: Mapping[str, str | Signal[...]] | None = None,
    ) -> None:
        super().__init__(level)
        if router is None:
            from zlog._api import default_router

            router = default_router
        self.router = router
        self.signals = {name: s.name if isinstance(s, Signal) else str(s) for name, s in (signals or {}).items()}
        for name in self.signals.values():
            if not name:
                raise ValueError("ZlogHandler signals must map logger names to non-empty signal names")
        self._cache: dict[tuple[str, str], Signal[...]] = {}

    def _signal(self, logger: str, level: str) -> Signal[...]:
        key = (logger, level)
        found = self._cache.get(key)
        if found is None:
            name = level.upper()
            probe = logger
            while probe:
                if probe in self.signals:
                    name = self.signals[probe]
                    break
                probe = probe.rpartition(".")[0]
            found = Signal(name, level=level)
            if len(self._cache) < 4096:
                self._cache[key] = found
        return found

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(record, _ORIGIN, False):
            return  # made by a LoggingSink from a zlog event: already in zlog
        try:
            message = record.getMessage()
        except Exception:  # bad % arguments: keep the template and the arguments, never lose the record
            message = f"{record.msg!s} (arguments: {record.args!r})"
        fields: dict[str, Any] = {"logger": record.name}
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRS and not key.startswith("_"):
                fields[key] = value
        if record.exc_info and record.exc_info[1] is not None:
            fields.setdefault("error", record.exc_info[1])
        if record.stack_info:
            fields.setdefault("stack", record.stack_info)
        self.router.emit(self._signal(record.name, _level_of(record.levelno)), message, **fields)


_captured: list[ZlogHandler] = []
_capture_lock = threading.Lock()


def capture_logging(
    level: int | str = logging.INFO,
    *,
    router: Router | None = None,
    signals: Mapping[str, str | Signal[...]] | None = None,
) -> ZlogHandler:
    """Send the root logger's records (every library's logs) to zlog; returns the handler.

    Sets the root logger's level to ``level``. Calling it again replaces the earlier handler, so
    records are never doubled; other handlers on the root logger are left alone.
    """
    handler = ZlogHandler(router=router, signals=signals)
    root = logging.getLogger()
    with _capture_lock:
        for old in _captured:
            root.removeHandler(old)
        _captured[:] = [handler]
        root.addHandler(handler)
        root.setLevel(level)
    return handler


class LoggingSink:
    """A sink that hands events to a ``logging.Logger`` or ``logging.Handler`` as LogRecords.

    The record's level comes from the event's level (``INFO`` when the signal has none), its message
    is the event's message, ``created`` is the event's time, and each field is a record attribute
    (``extra=`` style; a field named like a LogRecord attribute is set as ``zlog_<name>``). The whole
    event is also at ``record.zlog_event`` and its signal at ``record.signal``. An exception in the
    ``error`` field becomes ``exc_info``.
    """

    def __init__(self, target: logging.Logger | logging.Handler, *, name: str = "logging") -> None:
        if not isinstance(target, (logging.Logger, logging.Handler)):
            raise TypeError(f"LoggingSink needs a logging.Logger or logging.Handler, got {target!r}")
        self.target = target
        self.name = name

    def handle(self, event: Event) -> None:
        levelno = _LEVEL_NUMBERS.get(event.level or "info", logging.INFO)
        target = self.target
        if isinstance(target, logging.Logger):
            if not target.isEnabledFor(levelno):
                return
            logger_name = target.name
        else:
            if levelno < target.level:
                return
            logger_name = "zlog"
        error = event.fields.get("error")
        exc_info = (type(error), error, error.__traceback__) if isinstance(error, BaseException) else None
        record = logging.LogRecord(logger_name, levelno, "", 0, event.message, None, exc_info)
        record.created = event.time_ns / 1e9
        record.msecs = (event.time_ns // 1_000_000) % 1000
        for key, value in event.fields.items():
            setattr(record, f"zlog_{key}" if key in _RECORD_ATTRS or key == "signal" else key, value)
        record.signal = event.signal
        record.zlog_event = event
        setattr(record, _ORIGIN, True)
        target.handle(record)

    def flush(self) -> None:
        handlers = self.target.handlers if isinstance(self.target, logging.Logger) else [self.target]
        for handler in handlers:
            handler.flush()
