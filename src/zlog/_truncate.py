"""Shortening a JSON line that is longer than a sink's ``max_line_bytes``, keeping it valid JSON.

The cost is a few C-speed passes over the line plus Python work for the strings and fields that can
still be kept: a field that cannot fit however its strings are cut is dropped unread, a string is cut
by encoding at most its first ``limit`` characters, and sizes are tracked instead of re-measured.
"""

from __future__ import annotations

from collections.abc import Callable
from json.encoder import encode_basestring_ascii
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
#: A string of at most this many characters is within the floor (a character is at most 12 bytes).
_SHORT = (_FLOOR - 2) // 12
_ROUNDS = 16
MIN_LIMIT = 512  # room for the core keys, a short message and the marker
_OPT = orjson.OPT_APPEND_NEWLINE
#: UTF-8 lead bytes by the length of their character (0 for every other byte).
_LEADS = bytes(2 if 0xC0 <= b < 0xE0 else 3 if 0xE0 <= b < 0xF0 else 4 if 0xF0 <= b < 0xF8 else 0 for b in range(256))

Size = Callable[[Any], int]
#: A string worth cutting: ``(json_size, path of its container, container, key)``.
Leaf = tuple[int, str, Any, Any]


def to_ascii(line: bytes) -> bytes:
    """The same JSON with every non-ASCII character as a ``\\u`` escape (for streams that cannot
    encode them). Valid because, in JSON, non-ASCII characters only occur inside strings.

    ``line`` is compact JSON as orjson writes it: no raw control character but a final newline."""
    if line.isascii():
        return line
    text = line.decode("utf-8")
    if "\x00" not in text:
        # With each escaped backslash (a "\\" pair) set aside, every backslash left starts a JSON escape,
        # never Python's \x.. or \U........, so the escapes backslashreplace writes can be told apart.
        out = text.replace("\\\\", "\x00").encode("ascii", "backslashreplace")
        if b"\\U" not in out:  # no character beyond U+FFFF, which JSON writes as a surrogate pair
            return out.replace(b"\\x", b"\\u00").replace(b"\x00", b"\\\\")
    return _ascii_by_json(text)


def _ascii_by_json(text: str) -> bytes:
    """``to_ascii`` by way of json's C string encoder (it writes surrogate pairs); the quotes,
    backslashes and DEL characters that it escapes as well are put back."""
    end = "\n" if text.endswith("\n") else ""
    body = encode_basestring_ascii(text[: len(text) - len(end)]).encode("ascii")[1:-1]
    body = body.replace(b"\\\\", b"\x00").replace(b'\\"', b'"').replace(b"\\u007f", b"\x7f")
    return body.replace(b"\x00", b"\\") + end.encode("ascii")


def ascii_size(data: bytes) -> int:
    """``len(to_ascii(data))``, without building it: each non-ASCII character of ``data`` grows from
    its UTF-8 bytes to a 6-byte ``\\u`` escape (12 bytes, a surrogate pair, beyond U+FFFF)."""
    if data.isascii():
        return len(data)
    leads = data.translate(_LEADS)
    return len(data) + 4 * leads.count(2) + 3 * leads.count(3) + 8 * leads.count(4)


def _size_utf8(obj: Any) -> int:
    return len(orjson.dumps(obj))


def _size_ascii(obj: Any) -> int:
    return ascii_size(orjson.dumps(obj))


def _dump(obj: Any, ascii: bool) -> bytes:
    out = orjson.dumps(obj, option=_OPT)
    return to_ascii(out) if ascii else out


