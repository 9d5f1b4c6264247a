"""The event filters of ``zlog tail``: signal globs, field conditions and a time range."""

from __future__ import annotations

import fnmatch
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from zlog._pretty import json_text
from zlog.cli._read import InputError, Record, parse_time

__all__ = ["Condition", "Query", "parse_condition", "parse_when"]

_CONDITION = re.compile(r"^(?P<key>[^<>=]+?)\s*(?P<op>=|>|<)\s*(?P<value>.*)$")
_AGO = re.compile(
    r"^\s*(?P<n>\d+(?:\.\d+)?)\s*(?P<unit>s|sec|secs|second|seconds|m|min|mins|minute|minutes|"
    r"h|hour|hours|d|day|days)\s+ago\s*$",
    re.IGNORECASE,
)
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True, slots=True)
class Condition:
    """``KEY=VALUE`` (text comparison), ``KEY>N`` or ``KEY<N`` (numeric) on a field or a core key."""

    key: str
    op: str
    value: str
    number: float | None = None

    def test(self, record: Record) -> bool:
        if self.key in ("signal", "level", "message", "time") and self.key not in record.fields:
            found: Any = getattr(record, self.key)
        elif self.key in record.fields:
            found = record.fields[self.key]
        else:
            return False
        if self.op == "=":
            return _text(found) == self.value
        if isinstance(found, bool) or not isinstance(found, (int, float)):
            try:
                found = float(found) if isinstance(found, str) else None
            except ValueError:
                return False
            if found is None:
                return False
        assert self.number is not None
        return bool(found > self.number) if self.op == ">" else bool(found < self.number)


def _text(value: Any) -> str:
    """What ``KEY=VALUE`` compares: a string as it is, anything else as its JSON text (``true``, ``null``)."""
    return value if isinstance(value, str) else json_text(value)


def parse_condition(text: str) -> Condition:
    """A ``--where`` condition; InputError when it is not ``KEY=VALUE``, ``KEY>N`` or ``KEY<N``."""
    match = _CONDITION.match(text)
    if match is None or not match.group("key").strip():
        raise InputError(f"--where {text!r}: expected KEY=VALUE, KEY>NUMBER or KEY<NUMBER")
    key, op, value = match.group("key").strip(), match.group("op"), match.group("value")
    number = None
    if op != "=":
        try:
            number = float(value)
        except ValueError:
            raise InputError(f"--where {text!r}: {op} needs a number, got {value!r}") from None
    return Condition(key, op, value, number)


def parse_when(text: str, option: str, now: float | None = None) -> float:
    """POSIX seconds of ``--since``/``--until``: RFC 3339, ``now``, or ``N minutes ago``."""
    now = time.time() if now is None else now
    if text.strip().lower() == "now":
        return now
    match = _AGO.match(text)
    if match is not None:
        return now - float(match.group("n")) * _UNIT[match.group("unit")[0].lower()]
    when = parse_time(text.strip())
    if when is None:
        raise InputError(f"{option} {text!r}: expected RFC 3339 (2026-11-22T14:30:00Z), 'now' or '10 minutes ago'")
    return when


@dataclass
class Query:
    """Everything an event must match (all given options; any of several ``--signal`` patterns)."""

    signals: Sequence[str] = ()
    conditions: Sequence[Condition] = ()
    since: float | None = None
    until: float | None = None
    _compiled: list[re.Pattern[str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._compiled = [re.compile(fnmatch.translate(p)) for p in self.signals]

    @property
    def filters(self) -> bool:
        return bool(self.signals or self.conditions or self.since is not None or self.until is not None)

    def literal_signal(self) -> bytes | None:
        """The one exact signal asked for, as the bytes a native line holds (a cheap pre-check)."""
        if len(self.signals) != 1:
            return None
        name = self.signals[0]
        # only names JSON writes byte for byte: no glob, no quote, backslash, control or non-ASCII character
        if any(c in name for c in '*?["\\') or not all(" " <= c <= "~" for c in name):
            return None
        return b'"' + name.encode() + b'"'

    @property
    def signal_only(self) -> bool:
        """Whether the query looks at the signal name and nothing else."""
        return bool(self.signals) and not self.conditions and self.since is None and self.until is None

    def signal_matches(self, name: str) -> bool:
        return not self._compiled or any(p.match(name) for p in self._compiled)

    def matches(self, record: Record) -> bool:
        if not self.signal_matches(record.signal):
            return False
        if self.since is not None or self.until is not None:
            when = record.timestamp()
            if when is None:
                return False
            if self.since is not None and when < self.since:
                return False
            if self.until is not None and when > self.until:
                return False
        return all(c.test(record) for c in self.conditions)
