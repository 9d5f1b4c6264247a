"""``Redact``: masking secrets in event fields, failing closed (``zlog.processors.Redact``).

Redact reads each value the way the JSON line will show it (see docs/concepts.md, "What Redact
reads"), and masks what it cannot prove safe.
"""

from __future__ import annotations

import builtins
import dataclasses
import enum
import re
import traceback
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from datetime import time as dtime
from decimal import Decimal
from typing import Any
from uuid import UUID

from zlog import _encode
from zlog.event import Event

__all__ = ["DEFAULT_REDACT_KEYS", "Redact"]


#: Containers nested deeper than this are masked whole: a secret could hide below.
_REDACT_MAX_DEPTH = 64
DEFAULT_REDACT_KEYS: tuple[str, ...] = (
    "password",
    "passwd",
    "secret",
    "token",
    "api_key",
    "apikey",
    "authorization",
    "cookie",
    "set-cookie",
)
#: Exact types written as themselves or as plain text: nothing inside them has a key.
_REDACT_ATOMS = frozenset(
    {
        str,
        int,
        float,
        bool,
        type(None),
        bytes,
        bytearray,
        memoryview,
        complex,
        Decimal,
        UUID,
        datetime,
        date,
        dtime,
        timedelta,
    }
)
#: The methods through which some writer (orjson, the sanitizer, a profile) reads a dict or list; a subclass
#: that overrides one may show each writer something else, so Redact passes on a plain copy of what it read.
_DICT_READERS = ("__iter__", "__getitem__", "keys", "items", "values")
_LIST_READERS = ("__iter__", "__getitem__")
_EXC_GROUPS: tuple[type, ...] = tuple(t for t in [getattr(builtins, "BaseExceptionGroup", None)] if isinstance(t, type))
_CAUSE = "\nThe above exception was the direct cause of the following exception:\n\n"
_CONTEXT = "\nDuring handling of the above exception, another exception occurred:\n\n"


class _MaskedRepr(str):
    """An object's repr with its secrets masked: written as this text, and shown as itself inside another repr."""

    __slots__ = ()

    def __repr__(self) -> str:
        return str.__str__(self)


def _overrides(cls: type, base: type, names: tuple[str, ...]) -> bool:
    return cls is not base and any(getattr(cls, n, None) is not getattr(base, n) for n in names)


def _key_texts(key: object, depth: int = 0) -> list[str]:
    """Every text a key that is not a plain str can be written as (by the encoder, a profile, ``str`` or
    ``repr``), plus an enum member's name; raises when one cannot be computed."""
    cls = type(key)
    if key is None or cls in (bool, int, float):
        return []
    texts = [str(key), repr(key)]
    if isinstance(key, enum.Enum):
        texts.append(key.name)
        texts += _key_texts(key.value, depth + 1) if depth < _REDACT_MAX_DEPTH else ["<deep enum>"]
    if isinstance(key, str):
        texts.append(str.__str__(key))  # what the encoder writes for a str subclass, whatever its __str__ says
    elif isinstance(key, (bytes, bytearray, memoryview)):
        texts.append(bytes(key).decode("utf-8", "backslashreplace"))
    return texts


def _exc_type(exc: BaseException, plain: tuple[str, ...] = ("builtins",)) -> str:
    """The type name as the encoder writes it; a traceback line also leaves out ``__main__``."""
    cls = type(exc)
    return cls.__qualname__ if cls.__module__ in plain else f"{cls.__module__}.{cls.__qualname__}"


def _exc_chain(exc: BaseException) -> tuple[list[tuple[BaseException, str]], bool]:
    """``([(exception, separator before it in a traceback)], cut)``: the exception and the causes and contexts a
    traceback shows, newest first, each once; ``cut`` when the chain is longer than Redact reads."""
    links, seen, current = [(exc, "")], {id(exc)}, exc
    while True:
        cause, context = current.__cause__, None if current.__suppress_context__ else current.__context__
        nxt, sep = (cause, _CAUSE) if cause is not None else (context, _CONTEXT)
        if nxt is None or id(nxt) in seen:
            return links, False
        if len(links) >= _REDACT_MAX_DEPTH:
            return links, True
        seen.add(id(nxt))
        links.append((nxt, sep))
        current = nxt


