"""Helpers shared by the RotatingFileSink tests: events, the files of a rotating log, their records."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from zlog import Event
from zlog.sinks.rotating import RotatingFileSink

HEADER = "ZLOG_FILE_OPENED"
ZLOG = str(Path(sys.executable).with_name("zlog"))


def ev(i: int, pad: int = 60) -> Event:
    return Event("JOB_DONE", "done", {"i": i, "pad": "x" * pad}, time_ns=1_700_000_000_000_000_000 + i)


def chain(path: Path) -> list[Path]:
    """The files of a rotating log, oldest first: ``path.N`` ... ``path.1``, ``path``."""
    numbered = [p for p in path.parent.glob(path.name + ".*") if p.suffix[1:].isdigit()]
    return [*sorted(numbered, key=lambda p: -int(p.suffix[1:])), *([path] if path.exists() else [])]


def records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_bytes().splitlines()]


def ids(paths: list[Path]) -> list[int]:
    return [r["i"] for p in paths for r in records(p) if r["signal"] != HEADER]


def fill(path: Path | str, n: int, start: int = 0, **options: Any) -> RotatingFileSink:
    """A sink on ``path`` that took lines ``start`` to ``start + n - 1`` and was closed."""
    sink = RotatingFileSink(path, **options)
    for i in range(start, start + n):
        sink.handle(ev(i))
    sink.close()
    return sink


def raising(
    sink: RotatingFileSink, n: int, error: type[Exception], pause: dict[int, float] | None = None
) -> dict[int, Exception]:
    """Hand lines 0 to n-1 to ``sink``, sleeping ``pause[i]`` seconds after line i; what each line raised."""
    raised = {}
    for i in range(n):
        try:
            sink.handle(ev(i))
        except error as exc:
            raised[i] = exc
        time.sleep((pause or {}).get(i, 0))
    return raised
