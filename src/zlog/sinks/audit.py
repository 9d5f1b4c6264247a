"""``AuditSink``: an append-only, hash-chained JSON-lines audit log (see docs/sinks/audit.md)."""

from __future__ import annotations

import math
import os
import time
from typing import Any, NoReturn

import orjson

from zlog import _auditfmt, _encode, _exit
from zlog.event import Event
from zlog.sinks.base import SinkBase, SinkClosedError

__all__ = ["AuditSink"]

_POLICIES = ("always", "batch", "none")
_BUFFER_BYTES = 65536
_TAIL_BLOCK = 65536  # reopening reads the end of a file backwards in blocks this size
_dumps = orjson.dumps
_default = _encode.default
_OPTIONS = _encode.OPTIONS


class AuditSink(SinkBase):
    """Appends each event as a sealed, chained record; reopening a file continues its chain.

    ``fsync``: ``"always"`` (fsync after every record), ``"batch"`` (at most every ``batch_interval``
    seconds, and on ``flush()``/``close()``), each record one ``write()`` on an ``O_APPEND``
    descriptor so a process crash loses nothing; or ``"none"`` (records buffered in the process up to
    64 KiB and written on ``flush()``, ``close()`` or exit, no fsync: fastest, a crash loses the buffer).
    ``max_bytes`` rotates to ``PATH.00001``, ``PATH.00002``, ...; ``key`` makes the chain an HMAC chain.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        fsync: str = "batch",
        batch_interval: float = 0.05,
        max_bytes: int | None = None,
        key: bytes | str | None = None,
        name: str = "audit",
    ) -> None:
        if fsync not in _POLICIES:
            raise ValueError(f"fsync must be one of {', '.join(_POLICIES)}, got {fsync!r}")
        if max_bytes is not None and (not isinstance(max_bytes, int) or max_bytes < 1024):
            raise ValueError(f"max_bytes must be an int of at least 1024, got {max_bytes!r}")
        if (
            isinstance(batch_interval, bool)
            or not isinstance(batch_interval, (int, float))
            or not (0 <= batch_interval < math.inf)
        ):
            raise ValueError(f"batch_interval must be a finite number of seconds >= 0, got {batch_interval!r}")
        super().__init__(name=name)
        self.path = os.fspath(path)
        self.fsync = fsync
        self.batch_interval = float(batch_interval)
        self.max_bytes = max_bytes
        self._digest = _auditfmt.digest_function(key)
        self._seal = _auditfmt.sealer(key)
        self._rotate_at = max_bytes or 0  # 0: never rotate
        self._always = fsync == "always"
        self._foreign = False  # set in a forked child: the chain belongs to the parent
        self._usable = True  # False once closed or in a forked child: handle() raises
        self._clock = _encode.Clock()
        self._last_sync = time.monotonic()
        self._dirty = False
        self._fd = -1
        self._seq = 0
        self._prev = _auditfmt.GENESIS
        self._size = 0
        self.torn_bytes = 0
        self._torn_from = ""  # the file a torn tail was cut from on opening
        self._buffering = fsync == "none"
        self._pending: list[bytes] = []  # fsync="none": sealed lines not yet written
        self._written = 0  # fsync="none": bytes already in the file (_size also counts the pending lines)
        self._open()
        if fsync == "none":
            _exit.flush_at_exit(self)

    # -- opening and recovery ------------------------------------------------------------------
    def _open(self) -> None:
        """Open (or create) the live file and continue the chain from its last record, or, when it is empty
        or missing (a crash during rotation), from the newest segment's; such a live file first gets the
        segment header. A torn last line at the end of the chain is set aside (see ``_set_aside``)."""
        segments = [_auditfmt.segment_name(self.path, n) for n in _auditfmt.segment_numbers(self.path)]
        created = not os.path.exists(self.path)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            if created:
                _fsync_dir(self.path)
            last: bytes | None = None
            at_end = True  # no bytes seen yet: this file ends the chain
            for name in (self.path, *reversed(segments)):
                size, end, last = _tail(name)
                if at_end and end < size:
                    self._set_aside(name, end)
                at_end = at_end and not size
                if last is not None:
                    break
            if last is not None:
                self._seq = _last_seq(self.path, last) + 1
                self._prev = self._digest(last)
            self._size = self._written = os.fstat(self._fd).st_size
            if segments and not self._size:
                self._start_segment(time.time_ns(), segments[-1])
            if self.torn_bytes:
                self._append(
                    (
                        _auditfmt.RECOVERED_SIGNAL,
                        "audit log reopened after a torn write",
                        time.time_ns(),
                        {"torn_bytes": self.torn_bytes, "torn_file": self.path + ".torn", "torn_from": self._torn_from},
                        None,
                    )
                )
        except BaseException:
            os.close(self._fd)
            self._fd = -1
            raise

    def _set_aside(self, name: str, end: int) -> None:
        """Move the torn last line of ``name`` (from ``end``) to PATH.torn, durably, then cut it off."""
        with open(name, "rb") as fh:
            fh.seek(end)
            torn = fh.read()
        with open(self.path + ".torn", "ab") as out:
            out.write(torn + b"\n")
            out.flush()
            os.fsync(out.fileno())
        os.truncate(name, end)
        self.torn_bytes = len(torn)
        self._torn_from = os.path.basename(name)

    def _after_fork(self) -> None:
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

    def _refuse(self) -> NoReturn:
        if self._foreign:
            self.refused += 1
            raise SinkClosedError(f"{self.path}: this AuditSink belongs to the parent process; open one per process")
        super()._refuse()

    def _append(self, event: tuple[str, str, int, Any, str | None]) -> None:
        """Seal and write one record, under the lock."""
        signal, message, ns, fields, level = event
        stamp = self._clock.stamp(ns)
        if level is None:
            record = {
                "seq": self._seq,
                "time": stamp,
                "signal": signal,
                "message": message,
                "fields": fields,
                "prev": self._prev,
            }
        else:
            record = {
                "seq": self._seq,
                "time": stamp,
                "level": level,
                "signal": signal,
                "message": message,
                "fields": fields,
                "prev": self._prev,
            }
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
            if self._always or time.monotonic() - self._last_sync >= self.batch_interval:
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
        numbers = _auditfmt.segment_numbers(self.path)
        target = _auditfmt.segment_name(self.path, (numbers[-1] + 1) if numbers else 1)
        fd, self._fd = self._fd, -1
        try:
            os.close(fd)
            os.rename(self.path, target)  # a crash from here to the create leaves only segments: see _open
            try:
                self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL, 0o640)
            except BaseException:
                os.rename(target, self.path)
                raise
        finally:
            if self._fd < 0:  # the rotation failed: the chain goes on in the file it was in
                self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        _fsync_dir(self.path)
        self._size = self._written = 0
        self._start_segment(ns, target)

    def _start_segment(self, ns: int, previous: str) -> None:
        """Begin the empty live file with the header linking it to the segment ``previous``."""
        self._append(
            (
                _auditfmt.SEGMENT_SIGNAL,
                "audit segment start",
                ns,
                {"previous_segment": os.path.basename(previous), "previous_seq": self._seq - 1},
                None,
            )
        )

    # -- lifecycle -----------------------------------------------------------------------------
    def flush(self, timeout: float | None = None) -> bool:
        """Make every written record durable (fsync), whatever the policy."""
        with self._lock:
            if self._fd >= 0 and not self._foreign:
                self._sync()
        return True

    def _release(self, timeout: float | None) -> bool:
        """fsync and close the file; later events are refused (and counted by the router)."""
        with self._lock:
            self._usable = False
            if self._fd >= 0:
                try:
                    if not self._foreign:
                        self._sync()
                finally:
                    os.close(self._fd)
                    self._fd = -1
        _exit.forget(self)
        return True

    def stats(self) -> dict[str, Any]:
        return {**super().stats(), "seq": self._seq, "torn_bytes": self.torn_bytes}

    def __repr__(self) -> str:
        return f"<AuditSink {self.path!r} seq={self._seq} fsync={self.fsync!r}>"


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


def _tail(name: str) -> tuple[int, int, bytes | None]:
    """``(size, end, last)`` of a file, read from its end: ``end`` is the offset after its last newline
    (``size`` when it ends with one), ``last`` its last complete line without the newline (None if none)."""
    with open(name, "rb") as fh:
        size = pos = fh.seek(0, os.SEEK_END)
        blocks: list[bytes] = []
        newlines = 0
        while pos and newlines < 2:
            step = min(pos, _TAIL_BLOCK)
            pos -= step
            fh.seek(pos)
            blocks.append(fh.read(step))
            newlines += blocks[-1].count(b"\n")
    data = b"".join(reversed(blocks))
    last_newline = data.rfind(b"\n")
    if last_newline < 0:
        return size, 0, None
    start = data.rfind(b"\n", 0, last_newline) + 1  # 0: the line starts the file (pos is 0 then)
    return size, pos + last_newline + 1, data[start:last_newline]


def _last_seq(path: str, line: bytes) -> int:
    try:
        seq = orjson.loads(line)["seq"]
    except (orjson.JSONDecodeError, TypeError, KeyError):
        seq = None
    if isinstance(seq, bool) or not isinstance(seq, int):
        raise ValueError(
            f"{path}: the last line is not an audit record, so the chain cannot be continued; "
            "check the log with `zlog audit verify`"
        )
    return seq