class _Marker:
    """The ``zlog_truncated`` object. Its lists are kept within a byte budget; names that do not fit
    are counted in ``more_truncated`` / ``more_dropped`` instead, so the marker cannot outgrow the line.
    ``add`` says how many bytes the marker grew by, so the line's size need not be measured again."""

    def __init__(self, original: int, limit: int, size: Size) -> None:
        self.size = size
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

    def add(self, kind: str, name: str) -> int:
        if (kind, name) in self.seen:
            return 0
        self.seen.add((kind, name))
        used = self.used[kind]
        if used + len(name) + 3 <= self.budget:  # a name takes at least its length, two quotes and a comma
            cost = self.size(name) + 1
            if used + cost <= self.budget:
                (self.truncated if kind == "truncated" else self.dropped).append(name)
                self.used[kind] = used + cost
                return cost if used else cost - 1  # the first name has no comma before it
        more = self.more[kind] + 1
        self.more[kind] = more
        self.obj["more_" + kind] = more
        return len(f',"more_{kind}":1') if more == 1 else len(str(more)) - len(str(more - 1))

    def collapse(self) -> None:
        """Last resort: keep only the counts."""
        for kind, names in (("truncated", self.truncated), ("dropped", self.dropped)):
            if names:
                self.more[kind] += len(names)
                self.obj["more_" + kind] = self.more[kind]
                names.clear()
                self.used[kind] = 0


def fit(line: bytes, limit: int, *, ascii: bool = False, keep: frozenset[str] = frozenset()) -> bytes:
    """Shorten the largest strings first, then drop the largest fields, until the line fits.

    The result is at most ``limit`` bytes (``limit >= MIN_LIMIT``) and has a ``zlog_truncated`` object:
    ``original_bytes``, the ``truncated`` string paths and the ``dropped`` field names (plus
    ``more_truncated`` / ``more_dropped`` counts when there are too many names to list).
    A field that cannot fit even with all its strings cut is dropped before any string is cut.
    With ``ascii=True`` sizes are those of the ASCII-only form (see ``to_ascii``), which is returned.
    ``keep`` names more top-level keys that are never cut or dropped (a profile's own keys).
    """
    size: Size = _size_ascii if ascii else _size_utf8
    core, uncut = (_CORE | keep, _KEEP | keep) if keep else (_CORE, _KEEP)
    obj: dict[str, Any] = orjson.loads(line)
    if MARK_KEY in obj:  # a user field with the marker's name keeps its value, under fields.<name>
        obj = {_free_key(obj, k) if k == MARK_KEY else k: v for k, v in obj.items()}
    mark = _Marker(ascii_size(line) if ascii else len(line), limit, size)
    obj[MARK_KEY] = mark.obj
    total = size(obj) + 1  # with the newline; kept exact from here on: each change adds its difference

    # phase 0: a field too big for the line however its strings are cut is dropped without a look inside
    for key in [k for k, v in obj.items() if k not in core and _cannot_fit(v, limit)]:
        total += mark.add("dropped", key) - _member_size(key, obj.pop(key), size)

    # phase 1: cut the longest strings (anywhere but time/level/signal) down to a common length
    for _ in range(_ROUNDS):
        excess = total - limit
        if excess <= 0:
            break
        leaves = _strings(obj, "", size, [], uncut)
        if not leaves:
            break
        cap = _level([leaf[0] for leaf in leaves], excess)
        for leaf_size, path, container, key in leaves:
            if leaf_size > cap:
                text, text_size = _cut(container[key], cap, size)
                container[key] = text
                name = f"{path}[{key}]" if isinstance(container, list) else f"{path}.{key}" if path else key
                total += text_size - leaf_size + mark.add("truncated", name)
    if total <= limit:
        out = _dump(obj, ascii)
        if len(out) <= limit:
            return out
        total = len(out)

    # phase 2: drop whole fields, largest first
    sizes = {k: _member_size(k, v, size) for k, v in obj.items() if k not in core}
    for key in sorted(sizes, key=sizes.__getitem__, reverse=True):
        if total <= limit:
            break
        del obj[key]
        total += mark.add("dropped", key) - sizes[key]
    out = _dump(obj, ascii)
    if len(out) <= limit:
        return out

    # phase 3: only the core keys are left; cut the message, then (last resort) the signal
    for key in ("message", "signal"):
        value = obj.get(key)
        if isinstance(value, str):
            value_size = size(value)
            target = max(len(SUFFIX) + 2, value_size - (len(out) - limit) - 32)
            if target < value_size:
                obj[key] = _cut(value, target, size)[0]
                mark.add("truncated", key)
        out = _dump(obj, ascii)
        if len(out) <= limit:
            return out
    mark.collapse()
    return _dump(obj, ascii)


