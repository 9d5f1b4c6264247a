"""Shortening a JSON line that is longer than a sink's ``max_line_bytes``, keeping it valid JSON."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import orjson

MARK_KEY = "zlog_truncated"
SUFFIX = "...[truncated]"
FIELD_PREFIX = "fields."
_KEEP = frozenset({"time", "level", "signal", MARK_KEY})
_CORE = frozenset({"time", "level", "signal", "message", MARK_KEY})
_MIN_STR_BYTES = 32
#: A cut string is never made shorter than this (its JSON size, quotes and suffix included).
_FLOOR = _MIN_STR_BYTES + len(SUFFIX) + 2
_ROUNDS = 16
MIN_LIMIT = 512  # room for the core keys, a short message and the marker
_OPT = orjson.OPT_APPEND_NEWLINE
_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def _escape_char(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def to_ascii(line: bytes) -> bytes:
    """The same JSON with every non-ASCII character as a ``\\u`` escape (for streams that cannot
    encode them). Valid because, in JSON, non-ASCII characters only occur inside strings."""
    if line.isascii():
        return line
    return _NON_ASCII.sub(_escape_char, line.decode("utf-8")).encode("ascii")


def _dumps_utf8(obj: Any) -> bytes:
    return orjson.dumps(obj, option=_OPT)


def _dumps_ascii(obj: Any) -> bytes:
    return to_ascii(orjson.dumps(obj, option=_OPT))


Dumps = Callable[[Any], bytes]


class _Marker:
    """The ``zlog_truncated`` object. Its lists are kept within a byte budget; names that do not fit
    are counted in ``more_truncated`` / ``more_dropped`` instead, so the marker cannot outgrow the line."""

    def __init__(self, original: int, limit: int, dump: Dumps) -> None:
        self.dump = dump
        self.budget = max(64, limit // 8)
        self.truncated: list[str] = []
        self.dropped: list[str] = []
        self.used = {"truncated": 0, "dropped": 0}
        self.more = {"truncated": 0, "dropped": 0}
        self.seen: set[tuple[str, str]] = set()
        self.obj: dict[str, Any] = {
            "original_bytes": original,
            "truncated": self.truncated,
            "dropped": self.dropped,
        }

    def add(self, kind: str, name: str) -> None:
        if (kind, name) in self.seen:
            return
        self.seen.add((kind, name))
        names = self.truncated if kind == "truncated" else self.dropped
        size = len(self.dump(name))  # the quoted name and a comma (the newline's byte)
        if self.used[kind] + size <= self.budget:
            names.append(name)
            self.used[kind] += size
        else:
            self.more[kind] += 1
            self.obj["more_" + kind] = self.more[kind]

    def collapse(self) -> None:
        """Last resort: keep only the counts."""
        for kind, names in (("truncated", self.truncated), ("dropped", self.dropped)):
            if names:
                self.more[kind] += len(names)
                self.obj["more_" + kind] = self.more[kind]
                names.clear()
                self.used[kind] = 0


def fit(line: bytes, limit: int, *, ascii: bool = False) -> bytes:
    """Shorten the largest strings first, then drop the largest fields, until the line fits.

    The result is at most ``limit`` bytes (``limit >= MIN_LIMIT``) and has a ``zlog_truncated`` object:
    ``original_bytes``, the ``truncated`` string paths and the ``dropped`` field names (plus
    ``more_truncated`` / ``more_dropped`` counts when there are too many names to list).
    With ``ascii=True`` sizes are those of the ASCII-only form (see ``to_ascii``), which is returned.
    """
    dump: Dumps = _dumps_ascii if ascii else _dumps_utf8
    obj: dict[str, Any] = orjson.loads(line)
    if MARK_KEY in obj:  # a user field with the marker's name keeps its value, under fields.<name>
        obj = {_free_key(obj, k) if k == MARK_KEY else k: v for k, v in obj.items()}
    mark = _Marker(len(to_ascii(line)) if ascii else len(line), limit, dump)
    obj[MARK_KEY] = mark.obj

    # phase 1: cut the longest strings (anywhere but time/level/signal) down to a common length
    for _ in range(_ROUNDS):
        out = dump(obj)
        excess = len(out) - limit
        if excess <= 0:
            return out
        leaves = [leaf for leaf in _strings(obj, "", dump) if leaf[0] > _FLOOR]
        if not leaves:
            break
        cap = _level([leaf[0] for leaf in leaves], excess)
        for size, path, container, key in leaves:
            if size > cap:
                container[key] = _cut(container[key], cap, dump)
                mark.add("truncated", path)

    # phase 2: drop whole fields, largest first
    out = dump(obj)
    if len(out) > limit:
        sizes = {k: len(dump({k: v})) - 2 for k, v in obj.items() if k not in _CORE}
        total = len(out)
        for key in sorted(sizes, key=sizes.__getitem__, reverse=True):
            if total <= limit:
                out = dump(obj)
                total = len(out)
                if total <= limit:
                    break
            del obj[key]
            before = len(dump(mark.obj))
            mark.add("dropped", key)
            total += len(dump(mark.obj)) - before - sizes[key]
        out = dump(obj)
    if len(out) <= limit:
        return out

    # phase 3: only the core keys are left; cut the message, then (last resort) the signal
    for key in ("message", "signal"):
        value = obj.get(key)
        if isinstance(value, str):
            size = len(dump(value)) - 1
            target = max(len(SUFFIX) + 2, size - (len(out) - limit) - 32)
            if target < size:
                obj[key] = _cut(value, target, dump)
                mark.add("truncated", key)
        out = dump(obj)
        if len(out) <= limit:
            return out
    mark.collapse()
    return dump(obj)


def _free_key(obj: dict[str, Any], key: str) -> str:
    new = FIELD_PREFIX + key
    while new in obj:
        new = FIELD_PREFIX + new
    return new


def _level(sizes: list[int], excess: int) -> int:
    """The largest length ``cap`` such that cutting every string longer than ``cap`` down to ``cap``
    saves at least ``excess`` bytes (never below the floor)."""
    ordered = sorted(sizes, reverse=True)
    total = 0
    for k, size in enumerate(ordered, 1):
        total += size
        cap = (total - excess) // k
        following = ordered[k] if k < len(ordered) else 0
        if cap >= following:
            return max(cap, _FLOOR)
    return _FLOOR  # even cutting every string to nothing would not be enough


def _cut(text: str, size: int, dump: Dumps) -> str:
    """The longest prefix of ``text`` that, with ``SUFFIX``, is at most ``size`` bytes as JSON."""
    if text.endswith(SUFFIX):  # cut before: cut the original text again, not the marker
        text = text[: -len(SUFFIX)]
    lo, hi = 0, len(text)
    while lo < hi:  # sizes grow with the prefix length: binary search on the prefix
        mid = (lo + hi + 1) // 2
        if len(dump(text[:mid] + SUFFIX)) - 1 <= size:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo] + SUFFIX


def _strings(node: Any, path: str, dump: Dumps) -> list[tuple[int, str, Any, Any]]:
    """Every string value below ``node`` as ``(json_size, path, container, key)``."""
    found: list[tuple[int, str, Any, Any]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if not path and key in _KEEP:
                continue
            sub = f"{path}.{key}" if path else str(key)
            if isinstance(value, str):
                found.append((len(dump(value)) - 1, sub, node, key))
            elif isinstance(value, (dict, list)):
                found.extend(_strings(value, sub, dump))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            sub = f"{path}[{i}]"
            if isinstance(value, str):
                found.append((len(dump(value)) - 1, sub, node, i))
            elif isinstance(value, (dict, list)):
                found.extend(_strings(value, sub, dump))
    return found
