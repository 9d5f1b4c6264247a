"""Built-in processors: run on the router before sinks, in the order they were added.

A processor is any callable ``processor(event) -> Event | None``; returning None drops the event.
"""

from __future__ import annotations

import fnmatch
import math
import random
import re
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from types import FrameType
from typing import Any

from zlog import _fork
from zlog._redact import DEFAULT_REDACT_KEYS, Redact
from zlog.event import Event, make_event

__all__ = ["DEFAULT_REDACT_KEYS", "CallerInfo", "Enrich", "Filter", "RateLimit", "Redact", "Sample"]


class _PatternTable:
    """Maps a signal name to the value of the first matching pattern (exact names win over globs)."""

    def __init__(self, table: Mapping[str, Any]) -> None:
        self._exact = {k: v for k, v in table.items() if not re.search(r"[*?\[]", k)}
        self._globs = [(re.compile(fnmatch.translate(k)).match, v) for k, v in table.items() if k not in self._exact]
        self._cache: dict[str, Any] = {}

    def get(self, name: str, default: Any) -> Any:
        try:
            return self._cache[name]
        except KeyError:
            pass
        value = self._exact.get(name, default)
        if name not in self._exact:
            value = next((v for match, v in self._globs if match(name)), default)
        if len(self._cache) < 4096:
            self._cache[name] = value
        return value


def _rates(rate: float | Mapping[str, float], name: str) -> dict[str, float]:
    table: dict[str, float] = {"*": rate} if isinstance(rate, (int, float)) else dict(rate)
    for pattern, value in table.items():
        if not isinstance(pattern, str) or isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"{name}: expected signal patterns mapped to numbers, got {pattern!r}: {value!r}")
    return table


class Filter:
    """Keep only the events for which ``predicate(event)`` is true."""

    def __init__(self, predicate: Callable[[Event], object]) -> None:
        if not callable(predicate):
            raise TypeError(f"Filter needs a callable predicate(event), got {predicate!r}")
        self.predicate = predicate
        self.dropped = 0

    def __call__(self, event: Event) -> Event | None:
        if self.predicate(event):
            return event
        self.dropped += 1
        return None


class Enrich:
    """Add fields to every event; the event's own fields win over these defaults.

    ``dynamic(event)`` may return more fields computed per event (for example a worker's load).
    """

    def __init__(
        self,
        fields: Mapping[str, Any] | None = None,
        /,
        *,
        dynamic: Callable[[Event], Mapping[str, Any]] | None = None,
        **more: Any,
    ) -> None:
        self.fields = {**(fields or {}), **more}
        self.dynamic = dynamic

    def __call__(self, event: Event) -> Event:
        extra = dict(self.fields)
        if self.dynamic is not None:
            extra.update(self.dynamic(event))
        return event.replace(fields={**extra, **event[3]})


class CallerInfo:
    """Add where the event was emitted: the ``file``, ``line`` and ``function`` of the emitting code.

    Frames of zlog itself and of the modules in ``skip`` (``logging``, for records that come through
    ``ZlogHandler``) are passed over, so the caller of ``zlog.emit``, ``zlog.info`` or ``logger.info``
    is found. Fields the event already has under those names win. Costs nothing unless added.
    """

    def __init__(self, *, skip: Iterable[str] = ("logging",)) -> None:
        names = [skip] if isinstance(skip, str) else list(skip)
        if not all(isinstance(n, str) and n for n in names):
            raise TypeError(f"CallerInfo(skip=...) takes module names, got {skip!r}")
        self.skip = tuple(names)
        self._passed: dict[str, bool] = {}  # module name -> whether its frames are passed over

    def _learn(self, module: str) -> bool:
        """Whether frames of ``module`` are passed over (remembered for the next event)."""
        passed = any(module == m or module.startswith(m + ".") for m in ("zlog", *self.skip))
        if len(self._passed) < 4096:
            self._passed[module] = passed
        return passed

    def __call__(self, event: Event) -> Event:
        frame: FrameType | None = sys._getframe(1)
        known = self._passed
        while frame is not None:
            module = frame.f_globals.get("__name__", "")
            passed = known.get(module)
            if passed is None:
                passed = self._learn(module)
            if not passed:
                break
            frame = frame.f_back
        if frame is None:
            return event
        code = frame.f_code
        name, message, ns, fields, level = event
        caller = {"file": code.co_filename, "line": frame.f_lineno, "function": code.co_name, **fields}
        return make_event(name, message, ns, caller, level)


