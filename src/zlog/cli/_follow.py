"""``tail -F`` for ``zlog tail --follow``: keep reading files as they grow, are rotated or truncated."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from typing import BinaryIO

from zlog.cli._read import CHUNK

__all__ = ["follow"]


class _Followed:
    """One followed path: the open file, its identity, and the bytes of an unfinished last line."""

    def __init__(self, path: str, from_start: bool) -> None:
        self.path = path
        self.handle: BinaryIO | None = None
        self.inode: tuple[int, int] | None = None
        self.partial = b""
        self._open(from_start)

    def _open(self, from_start: bool) -> None:
        try:
            handle = open(self.path, "rb")  # noqa: SIM115 - kept open while following
        except OSError:
            self.handle, self.inode = None, None
            return
        stat = os.fstat(handle.fileno())
        if not from_start:
            handle.seek(0, os.SEEK_END)
        self.handle, self.inode, self.partial = handle, (stat.st_dev, stat.st_ino), b""

    def read(self) -> list[bytes]:
        """New complete lines (at most about a chunk of them per call, so a big file is not read into
        memory at once); once at the end of the file, reopens the path after rotation and rereads it
        after truncation."""
        if self.handle is None:
            self._open(from_start=True)  # the file appeared (or came back)
            if self.handle is None:
                return []
        lines, more = self._drain()
        if more:
            return lines  # not at the end yet: look for rotation once the file is read
        try:
            stat = os.stat(self.path)
        except OSError:
            return lines  # rotated away and not recreated yet: keep the old handle
        assert self.handle is not None
        if (stat.st_dev, stat.st_ino) != self.inode:
            more = True
            while more:  # finish what was written to the old file before the switch
                got, more = self._drain()
                lines.extend(got)
            if self.partial:
                lines.append(self.partial)
            self.handle.close()
            self._open(from_start=True)
            lines.extend(self._drain()[0])
        elif stat.st_size < self.handle.tell():  # truncated in place
            self.handle.seek(0)
            self.partial = b""
            lines.extend(self._drain()[0])
        return lines

    def _drain(self) -> tuple[list[bytes], bool]:
        """Complete lines of the next chunk, and whether the chunk was full (more may be waiting)."""
        if self.handle is None:
            return [], False
        data = self.handle.read(CHUNK)
        if not data:
            return [], False
        more = len(data) == CHUNK
        data = self.partial + data
        *complete, self.partial = data.split(b"\n")
        return [line for line in (raw.rstrip(b"\r") for raw in complete) if line], more


def follow(paths: Sequence[str], *, interval: float = 0.25, from_start: bool = True) -> Iterator[bytes]:
    """Lines of ``paths`` as they are written, forever (stop by closing the generator or Ctrl-C).

    Existing content is read first when ``from_start``. A path that does not exist yet is watched until
    it appears; a rotated file is finished and the new file at the path is followed; a truncated file is
    read again from its start.
    """
    files = [_Followed(p, from_start) for p in paths]
    try:
        while True:
            got = False
            for followed in files:
                for line in followed.read():
                    got = True
                    yield line
            if not got:
                time.sleep(interval)
    finally:
        for followed in files:
            if followed.handle is not None:
                followed.handle.close()