def _free_key(obj: dict[str, Any], key: str) -> str:
    new = FIELD_PREFIX + key
    while new in obj:
        new = FIELD_PREFIX + new
    return new


def _member_size(key: str, value: Any, size: Size) -> int:
    """Bytes the member takes in an object of several: ``"key":value`` and a comma."""
    return size({key: value}) - 1


def _cannot_fit(value: Any, limit: int) -> bool:
    """Whether ``value`` is longer than ``limit`` bytes even with every string in it cut to nothing: an
    array item takes at least 2 bytes (itself and a comma), an object member 5. Looks at no more than
    about ``limit / 2`` items, so a huge array or object costs no more than a small one."""
    if not isinstance(value, (dict, list)):
        return False
    least = 0
    todo = [value]
    while todo:
        node = todo.pop()
        items = node.values() if isinstance(node, dict) else node
        least += (5 if isinstance(node, dict) else 2) * len(node)
        if least > limit:
            return True
        todo.extend(v for v in items if isinstance(v, (dict, list)))
    return False


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


def _cut(text: str, size: int, measure: Size) -> tuple[str, int]:
    """The longest prefix of ``text`` that, with ``SUFFIX``, is at most ``size`` bytes as JSON; and its size.

    A character takes at least one byte, so no more than the first ``size`` characters are ever encoded.
    The first guess (all of them) is right for plain text; otherwise the bytes per character it measured
    place the next guess, and the search goes outwards from there."""
    end = len(text) - len(SUFFIX) if text.endswith(SUFFIX) else len(text)  # cut before: cut the original again
    room = size - len(SUFFIX) - 2

    measured: dict[int, int] = {}

    def fits(n: int) -> bool:
        measured[n] = measure(text[:n] + SUFFIX)
        return measured[n] <= size

    keep = max(0, min(end, room))
    if keep and not fits(keep):  # then measured[keep] - len(SUFFIX) - 2 > room >= keep: the guess is below keep
        keep = _longest(fits, keep * room // (measured[keep] - len(SUFFIX) - 2), keep - 1)
    out = text[:keep] + SUFFIX
    return out, measured[keep] if keep in measured else measure(out)


def _longest(fits: Callable[[int], bool], guess: int, hi: int) -> int:
    """The largest ``n`` in ``[0, hi]`` for which ``fits(n)`` (true up to some ``n``, false after; 0 is
    taken to fit), galloping outwards from ``guess`` so that a close guess costs few probes."""
    lo, step = 0, 1
    if fits(guess):
        lo = guess
        while lo < hi:
            probe = min(hi, lo + step)
            if not fits(probe):
                hi = probe - 1
                break
            lo, step = probe, step * 2
    else:
        hi = guess - 1
        while lo < hi:
            probe = max(lo, hi - step)
            if fits(probe):
                lo = probe
                break
            hi, step = probe - 1, step * 2
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid - 1
    return lo


def _strings(node: Any, path: str, size: Size, found: list[Leaf], uncut: frozenset[str] = _KEEP) -> list[Leaf]:
    """Every string value below ``node`` longer than the floor, but those of the top-level keys in
    ``uncut`` (the path of the string itself is only built if it is cut)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if not path and key in uncut:
                continue
            if isinstance(value, str):
                if len(value) > _SHORT:
                    value_size = size(value)
                    if value_size > _FLOOR:
                        found.append((value_size, path, node, key))
            elif isinstance(value, (dict, list)):
                _strings(value, f"{path}.{key}" if path else str(key), size, found)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            if isinstance(value, str):
                if len(value) > _SHORT:
                    value_size = size(value)
                    if value_size > _FLOOR:
                        found.append((value_size, path, node, i))
            elif isinstance(value, (dict, list)):
                _strings(value, f"{path}[{i}]", size, found)
    return found