class Sample:
    """Keep a share of events per signal.

    ``Sample(0.7)`` keeps about 70% of every signal; ``Sample({"WORKER_HEARTBEAT": 0.1})`` samples
    only the signals that match (exact names or globs; others are kept). ``every=N`` keeps exactly one
    event in N per signal (the 1st, N+1th, ...) instead of drawing at random. ``dropped`` counts per signal.
    """

    def __init__(
        self,
        rate: float | Mapping[str, float] | None = None,
        *,
        every: int | Mapping[str, int] | None = None,
        seed: int | None = None,
    ) -> None:
        if (rate is None) == (every is None):
            raise TypeError("Sample needs exactly one of rate= (a share to keep) or every= (keep 1 in N)")
        self._by_rate = rate is not None
        table = _rates(rate if rate is not None else every, "Sample")  # type: ignore[arg-type]
        for pattern, value in table.items():
            if self._by_rate and not 0.0 <= value <= 1.0:
                raise ValueError(f"Sample rate for {pattern!r} must be between 0 and 1, got {value}")
            if not self._by_rate and (not isinstance(value, int) or value < 1):
                raise ValueError(f"Sample every= for {pattern!r} must be an int >= 1, got {value}")
        self._table = _PatternTable(table)
        self._random = random.Random(seed)
        self._counts: dict[str, int] = {}
        self._lock = _fork.owned_lock(self)
        self.dropped: dict[str, int] = {}

    def __call__(self, event: Event) -> Event | None:
        name = event[0]
        setting = self._table.get(name, None)
        if setting is None:
            return event
        with self._lock:
            if self._by_rate:
                keep = self._random.random() < setting
            else:
                n = self._counts.get(name, 0)
                self._counts[name] = n + 1
                keep = n % setting == 0
            if not keep:
                self.dropped[name] = self.dropped.get(name, 0) + 1
        return event if keep else None


class RateLimit:
    """At most ``limit`` events per ``period`` seconds for each signal (a token bucket).

    ``limit`` may map signal patterns to limits. Dropped events are counted in ``dropped``, and the
    next event let through carries ``zlog_rate_limited`` = how many were dropped before it.
    """

    def __init__(
        self, limit: int | Mapping[str, int], period: float = 1.0, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        table = _rates(limit, "RateLimit")
        for pattern, value in table.items():
            if not 0 <= value < math.inf:
                raise ValueError(f"RateLimit limit for {pattern!r} must be a finite number >= 0, got {value}")
        if isinstance(period, bool) or not isinstance(period, (int, float)) or not 0 < period < math.inf:
            raise ValueError(f"RateLimit period must be a finite number of seconds > 0, got {period!r}")
        self._table = _PatternTable(table)
        self.period = float(period)
        self._clock = clock
        self._buckets: dict[str, list[float]] = {}  # name -> [tokens, last time, dropped since last pass]
        self._lock = _fork.owned_lock(self)
        self.dropped: dict[str, int] = {}

    def __call__(self, event: Event) -> Event | None:
        name = event[0]
        limit = self._table.get(name, None)
        if limit is None:
            return event
        now = self._clock()
        with self._lock:
            bucket = self._buckets.get(name)
            if bucket is None:
                bucket = self._buckets[name] = [float(limit), now, 0.0]
            elapsed = now - bucket[1] if now > bucket[1] else 0.0  # a clock that steps back refills nothing
            bucket[0] = min(float(limit), bucket[0] + elapsed * limit / self.period)
            bucket[1] = now
            if bucket[0] < 1.0 - 1e-9:  # a token due at 0.3 s must not be missed by 0.3 - 0.2 == 0.0999...
                bucket[2] += 1
                self.dropped[name] = self.dropped.get(name, 0) + 1
                return None
            bucket[0] -= 1.0
            skipped = int(bucket[2])
            bucket[2] = 0
        if skipped:
            return event.replace(fields={**event[3], "zlog_rate_limited": skipped})
        return event
