"""``RotatingFileSink``: JSON lines in a file rotated by size, each file begun with a unique header line.

See docs/sinks/rotating.md. The lines are rendered by a :class:`~zlog.sinks.json.JSONSink` that writes to
a stream object of this module; that stream's ``write`` is the sink's own writer, which decides about
rotation before each line and writes it to whichever file is current.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import time
import uuid
from collections.abc import Callable
from stat import S_ISREG
from typing import IO, Any, NoReturn, cast

from zlog import _exit
from zlog.event import Event
from zlog.signals import signal
from zlog.sinks.base import SinkBase, SinkClosedError
from zlog.sinks.json import JSONSink

__all__ = ["ZLOG_FILE_OPENED", "RotatingFileSink", "RotationError"]

_BUFFER_BYTES = 65536  # buffered=True: lines are written in chunks of about this size
_MAX_PENDING = 16 * _BUFFER_BYTES  # buffered lines kept through failed writes before they are dropped
_MIN_MAX_BYTES = 1024
_FLAGS = os.O_WRONLY | os.O_APPEND | os.O_CREAT
_PID = "{pid}"


@signal(level="info")
def ZLOG_FILE_OPENED(*, file: str, file_id: str, file_seq: int, pid: int, previous_file: str | None) -> None:
    """The first line of every file a RotatingFileSink starts: unique, so that shippers tell files apart."""


class RotationError(OSError):
    """The file could not be rotated; its lines go on into the current file, past ``max_bytes``."""


class _Lines:
    """The binary stream the sink's JSONSink writes to: ``write`` is called with each whole line."""

    __slots__ = ("write",)

    def __init__(self, write: Callable[[bytes], None]) -> None:
        self.write = write


# A buffered binary stream for JSONSink (as it is, since ``write`` takes whole lines and needs no flush), so
# that the JSONSink hands each line straight to ``write``: no lock or flush call of its own per line.
io.BufferedIOBase.register(_Lines)


