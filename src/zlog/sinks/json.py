"""``JSONSink``: one JSON object per line on a text or binary stream."""

from __future__ import annotations

import io
import sys
import threading
import time
from collections.abc import Callable
from typing import IO, Any

import orjson

from zlog import _encode, _exit, _fork, _profiles, _truncate
from zlog.event import Event
from zlog.sinks.base import SinkBase

__all__ = ["JSONSink"]


def _needs_ascii(stream: Any) -> bool:
    """Whether a text stream's encoding cannot write every character (cp1252 on a redirected Windows
    stdout, ``open(p, "w", encoding="ascii")``); such a sink writes non-ASCII as JSON ``\\u`` escapes."""
    encoding = getattr(stream, "encoding", None)
    if not isinstance(encoding, str):
        return False
    try:
        "\u00e9\u20ac\U0001f600".encode(encoding)
    except (LookupError, UnicodeError):
        return True
    return False


def _is_binary(stream: Any) -> bool:
    if isinstance(stream, io.TextIOBase):
        return False
    if isinstance(stream, (io.BufferedIOBase, io.RawIOBase)):
        return True
    return "b" in str(getattr(stream, "mode", ""))


def _utf8(line: bytes) -> str:
    return line.decode("utf-8")


def _locked_writer(
    write: Callable[[Any], object],
    flush: Callable[[], object] | None,
    convert: Callable[[bytes], str] | None,
    locks: list[threading.Lock],
) -> Callable[[bytes], None]:
    """One locked ``write`` (plus ``flush`` when given) per line, converting bytes to text if asked.

    The lock is ``locks[0]``, so a forked child can swap in a fresh one."""

    def locked(line: bytes) -> None:
        data: bytes | str = line if convert is None else convert(line)
        with locks[0]:
            write(data)
            if flush is not None:
                flush()

    return locked