class Redact:
    """Mask the values of fields whose key contains a sensitive word, at any depth; fails closed.

    Keys are compared case-insensitively, with ``-`` treated like ``_``, as substrings: ``db_password``,
    ``X-Api-Key`` and ``Set-Cookie`` are all masked. ``keys`` adds words; a compiled ``re.Pattern``
    is matched with ``search`` against the original key instead. Redact looks inside everything the JSON
    line shows as structure (dicts, mappings, lists, tuples, sets, dataclasses, attrs classes, pydantic
    models, enums, exceptions' arguments) and masks whatever it cannot read; it never raises
    (see docs/concepts.md).
    """

    def __init__(
        self,
        keys: str | re.Pattern[str] | Iterable[str | re.Pattern[str]] = (),
        *,
        mask: str = "[REDACTED]",
        defaults: bool = True,
    ) -> None:
        words = list(DEFAULT_REDACT_KEYS) if defaults else []
        self._patterns: list[re.Pattern[str]] = []
        if isinstance(keys, (str, re.Pattern)):
            keys = (keys,)  # one word, not its letters
        for key in keys:
            if isinstance(key, re.Pattern) and isinstance(key.pattern, str):
                self._patterns.append(key)
            elif isinstance(key, str) and key:
                words.append(key)
            else:
                raise TypeError(f"Redact keys are strings or compiled str patterns, got {key!r}")
        if not isinstance(mask, str):
            raise TypeError(f"Redact mask must be a str, got {mask!r}")
        self._words = tuple(sorted({w.lower().replace("-", "_") for w in words}))
        self.mask = mask
        self._seen: dict[str, bool] = {}

    def _match(self, text: str) -> bool:
        """Whether the plain str ``text`` names a secret (cached)."""
        hit = self._seen.get(text)
        if hit is None:
            norm = text.lower().replace("-", "_")
            hit = any(w in norm for w in self._words) or any(p.search(text) for p in self._patterns)
            if len(self._seen) < 4096:
                self._seen[text] = hit
        return hit

    def _sensitive(self, key: object) -> bool:
        """Whether a key names a secret in any text it can be written as; True when that cannot be known."""
        if type(key) is str:
            hit = self._seen.get(key)
            return self._match(key) if hit is None else hit
        try:
            return any(self._match(t if type(t) is str else str.__str__(t)) for t in _key_texts(key))
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException:
            return True

    def _walk(self, value: Any, depth: int, path: set[int]) -> tuple[Any, bool]:
        """``(value with secrets masked, whether that is a new value)``; the mask for what cannot be read."""
        if type(value) in _REDACT_ATOMS:
            return value, False
        try:
            if isinstance(value, (str, int, float)):
                return value, False  # a subclass is written as its plain value
            if depth >= _REDACT_MAX_DEPTH or id(value) in path:
                return self.mask, True  # too deep to look into, or a reference back to an enclosing value
            path.add(id(value))
            try:
                return self._read(value, type(value), depth + 1, path)
            finally:
                path.discard(id(value))
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException:
            return self.mask, True  # what cannot be read cannot be shown to be safe

    def _read(self, value: Any, cls: type, depth: int, path: set[int]) -> tuple[Any, bool]:
        """Read ``value`` the way the JSON line shows it; ``_walk`` has checked depth and cycles."""
        if isinstance(value, BaseException):
            if dataclasses.is_dataclass(value):  # orjson writes it as a dataclass, a profile as an exception
                plain, changed = self._read_dataclass(value, depth, path)
                if changed:
                    return plain, True
            return self._read_exception(value, depth, path)
        if isinstance(value, dict):  # orjson and the sanitizer read a dict's own storage
            pairs, changed = self._pairs(dict.items(value), depth, path)
            changed = changed or _overrides(cls, dict, _DICT_READERS)
            return (dict(pairs), True) if changed else (value, False)
        if isinstance(value, Mapping):  # written as dict(value): pass on the copy that was checked
            return dict(self._pairs(dict.items(dict(value)), depth, path)[0]), True
        names = getattr(cls, "_fields", None)
        if isinstance(value, tuple) and isinstance(names, tuple):  # a namedtuple: a list, but its fields have names
            pairs, changed = self._pairs(zip(names, value, strict=True), depth, path)
            return ([v for _, v in pairs], True) if changed else (value, False)
        if isinstance(value, (list, tuple, set, frozenset)):
            # a list's own storage (as orjson writes it); a set sorted when its items can be, as it is written
            items = (
                list.__iter__(value)
                if isinstance(value, list)
                else value
                if isinstance(value, tuple)
                else (_encode.default(value))
            )
            walked = [self._walk(v, depth, path) for v in items]
            if any(sub for _, sub in walked) or (isinstance(value, list) and _overrides(cls, list, _LIST_READERS)):
                return [v for v, _ in walked], True
            return value, False
        if isinstance(value, enum.Enum):  # written as its value
            inner, changed = self._walk(value.value, depth, path)
            return (inner, True) if changed else (value, False)
        if isinstance(value, type):
            return value, False  # a class is written as its repr
        if dataclasses.is_dataclass(value):
            return self._read_dataclass(value, depth, path)
        attributes = getattr(cls, "__attrs_attrs__", None)
        if attributes is not None:  # written as its repr: the fields it shows
            shown = [(a.name, getattr(value, a.name)) for a in attributes if a.repr]
            return self._masked_repr(value, cls.__qualname__.rsplit(">.", 1)[-1], shown, depth, path)
        if callable(getattr(cls, "__repr_args__", None)):  # pydantic v1 and v2: the fields its repr shows
            return self._masked_repr(value, cls.__name__, list(value.__repr_args__()), depth, path)
        if callable(getattr(cls, "model_dump", None)):  # pydantic-like
            return self._masked_repr(value, cls.__name__, list(dict(value.model_dump()).items()), depth, path)
        return value, False  # written as its repr (or a plain value such as a datetime): text, not fields

    def _pairs(self, pairs: Iterable[tuple[Any, Any]], depth: int, path: set[int]) -> tuple[list[Any], bool]:
        out: list[tuple[Any, Any]] = []
        changed = False
        for k, v in pairs:
            if self._sensitive(k):
                out.append((k, self.mask))
                changed = True
            else:
                new, sub = self._walk(v, depth, path)
                out.append((k, new))
                changed = changed or sub
        return out, changed

    def _read_dataclass(self, value: Any, depth: int, path: set[int]) -> tuple[Any, bool]:
        """A dataclass is written as an object: of its fields (the sanitizer), or of its ``__dict__``
        without ``_`` names (orjson); both are checked, and a plain dict of what was checked replaces it."""
        fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        try:
            stored = object.__getattribute__(value, "__dict__")
        except AttributeError:
            stored = {}
        extra = [
            (k, v)
            for k, v in dict.items(stored)
            if not isinstance(k, str) or (not k.startswith("_") and not (k in fields and fields[k] is v))
        ]
        pairs, changed = self._pairs(list(fields.items()) + extra, depth, path)
        if not changed:
            return value, False
        out: dict[Any, Any] = {}
        for k, v in pairs:
            out.setdefault(k, v)  # a field's checked value first, then attributes orjson also writes
        return out, True

    def _masked_repr(self, value: Any, name: str, shown: list[Any], depth: int, path: set[int]) -> tuple[Any, bool]:
        """An object written as its repr (attrs, pydantic), checked through the fields that repr shows; with a
        secret among them it becomes that repr's text with the secret masked."""
        pairs, changed = self._pairs([(k, v) for k, v in shown], depth, path)
        if not changed:
            return value, False
        args = ", ".join(_encode.safe_repr(v) if k is None else f"{k}={_encode.safe_repr(v)}" for k, v in pairs)
        return _MaskedRepr(f"{name}({args})"), True

    def _read_exception(self, exc: BaseException, depth: int, path: set[int]) -> tuple[Any, bool]:
        """An exception is written as its message and traceback, built from its arguments and chain. With a
        secret in the arguments of any exception shown, it becomes ``{"type", "message", "stack_trace"}`` with
        those messages rebuilt from the masked arguments (or masked whole)."""
        links, cut = _exc_chain(exc)
        if not cut and all(type(a) in _REDACT_ATOMS for e, _ in links for a in e.args):
            return exc, False  # the usual case: plain messages, nothing to look into
        walked = [self._walk(e.args, depth, path) for e, _ in links]
        if not cut and not any(sub for _, sub in walked):
            return exc, False
        messages = [self._exc_message(e, a if sub else None) for (e, _), (a, sub) in zip(links, walked, strict=True)]
        blocks = []
        for (e, sep), message, (args, sub) in zip(links, messages, walked, strict=True):
            frames = "".join(traceback.format_tb(e.__traceback__)) if e.__traceback__ is not None else ""
            head = "Traceback (most recent call last):\n" + frames if frames else ""
            block = head + _exc_type(e, ("builtins", "__main__"))
            block += f": {message}" if message else ""
            notes = getattr(e, "__notes__", None)  # text, written as it is
            block += "".join(f"\n{n}" for n in notes if isinstance(n, str)) if isinstance(notes, list) else ""
            if isinstance(e, _EXC_GROUPS):
                members = args[1] if sub and isinstance(args, list) and len(args) > 1 else e.args[1]
                for i, member in enumerate(members, 1):
                    block += f"\n  +---- {i} ----\n" + "\n".join(f"  | {line}" for line in self._trace(member))
            blocks.append(block + ("\n" + sep if sep else ""))
        if cut:
            blocks.append(f"[{self.mask}: chained exceptions beyond {_REDACT_MAX_DEPTH}]\n\n")
        return {"type": _exc_type(exc), "message": messages[0], "stack_trace": "".join(reversed(blocks))}, True

    def _trace(self, member: Any) -> list[str]:
        """The stack trace lines of an exception group's member, as the walk of the group's arguments left it."""
        trace = _encode.exception_dict(member) if isinstance(member, BaseException) else member
        return str(trace["stack_trace"] if isinstance(trace, dict) else self.mask).splitlines()

    def _exc_message(self, exc: BaseException, args: list[Any] | None) -> str:
        """The exception's message; from the masked arguments when ``args`` is given."""
        if args is None:
            try:
                return str(exc)
            except Exception:
                return _encode.safe_repr(exc)
        if isinstance(exc, _EXC_GROUPS):
            return str(exc)  # its own message and a count; the members are listed in the stack trace
        if type(exc).__str__ is BaseException.__str__:
            return "" if not args else str(args[0]) if len(args) == 1 else str(tuple(args))
        return self.mask  # its own __str__ could show the arguments in any form

    def __call__(self, event: Event) -> Event:
        try:
            fields = event[3]
            out: dict[Any, Any] | None = None if type(fields) is dict else dict(fields)
            path: set[int] = set()
            for key, value in (fields if out is None else out).items():
                try:
                    if self._sensitive(key):
                        new = self.mask
                    elif type(value) in _REDACT_ATOMS:
                        continue
                    else:
                        new, changed = self._walk(value, 1, path)
                        if not changed:
                            continue
                except (KeyboardInterrupt, SystemExit):
                    raise
                except BaseException:
                    new = self.mask
                if out is None:
                    out = dict(fields)
                out[key] = new
            return event if out is None else event.replace(fields=out)
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException:  # the last resort: every field masked
            try:
                return event.replace(fields=dict.fromkeys(event[3], self.mask))
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException:  # not even the keys can be read
                return event.replace(fields={"zlog_redacted": self.mask})