class RotatingFileSink(SinkBase):
    """Writes ``JSONSink`` lines to ``path``, rotating by size to ``path.1``, ``path.2``, ... (docs/sinks/rotating.md).

    ``max_bytes``: a line that would take the file past this size goes to a new file (a line too long for
    any file goes whole into a fresh one). ``backups``: rotated files kept; the oldest is deleted. Every new
    file begins with a ``ZLOG_FILE_OPENED`` header line, unique per file; an existing non-empty file is
    appended to. ``buffered=False`` writes each line with one ``write()``; ``buffered=True`` writes whole
    lines in 64 KiB chunks, at ``flush()``, ``close()``, rotation and exit. ``max_line_bytes`` and
    ``profile`` are JSONSink's. ``retry_interval``: seconds before a failed rotation is tried again. A
    ``{pid}`` in ``path`` is replaced by the process id; a forked child then writes a file of its own,
    and without it the child's copy refuses events. One process per file.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        max_bytes: int = 10 * 1024 * 1024,
        backups: int = 5,
        buffered: bool = False,
        max_line_bytes: int = 16384,
        profile: str | None = None,
        retry_interval: float = 1.0,
        name: str = "file",
    ) -> None:
        try:
            template = os.fspath(path)
        except TypeError:
            raise TypeError(f"path must be a str or os.PathLike, got {path!r}") from None
        if not isinstance(template, str) or not template:
            raise TypeError(f"path must be a non-empty str or os.PathLike of str, got {path!r}")
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < _MIN_MAX_BYTES:
            raise ValueError(f"max_bytes must be an int of at least {_MIN_MAX_BYTES}, got {max_bytes!r}")
        if isinstance(backups, bool) or not isinstance(backups, int) or backups < 0:
            raise ValueError(f"backups must be an int >= 0, got {backups!r}")
        if (
            isinstance(retry_interval, bool)
            or not isinstance(retry_interval, (int, float))
            or not (0 <= retry_interval < math.inf)
        ):
            raise ValueError(f"retry_interval must be a finite number of seconds >= 0, got {retry_interval!r}")
        super().__init__(name=name)
        self.template = os.path.abspath(template)
        self.per_process = _PID in self.template
        self.path = self._resolve()
        self.max_bytes = max_bytes
        self.backups = backups
        self.buffered = bool(buffered)
        self.max_line_bytes = max_line_bytes
        self.profile = profile
        self.retry_interval = float(retry_interval)
        write = self._write_buffered if self.buffered else self._write_direct
        # the renderers: validate max_line_bytes and profile, and hold nothing (so nothing for exit to flush)
        stream = cast("IO[bytes]", _Lines(write))  # a binary stream as far as JSONSink is concerned
        self._json = JSONSink(stream, buffered=True, max_line_bytes=max_line_bytes, name=name, profile=profile)
        self._header_out = io.BytesIO()
        self._header_json = JSONSink(
            self._header_out, buffered=True, max_line_bytes=max_line_bytes, name=name, profile=profile
        )
        _exit.forget(self._json)
        _exit.forget(self._header_json)
        #: ``handle(event)``: the JSONSink's own ``handle`` (``JSONSink._make_handle``), which renders the line
        #: and hands it to this sink's writer (``_write_direct`` or ``_write_buffered``) through ``_Lines``.
        self.handle = self._json.handle
        self._usable = True  # False once closed, or in a forked child of a path without {pid}
        self._foreign = False  # a forked child's copy of a sink whose file belongs to the parent
        self._reset_file_state()
        self._open()
        if self.buffered:
            _exit.flush_at_exit(self)

    def _resolve(self) -> str:
        return self.template.replace(_PID, str(os.getpid())) if self.per_process else self.template

    def _reset_file_state(self) -> None:
        self._fd = -1
        self._size = 0  # the current file's size, with the buffered lines not written yet
        self._on_disk = 0  # buffered=True: the bytes of the current file already written
        self._limit = -1  # max_bytes while the file is open and has its header; -1 sends a line to _prepare
        self._has_lines = False  # the file holds more than its header: a line that does not fit rotates it
        # buffered=True: the lines not written yet. A bytearray, not a list of the lines: a few hundred line
        # objects kept alive and then freed at once cost malloc far more than copying them into one buffer
        self._pending = bytearray()
        self._pending_lines = 0  # the event lines (not headers) in _pending
        self._rotate_at = 0.0  # time.monotonic() before which a failed rotation is not tried again
        self._write_at = 0.0  # buffered=True: the same for a failed chunk write
        self._write_error = ""  # buffered=True: why the last chunk write failed
        self._file_seq = 0
        self._new_file = False  # the current file is new and empty: its header gets the next file_seq
        self._previous: str | None = None
        self.bytes_written = 0
        self.lines_written = 0
        self.rotations = 0
        self.rotation_failures = 0
        self.dropped_lines = 0

    # -- opening -------------------------------------------------------------------------------
    def _open(self) -> None:
        """Open (or create) the file at ``self.path`` and append to it; an empty file gets its header."""
        with contextlib.suppress(FileNotFoundError):
            _check_regular(self.path, os.stat(self.path).st_mode)  # before open: a FIFO would block it
        fd = os.open(self.path, _FLAGS, 0o666)
        try:
            stat = os.fstat(fd)
            _check_regular(self.path, stat.st_mode)
            size = stat.st_size
            if size and not _ends_with_newline(self.path):  # a torn line, from a crash: end it, keep ours whole
                _write_all(fd, b"\n")
                size += 1
            self._fd = fd
            self._set_file(size)
            if not size:
                self._write_header()
        except BaseException:
            self._fd = -1
            os.close(fd)
            raise

    def _write_header(self) -> None:
        """Begin the empty current file with its ``ZLOG_FILE_OPENED`` line."""
        if self._new_file:  # a header tried again (after a failed write) keeps the file's number
            self._file_seq += 1
            self._new_file = False
        fields = {
            "file": os.path.basename(self.path),
            "file_id": uuid.uuid4().hex,
            "file_seq": self._file_seq,
            "pid": os.getpid(),
            "previous_file": self._previous,
        }
        out = self._header_out
        out.seek(0)
        out.truncate()
        self._header_json.handle(Event(ZLOG_FILE_OPENED, "log file opened", fields))
        line = out.getvalue()
        if self.buffered:
            self._pending += line
        else:
            self._write_out(line)
            self.bytes_written += len(line)
        self._size += len(line)
        self._limit = self.max_bytes

    def _prepare(self, n: int) -> RotationError | None:
        """Before a line of ``n`` bytes that does not fit under the limit: rotate when due, open the file if
        it is not open, write the header into an empty file. Returns a rotation failure to raise later."""
        failure = None
        if (
            self._fd >= 0
            and self._has_lines
            and self._size + n > self.max_bytes
            and (not self._rotate_at or time.monotonic() >= self._rotate_at)
        ):
            failure = self._rotate()
        if self._fd < 0:
            self._open()  # an OSError here: the line cannot be written anywhere, and the caller reports it
        if not self._size:
            self._write_header()
        return failure

    # -- writing -------------------------------------------------------------------------------
    def _write_direct(self, line: bytes) -> None:
        """buffered=False: the line, with one ``write()``."""
        lock = self._lock
        lock.acquire()  # not ``with``: acquire/release is cheaper on this hot path
        try:
            if not self._usable:
                self._refuse()
            n = len(line)
            failure = self._prepare(n) if self._size + n > self._limit else None
            self._write_out(line)
            self._size += n
            self._has_lines = True
            self.bytes_written += n
            self.lines_written += 1
            if failure is not None:
                raise failure
        finally:
            lock.release()

    def _write_buffered(self, line: bytes) -> None:
        """buffered=True: the line joins the buffer, which is written whole once it holds 64 KiB."""
        lock = self._lock
        lock.acquire()
        try:
            if not self._usable:
                self._refuse()
            n = len(line)
            failure = self._prepare(n) if self._size + n > self._limit else None
            self._pending += line
            self._pending_lines += 1
            self._size += n
            self._has_lines = True
            if self._size - self._on_disk >= _BUFFER_BYTES:
                if not self._write_at or time.monotonic() >= self._write_at:
                    self._write_pending()
                elif self._size - self._on_disk > _MAX_PENDING:  # still failing: the buffer stays bounded
                    self._drop_pending(f"could not write to {self.path}: {self._write_error}")
            if failure is not None:
                raise failure
        finally:
            lock.release()

    def _write_out(self, data: bytes) -> None:
        """One ``write()`` of ``data`` (more only if the OS took part of it); on failure the file is cut back
        to its size before, so that no partial line stays in it."""
        fd = self._fd
        try:
            written = os.write(fd, data)
            if written != len(data):
                _write_all(fd, data[written:])
        except OSError as exc:
            _cut_back(fd, self._size)
            raise OSError(exc.errno, f"could not write to {self.path}: {exc.strerror or exc}") from exc
        except BaseException:
            _cut_back(fd, self._size)
            raise

    def _write_pending(self) -> None:
        """buffered=True: write the buffer as one chunk of whole lines. If that fails the lines stay buffered
        for the next try (after ``retry_interval``), unless the buffer is past 1 MiB: then they are dropped
        and reported. Raises the failure either way."""
        if not self._pending:
            return
        data = self._pending
        try:
            _write_all(self._fd, data)
        except OSError as exc:
            _cut_back(self._fd, self._on_disk)
            self._write_at = time.monotonic() + self.retry_interval
            self._write_error = f"{type(exc).__name__}: {exc}"
            lines = self._pending_lines
            if self._size - self._on_disk > _MAX_PENDING:
                self._drop_pending(f"could not write to {self.path}: {exc}")
                fate = "dropped them (reported as dropped)"
            else:
                fate = f"kept them for the next try in {self.retry_interval:g} s"
            raise OSError(
                exc.errno, f"could not write {lines} buffered lines to {self.path}: {exc.strerror or exc}; {fate}"
            ) from exc
        self.bytes_written += len(data)
        self._pending.clear()
        self.lines_written += self._pending_lines
        self._pending_lines = 0
        self._on_disk = self._size
        self._write_at = 0.0

    def _drop_pending(self, reason: str) -> None:
        """Give up the buffered lines, counted and reported as dropped (never silently)."""
        lines = self._pending_lines
        self._pending.clear()
        self._pending_lines = 0
        self.dropped_lines += lines
        self._size = self._on_disk
        self._has_lines = self._has_lines and self._size > 0
        if not self._size:
            self._limit = -1  # the dropped chunk held the header: the next line writes a new one
        self._reporter.dropped(lines, reason, sink=self.name, policy="write-failed")

    # -- rotation ------------------------------------------------------------------------------
    def _rotate(self) -> RotationError | None:
        """Move ``path`` to ``path.1`` (and ``path.N`` to ``path.N+1``, dropping the oldest) and open a new
        file at ``path``. On failure the current file stays open and is returned to, and the error is
        returned; another try comes after ``retry_interval`` seconds."""
        path = self.path
        try:
            self._write_pending()  # the buffered lines belong to the file they were written for
        except OSError as exc:
            return self._rotation_failed(exc)
        target = f"{path}.1" if self.backups else None
        fd, self._fd = self._fd, -1
        with contextlib.suppress(OSError):  # the descriptor is released even when close reports an error
            os.close(fd)
        moved = False
        try:
            if target is None:
                os.unlink(path)
            else:
                top = 1  # the first number free, or ``backups``: the oldest file, replaced (so deleted) below
                while top < self.backups and os.path.lexists(f"{path}.{top}"):
                    top += 1
                for number in range(top - 1, 0, -1):  # oldest first, each into a free name: a crash loses no file
                    os.replace(f"{path}.{number}", f"{path}.{number + 1}")
                os.replace(path, target)
            moved = True
            self._fd = os.open(path, _FLAGS, 0o666)
        except OSError as exc:
            if moved and target is not None:
                with contextlib.suppress(OSError):
                    os.replace(target, path)  # back in place: the lines go on in the file they were in
            failure = self._rotation_failed(exc)
            try:
                self._fd = os.open(path, _FLAGS, 0o666)
            except OSError:
                self._fd = -1  # the next line tries to open the path again
                self._size = self._on_disk = 0
                return failure
            self._set_file(os.fstat(self._fd).st_size)
            return failure
        self._set_file(os.fstat(self._fd).st_size)  # 0, unless another process made the file (unsupported)
        self._previous = None if target is None else os.path.basename(target)
        self.rotations += 1
        self._rotate_at = 0.0
        return None

    def _set_file(self, size: int) -> None:
        """The current file was (re)opened with ``size`` bytes; an empty one gets a header before the next line."""
        self._size = self._on_disk = size
        self._has_lines = size > 0
        self._limit = self.max_bytes if size else -1
        self._new_file = not size

    def _rotation_failed(self, exc: OSError) -> RotationError:
        self.rotation_failures += 1
        self._rotate_at = time.monotonic() + self.retry_interval
        error = RotationError(
            f"could not rotate {self.path} ({type(exc).__name__}: {exc}); lines go on into it "
            f"past max_bytes={self.max_bytes}; next try in {self.retry_interval:g} s"
        )
        error.__cause__ = exc
        return error

    # -- processes -----------------------------------------------------------------------------
    def _after_fork(self) -> None:
        """In a forked child: let go of the parent's file and buffer (the parent writes what it buffered).
        With ``{pid}`` in the path the child opens a file of its own at its first line; else it refuses."""
        fd = self._fd
        closed = not self._usable and not self._foreign
        if fd >= 0:
            with contextlib.suppress(OSError):
                os.close(fd)  # the child's copy of the descriptor; the parent's stays open
        self._reset_file_state()
        if self.per_process and not closed:
            self.path = self._resolve()
        else:
            self._foreign = self._foreign or not closed
            self._usable = False

    def _refuse(self) -> NoReturn:
        if self._foreign:
            self.refused += 1
            raise SinkClosedError(
                f"{self.path}: this RotatingFileSink belongs to the process that opened it (one writer per file); "
                "open one in each process, e.g. with {pid} in the path"
            )
        super()._refuse()

    # -- lifecycle -----------------------------------------------------------------------------
    def flush(self, timeout: float | None = None) -> bool:
        """Write the buffered lines (buffered=True); False only if ``timeout`` ran out waiting for a writer."""
        if not self.buffered:
            return True
        if not self._lock.acquire(timeout=-1 if timeout is None else max(0.0, timeout)):
            return False
        try:
            if self._fd >= 0 and not self._foreign:
                self._write_pending()
        finally:
            self._lock.release()
        return True

    def _release(self, timeout: float | None) -> bool:
        """Write what is buffered and close the file; later events are refused. Buffered lines that cannot be
        written are reported as dropped, and the write error is raised."""
        _exit.forget(self)
        if not self._lock.acquire(timeout=-1 if timeout is None else max(0.0, timeout)):
            self._usable = False  # a writer is stuck in write() and holds the file: refuse from now on
            return False
        try:
            self._usable = False
            fd = self._fd
            if fd < 0:
                return True
            try:
                if not self._foreign:
                    try:
                        self._write_pending()
                    except OSError as exc:
                        lines = self._pending_lines
                        self._drop_pending(f"could not write to {self.path} at close: {self._write_error}")
                        raise OSError(
                            exc.errno,
                            f"could not write {lines} buffered lines to {self.path} at close: "
                            f"{self._write_error}; dropped them (reported as dropped)",
                        ) from exc.__cause__
            finally:
                self._fd = -1
                with contextlib.suppress(OSError):
                    os.close(fd)
        finally:
            self._lock.release()
        return True

    def stats(self) -> dict[str, Any]:
        """``file`` (the current file), ``file_bytes``, ``file_seq``, ``bytes_written`` (headers included),
        ``lines_written`` (events), ``pending_bytes``, ``rotations``, ``rotation_failures`` and ``dropped``
        (buffered lines given up after failed writes, each reported)."""
        return {
            **super().stats(),
            "file": self.path,
            "file_bytes": self._size,
            "file_seq": self._file_seq,
            "bytes_written": self.bytes_written,
            "lines_written": self.lines_written,
            "pending_bytes": self._size - self._on_disk if self.buffered else 0,
            "rotations": self.rotations,
            "rotation_failures": self.rotation_failures,
            "dropped": self.dropped_lines,
        }

    def __repr__(self) -> str:
        state = " closed" if self._closed else ""
        return f"<RotatingFileSink {self.name!r} {self.path!r} buffered={self.buffered}{state}>"


def _check_regular(path: str, mode: int) -> None:
    if not S_ISREG(mode):  # never rename /dev/null or a pipe away
        raise ValueError(f"{path} is not a regular file; RotatingFileSink writes and renames regular files")


def _write_all(fd: int, data: bytes | bytearray) -> None:
    written = os.write(fd, data)
    while written < len(data):  # the OS took part of it: write the rest (a copy, but this is rare)
        written += os.write(fd, data[written:])


def _cut_back(fd: int, size: int) -> None:
    """After a failed write, cut the file back to ``size``, so that no partial line stays in it. Best effort."""
    try:
        if os.fstat(fd).st_size > size:
            os.ftruncate(fd, size)
    except OSError:
        pass


def _ends_with_newline(path: str) -> bool:
    """Whether the (non-empty) file's last byte is a newline; True when it cannot be read."""
    try:
        with open(path, "rb") as fh:
            fh.seek(-1, os.SEEK_END)
            return fh.read(1) == b"\n"
    except OSError:
        return True