class JSONSink(SinkBase):
    """Writes each event as one JSON line: ``time``, ``level``, ``signal``, ``message``, then fields.

    ``buffered=False`` flushes every line (safe for ``| shipper``); ``buffered=True`` leaves lines in
    the stream's buffer until ``flush()``, ``close()`` or interpreter exit. Lines longer than
    ``max_line_bytes`` are shortened and marked (see docs/format.md). ``profile`` (``"ecs"``, ``"gcp"``,
    ``"datadog"`` or ``"otel"``) writes the keys that backend expects (docs/profiles.md). The stream is
    never closed by the sink; after ``close()`` the sink refuses events.
    """

    def __init__(
        self,
        stream: IO[str] | IO[bytes] | None = None,
        *,
        buffered: bool = False,
        max_line_bytes: int = 16384,
        name: str = "json",
        profile: str | None = None,
    ) -> None:
        if profile is not None:
            _profiles.builder(profile)  # a clear ValueError now for an unknown profile
        if stream is None:
            stream = sys.stdout
        if not callable(getattr(stream, "write", None)):
            raise TypeError(f"JSONSink needs a writable stream, got {stream!r}")
        if not isinstance(max_line_bytes, int) or max_line_bytes < _truncate.MIN_LIMIT:
            raise ValueError(f"max_line_bytes must be an int of at least {_truncate.MIN_LIMIT}, got {max_line_bytes!r}")
        super().__init__(name=name)
        self.stream = stream
        self.buffered = bool(buffered)
        self.max_line_bytes = max_line_bytes
        self.profile = profile
        self.binary = _is_binary(stream)
        self.ascii_only = not self.binary and _needs_ascii(stream)
        self._locks = [threading.Lock()]  # the writer's lock, in a cell a forked child refills
        self._out = [self._make_writer()]  # the writer, in a cell that close() swaps for a refusal
        #: ``handle(event)``: render one line and write it. A function built for this sink by
        #: ``_make_handle`` (native or profile line) around the writer of ``_make_writer`` (binary or
        #: text, buffered or flushing), so that no configuration is looked at per event.
        self.handle: Callable[[Event], None] = self._make_handle()
        if self.buffered:
            _exit.flush_at_exit(self)
        then = JSONSink._flush_before_fork if self.buffered else None
        _fork.hold_across_fork(self, lambda sink: sink._locks[0], wait=1.0, then=then)

    def _flush_before_fork(self) -> None:
        """Write the buffered lines before a fork (under the writer's lock): a child would inherit the
        stream's buffer and write them a second time. On text and raw streams a fork also waits for the
        line being written."""
        if not self._closed:
            self.flush()

    def _after_fork(self) -> None:
        self._locks[0] = threading.Lock()

    def _make_writer(self) -> Callable[[bytes], None]:
        stream: Any = self.stream
        raw_write = stream.write
        flush = stream.flush if callable(getattr(stream, "flush", None)) else None
        if self.binary:
            if isinstance(stream, io.RawIOBase):
                locks = self._locks

                def write_raw(line: bytes) -> None:
                    view = memoryview(line)
                    with locks[0]:
                        while view:  # a raw stream may write part of the line
                            n = raw_write(view)
                            if n is None:  # a non-blocking stream that is full: report, do not spin
                                raise BlockingIOError(f"{stream!r} would block")
                            view = view[n:]

                return write_raw
            if not isinstance(stream, io.BufferedIOBase):  # e.g. a tempfile wrapper: no lock of its own
                return _locked_writer(raw_write, None if self.buffered else flush, None, self._locks)
            # a buffered binary file has a lock of its own: the hot path takes no other (so a fork can
            # catch another thread inside it; docs/workers.md says when that matters)
            if self.buffered or flush is None:
                return raw_write  # type: ignore[no-any-return]

            def write_flush(line: bytes) -> None:
                raw_write(line)
                flush()

            return write_flush
        # text streams are not documented as thread-safe: one lock per sink
        flush_each = None if self.buffered else flush
        if not self.ascii_only:
            return _locked_writer(raw_write, flush_each, _utf8, self._locks)
        limit = self.max_line_bytes
        to_ascii = _truncate.to_ascii
        fit = _truncate.fit

        keep = _profiles.KEEP[self.profile] if self.profile is not None else frozenset()

        def ascii_text(line: bytes) -> str:  # ``line`` is not cut yet: see _make_handle
            # the ASCII form is never shorter: a line already too long is cut without escaping it all first
            out = fit(line, limit, ascii=True, keep=keep) if len(line) > limit else to_ascii(line)
            if len(out) > limit:
                out = fit(line, limit, ascii=True, keep=keep)
            return out.decode("ascii")

        return _locked_writer(raw_write, flush_each, ascii_text, self._locks)

    def _make_handle(self) -> Callable[[Event], None]:
        out = self._out
        dumps = orjson.dumps
        default = _encode.default_for(self.max_line_bytes)  # caps huge bytes values before decoding them
        options = _encode.OPTIONS
        safe_dumps = _encode.dumps
        render = _encode.render
        fit = _truncate.fit
        # an ASCII-only stream measures the escaped line, so its writer does the cutting
        limit = sys.maxsize if self.ascii_only else self.max_line_bytes
        digits = _encode.DIGITS3
        strftime = time.strftime
        gmtime = time.gmtime
        cache: list[tuple[int, str]] = [(-1, "")]

        if self.profile is not None:
            build = _profiles.builder(self.profile)
            keep = _profiles.KEEP[self.profile]
            clock = _encode.Clock()

            def handle_profile(event: Event) -> None:
                name, message, ns, fields, level = event
                line = safe_dumps(build(name, message, ns, clock.stamp(ns), fields, level), default)
                out[0](line if len(line) <= limit else fit(line, limit, keep=keep))

            return handle_profile

        def handle(event: Event) -> None:
            name, message, ns, fields, level = event
            ms, us = divmod(ns // 1000, 1000)
            stamp = cache[0]
            if stamp[0] != ms:
                sec, msec = divmod(ms, 1000)
                stamp = (ms, strftime("%Y-%m-%dT%H:%M:%S.", gmtime(sec)) + digits[msec])
                cache[0] = stamp
            ts = stamp[1] + digits[us] + "Z"
            if level is None:
                d = {"time": ts, "signal": name, "message": message, **fields}
                plain = len(d) == 3 + len(fields) and "level" not in fields
            else:
                d = {"time": ts, "level": level, "signal": name, "message": message, **fields}
                plain = len(d) == 4 + len(fields)
            if plain:
                try:
                    line = dumps(d, default=default, option=options)
                except Exception:
                    line = safe_dumps(d, default)
                if len(line) > limit:
                    line = fit(line, limit)
            else:
                line = render(name, message, ts, fields, level, limit, default)
            out[0](line)

        return handle

    def _refused(self, line: bytes) -> None:
        self._refuse()

    def flush(self, timeout: float | None = None) -> bool:
        """Push buffered lines to the stream's destination (a stream closed by its owner holds none)."""
        flush = getattr(self.stream, "flush", None)
        if callable(flush) and not getattr(self.stream, "closed", False):
            flush()
        return True

    def _release(self, timeout: float | None) -> bool:
        """Refuse further events and flush; the stream stays open (zlog never closes a stream it did not open)."""
        self._out[0] = self._refused
        _exit.forget(self)
        return self.flush(timeout)

    def __repr__(self) -> str:
        return f"<JSONSink {self.name!r} buffered={self.buffered} stream={self.stream!r}>"
