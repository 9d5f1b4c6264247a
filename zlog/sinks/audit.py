"""``AuditSink``: an append-only, hash-chained JSON-lines audit log (see docs/sinks/audit.md)."""

from __future__ import annotations

import os
import threading
import time
from typing import Any

import orjson

from zlog import _auditfmt, _encode, _exit, _fork
from zlog.event import Event

__all__ = ["AuditSink"]

_POLICIES = ("always", "batch", "none")
_BUFFER_BYTES = 65536
_dumps = orjson.dumps
_default = _encode.default
_OPTIONS = _encode.OPTIONS


class AuditSink:
    """Appends each event as a sealed, chained record; reopening a file continues its chain.

    ``fsync``: ``"always"`` (fsync after every record), ``"batch"`` (at most every ``batch_ms``
    milliseconds, and on ``flush()``/``close()``), each record one ``write()`` on an ``O_APPEND``
    descriptor so a process crash loses nothing; or ``"none"`` (records buffered in the process up to
    64 KiB and written on ``flush()``, ``close()`` or exit, no fsync: fastest, a crash loses the buffer).
    ``max_bytes`` rotates to ``PATH.00001``, ``PATH.00002``, ...; ``key`` makes the chain an HMAC chain.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        fsync: str = "batch",
        batch_ms: float = 50.0,
        max_bytes: int | None = None,
        key: bytes | str | None = None,
        name: str = "audit",
    ) -> None:
        if fsync not in _POLICIES:
            raise ValueError(f"fsync must be one of {', '.join(_POLICIES)}, got {fsync!r}")
        if max_bytes is not None and (not isinstance(max_bytes, int) or max_bytes < 1024):
            raise ValueError(f"max_bytes must be an int of at least 1024, got {max_bytes!r}")
        self.path = os.fspath(path)
        self.fsync = fsync
        self.batch_seconds = batch_ms / 1000.0
        self.max_bytes = max_bytes
        self.name = name
        self._digest = _auditfmt.digest_function(key)
        self._seal = _auditfmt.sealer(key)
        self._rotate_at = max_bytes or 0  # 0: never rotate
        self._always = fsync == "always"
        self._lock = threading.Lock()
        self._foreign = False  # set in a forked child: the chain belongs to the parent
        self._usable = True  # False once closed or in a forked child: handle() raises
        _fork.after_fork_in_child(self, AuditSink._after_fork)
        self._clock = _encode.Clock()
        self._last_sync = time.monotonic()
        self._dirty = False
        self._fd = -1
        self._seq = 0
        self._prev = _auditfmt.GENESIS
        self._size = 0
        self.torn_bytes = 0
        self._buffering = fsync == "none"
        self._pending: list[bytes] = []  # fsync="none": sealed lines not yet written
        self._written = 0  # fsync="none": bytes already in the file (_size also counts the pending lines)
        self._open()
        if fsync == "none":
            _exit.flush_at_exit(self)

    # -- opening and recovery ------------------------------------------------------------------
    def _open(self) -> None:
        created = not os.path.exists(self.path)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        if created:
            _fsync_dir(self.path)
            last = self._last_segment_line()
        else:
            last = self._recover()
        if last is not None:
            obj = orjson.loads(last)
            self._seq = int(obj["seq"]) + 1
            self._prev = self._digest(last)
        self._size = self._written = os.fstat(self._fd).st_size
        if self.torn_bytes:
            self._append((_auditfmt.RECOVERED_SIGNAL, "audit log reopened after a torn write", time.time_ns(),
                          {"torn_bytes": self.torn_bytes, "torn_file": self.path + ".torn"}, None))

    def _recover(self) -> bytes | None:
        """Move a torn last line to PATH.torn; return the last complete line (or the previous segment's)."""
        with open(self.path, "rb") as fh:
            data = fh.read()
        end = data.rfind(b"\n") + 1
        if end < len(data):
            with open(self.path + ".torn", "ab") as torn:
                torn.write(data[end:] + b"\n")
            os.truncate(self.path, end)
            self.torn_bytes = len(data) - end
            data = data[:end]
        lines = data.splitlines()
        return lines[-1] if lines else self._last_segment_line()

    def _last_segment_line(self) -> bytes | None:
        numbers = _segment_numbers(self.path)
        if not numbers:
            return None
        with open(_auditfmt.segment_name(self.path, numbers[-1]), "rb") as fh:
            lines = fh.read().splitlines()
        return lines[-1] if lines else None

    def _after_fork(self) -> None:
        self._lock = threading.Lock()
        self._pending.clear()  # the parent writes what it had buffered
        self._foreign = True
        self._usable = False

    # -- writing -------------------------------------------------------------------------------
    def handle(self, event: Event) -> None:
        if not self._usable:
            self._refuse()
        lock = self._lock
        lock.acquire()  # not ``with``: acquire/release is half the cost on this hot path
        try:
            self._append(event)
        finally:
            lock.release()

    def _refuse(self) -> None:
        if self._foreign:
            raise RuntimeError(f"{self.path}: this AuditSink belongs to the parent process; open one per process")
        raise ValueError(f"{self.path}: this AuditSink is closed")

    def _append(self, event: tuple[str, str, int, Any, str | None]) -> None:
        """Seal and write one record, under the lock."""
        signal, message, ns, fields, level = event
        stamp = self._clock.stamp(ns)
        if level is None:
            record = {"seq": self._seq, "time": stamp, "signal": signal, "message": message,
                      "fields": fields, "prev": self._prev}
        else:
            record = {"seq": self._seq, "time": stamp, "level": level, "signal": signal,
                      "message": message, "fields": fields, "prev": self._prev}
        try:
            body = _dumps(record, default=_default, option=_OPTIONS)
        except Exception:
            body = _encode.dumps(record)
        line, digest = self._seal(body)  # the line ends with a newline
        size = self._size + len(line)
        if self._rotate_at and self._size and size > self._rotate_at:
            self._rotate(ns)
            return self._append(event)
        if self._buffering:  # fsync="none": written at 64 KiB, flush(), close() or exit
            self._pending.append(line)
        else:
            try:
                _write_all(self._fd, line)
            except BaseException:
                self._cut_back(self._size)
                raise
        self._size = size  # the record is in the chain from here on, even if a write or fsync below fails
        self._seq += 1
        self._prev = digest
        if self._buffering:
            if size - self._written >= _BUFFER_BYTES:
                self._write_pending()
        else:
            self._dirty = True
            if self._always or time.monotonic() - self._last_sync >= self.batch_seconds:
                self._sync()
        return None

    def _cut_back(self, size: int) -> None:
        """After a failed write, cut the file back to ``size``: whatever part of the data reached it
        would otherwise be a torn line in the middle of the log. Best effort."""
        try:
            if os.fstat(self._fd).st_size > size:
                os.ftruncate(self._fd, size)
        except OSError:
            pass

    def _write_pending(self) -> None:
        if self._pending:
            try:
                _write_all(self._fd, b"".join(self._pending))
            except BaseException:  # the lines stay buffered, to be written whole by the next write
                self._cut_back(self._written)
                raise
            self._pending.clear()
            self._written = self._size

    def _sync(self) -> None:
        self._write_pending()
        if self.fsync == "none":
            return
        if self._dirty:
            os.fsync(self._fd)
            self._dirty = False
        self._last_sync = time.monotonic()

    def _rotate(self, ns: int) -> None:
        self._sync()
        os.close(self._fd)
        numbers = _segment_numbers(self.path)
        target = _auditfmt.segment_name(self.path, (numbers[-1] + 1) if numbers else 1)
        os.rename(self.path, target)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL, 0o640)
        _fsync_dir(self.path)
        self._size = self._written = 0
        self._append((_auditfmt.SEGMENT_SIGNAL, "audit segment start", ns,
                      {"previous_segment": os.path.basename(target), "previous_seq": self._seq - 1}, None))

    # -- lifecycle -----------------------------------------------------------------------------
    def flush(self) -> None:
        """Make every written record durable (fsync), whatever the policy."""
        with self._lock:
            if self._fd >= 0:
                self._sync()

    def close(self) -> None:
        """fsync and close the file; later events raise (and are counted by the router)."""
        with self._lock:
            if self._fd >= 0:
                self._sync()
                os.close(self._fd)
                self._fd = -1
                self._usable = False
        _exit.forget(self)

    def __repr__(self) -> str:
        return f"<AuditSink {self.path!r} seq={self._seq} fsync={self.fsync!r}>"


def _segment_numbers(path: str) -> list[int]:
    folder = os.path.dirname(os.path.abspath(path))
    base = os.path.basename(path)
    numbers = []
    for entry in os.listdir(folder):
        if entry.startswith(base + "."):
            n = _auditfmt.segment_number(entry)
            if n is not None and entry == _auditfmt.segment_name(base, n):
                numbers.append(n)
    return sorted(numbers)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _fsync_dir(path: str) -> None:
    fd = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
