"""One reading of "a signal, a name, a glob pattern, or several of them", for every place that takes signals.

``HealthSink(heartbeat=...)``, ``MetricsSink(declare=...)``, metric and alert rule signals all read
their argument here, so ``"WORKER_HEARTBEAT"`` is one name everywhere (never its letters), a
``Signal`` is its name, and a list may mix both.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Iterator

from zlog.signals import Signal

__all__ = ["SignalSet", "SignalSpec", "signal_names"]

#: A signal, a signal name or glob pattern, or an iterable of them.
SignalSpec = str | Signal[...] | Iterable[str | Signal[...]]
_GLOB = re.compile(r"[*?\[]")
_MAX_CACHED = 4096


def signal_names(spec: SignalSpec, *, what: str, patterns: bool = True) -> tuple[str, ...]:
    """The names (and, where allowed, glob patterns) in ``spec``, in order, each once.

    TypeError when ``spec`` or an item is not a signal or a str (``what`` names the argument);
    ValueError for an empty name, or a glob pattern where ``patterns`` is False.
    """
    if isinstance(spec, (str, Signal)):
        items: list[object] = [spec]
    elif isinstance(spec, (bytes, bytearray)) or not isinstance(spec, Iterable):
        raise TypeError(f"{what}: expected a signal, a signal name or several of them, got {spec!r}")
    else:
        items = list(spec)
    names: list[str] = []
    for item in items:
        if isinstance(item, Signal):
            name = item.name
        elif isinstance(item, str):
            name = str.__str__(item)
        else:
            raise TypeError(f"{what}: expected signals or signal names, got {item!r} in {spec!r}")
        if not name or name != name.strip():
            raise ValueError(f"{what}: {item!r} is not a signal name")
        if not patterns and _GLOB.search(name):
            raise ValueError(f"{what}: {name!r} is a pattern; name the signals here")
        if name not in names:
            names.append(name)
    return tuple(names)


class SignalSet:
    """Signal names and glob patterns; ``name in signals`` checks the names, then the patterns."""

    __slots__ = ("_cache", "_globs", "_set", "exact", "names", "patterns")

    def __init__(self, spec: SignalSpec, *, what: str, patterns: bool = True) -> None:
        self.names = signal_names(spec, what=what, patterns=patterns)
        #: The plain names, and the glob patterns, among ``names``.
        self.exact = tuple(n for n in self.names if not _GLOB.search(n))
        self.patterns = tuple(n for n in self.names if _GLOB.search(n))
        self._set = frozenset(self.exact)
        self._globs = tuple(re.compile(fnmatch.translate(n)).match for n in self.patterns)
        self._cache: dict[str, bool] = {}

    def __contains__(self, name: object) -> bool:
        if name in self._set:
            return True
        if not self._globs or not isinstance(name, str):
            return False
        hit = self._cache.get(name)
        if hit is None:
            hit = any(match(name) for match in self._globs)
            if len(self._cache) < _MAX_CACHED:
                self._cache[name] = hit
        return hit

    def __bool__(self) -> bool:
        return bool(self.names)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __repr__(self) -> str:
        return f"SignalSet({list(self.names)!r})"
