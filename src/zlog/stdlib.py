"""Standard library ``logging``, both ways: records into zlog events, and events into logging handlers."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from typing import Any

from zlog import _encode
from zlog.event import Event
from zlog.router import Router
from zlog.signals import Signal
from zlog.sinks.base import SinkBase

__all__ = ["LoggingSink", "ZlogHandler", "capture_logging"]

#: The attributes every LogRecord has; anything else on a record came from ``extra=``.
_RECORD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
_LEVEL_NAMES = {
    logging.DEBUG: "debug",
    logging.INFO: "info",
    logging.WARNING: "warn",
    logging.ERROR: "error",
    logging.CRITICAL: "fatal",
}
_LEVEL_NUMBERS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "error": logging.ERROR,
    "fatal": logging.CRITICAL,
}
#: Set on records made by LoggingSink, so a ZlogHandler on the same logger tree never sends them back.
_ORIGIN = "_zlog_origin"
#: Names a LoggingSink never sets from a field: every LogRecord attribute and method, and its own attributes.
_RECORD_NAMES = _RECORD_ATTRS | frozenset(dir(logging.LogRecord)) | {"signal", "zlog_event", _ORIGIN}
#: How deep records logged while this handler is delivering one (by a sink that logs) may nest on one thread.
_MAX_NESTED = 1


def _text(obj: object, convert: Any = str) -> str:
    """``str(obj)`` (or ``convert(obj)``), else its repr, else ``<unrepresentable TypeName>``; never raises."""
    try:
        text = convert(obj)
        if isinstance(text, str):
            return str.__str__(text)
    except Exception:
        pass
    return _encode.safe_repr(obj)


def _arguments(args: object) -> str:
    """The repr of a record's ``args``, item by item when the whole repr fails."""
    try:
        return repr(args)
    except Exception:
        pass
    if isinstance(args, tuple):
        return "(" + ", ".join(_encode.safe_repr(a) for a in args) + ("," if len(args) == 1 else "") + ")"
    if isinstance(args, Mapping):
        try:
            return "{" + ", ".join(f"{_encode.safe_repr(k)}: {_encode.safe_repr(v)}" for k, v in args.items()) + "}"
        except Exception:
            pass
    return _encode.safe_repr(args)


def _message(record: logging.LogRecord) -> str:
    """``record.getMessage()``; when that raises, the template and the arguments, each rendered as far as it can be."""
    try:
        message = record.getMessage()
        return message if type(message) is str else _text(message)
    except Exception:  # bad % arguments, or an argument (or the template) whose str() raises
        template, args = _text(record.msg), record.args
        if args is None or (type(args) is tuple and not args):
            return template
        return f"{template} (arguments: {_arguments(args)})"


def _exception(exc_info: object) -> BaseException | None:
    """The exception of a record's ``exc_info`` (a ``sys.exc_info()`` triple, or an exception itself)."""
    if isinstance(exc_info, BaseException):
        return exc_info
    if isinstance(exc_info, tuple) and len(exc_info) == 3 and isinstance(exc_info[1], BaseException):
        return exc_info[1]
    return None


def _put(fields: dict[str, Any], name: str, value: Any) -> None:
    """Set ``fields[name]``; when an ``extra=`` field already has that name, as ``zlog_<name>`` instead."""
    while name in fields:
        name = "zlog_" + name
    fields[name] = value


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
        for logger, name in self.signals.items():
            if not isinstance(logger, str) or not name:
                raise ValueError("ZlogHandler signals must map logger names to non-empty signal names")
            Signal(name)  # a clear ValueError now for a name that is not a signal name, not one per record
        self._cache: dict[tuple[str, str], Signal[...]] = {}
        self._nesting = threading.local()
        #: Records not delivered because a sink logged them while this handler was delivering one (a loop).
        self.dropped_nested = 0

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
        """Send the record to the router as an event; never raises into the code that logged it.

        A message that cannot be rendered is written as docs/stdlib.md says; any other failure goes to
        ``handleError``. As in logging's own handlers, RecursionError, KeyboardInterrupt and SystemExit pass.
        """
        if getattr(record, _ORIGIN, False):
            return  # made by a LoggingSink from a zlog event: already in zlog
        depth = getattr(self._nesting, "depth", 0)
        if depth > _MAX_NESTED:
            self.dropped_nested += 1  # a sink that logs for every record it gets: stop the loop here
            return
        self._nesting.depth = depth + 1
        try:
            self._emit(record)
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)
        finally:
            self._nesting.depth = depth

    def _emit(self, record: logging.LogRecord) -> None:
        message = _message(record)
        name = record.name if isinstance(record.name, str) else _text(record.name)
        levelno = record.levelno
        level = _level_of(levelno) if isinstance(levelno, int) else "info"
        fields: dict[str, Any] = {"logger": name}
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRS:
                if not isinstance(key, str):
                    key = _text(key, repr)
                if not key.startswith("_"):
                    fields[key] = value
        if fields["logger"] is not name:  # an extra= field named logger took the name
            _put(fields, "logger", name)
        error = _exception(record.exc_info) if record.exc_info else None
        if error is not None:
            _put(fields, "error", error)
        if record.stack_info:
            _put(fields, "stack", record.stack_info)
        self.router.emit(self._signal(name, level), message, **fields)


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


class LoggingSink(SinkBase):
    """A sink that hands events to a ``logging.Logger`` or ``logging.Handler`` as LogRecords.

    The record's level comes from the event's level (``INFO`` when the signal has none), its message
    is the event's message, ``created`` is the event's time, and each field is a record attribute
    (``extra=`` style; a field named like a LogRecord attribute is set as ``zlog_<name>``). The whole
    event is also at ``record.zlog_event`` and its signal at ``record.signal``. An exception in the
    ``error`` field becomes ``exc_info``. ``close()`` flushes and refuses later events; the logger and
    its handlers are not closed (they belong to ``logging``).
    """

    def __init__(self, target: logging.Logger | logging.Handler, *, name: str = "logging") -> None:
        if not isinstance(target, (logging.Logger, logging.Handler)):
            raise TypeError(f"LoggingSink needs a logging.Logger or logging.Handler, got {target!r}")
        super().__init__(name=name)
        self.target = target

    def handle(self, event: Event) -> None:
        if self._closed:
            self._refuse()
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
            name = key if isinstance(key, str) else _text(key, repr)
            if name in _RECORD_NAMES:
                name = "zlog_" + name
            while name in record.__dict__:  # a field that is itself named zlog_<attribute>
                name = "zlog_" + name
            setattr(record, name, value)
        record.signal = event.signal
        record.zlog_event = event
        setattr(record, _ORIGIN, True)
        target.handle(record)

    def flush(self, timeout: float | None = None) -> bool:
        """Flush the handler, or every handler the logger's records reach (its own, and its parents' while
        they propagate); False if ``timeout`` seconds ran out first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        target = self.target
        handlers: list[logging.Handler] = [target] if isinstance(target, logging.Handler) else []
        logger: logging.Logger | None = target if isinstance(target, logging.Logger) else None
        while logger is not None:
            handlers += logger.handlers
            logger = logger.parent if logger.propagate else None
        for handler in handlers:
            if deadline is not None and time.monotonic() >= deadline:
                return False
            handler.flush()
        return True
