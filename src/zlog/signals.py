"""Signals: named kinds of events, optionally with a level and a typed field schema."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import FunctionType, MappingProxyType
from typing import TYPE_CHECKING, Any, Generic, overload

from zlog import _schema

if TYPE_CHECKING:  # typing_extensions only for type checkers: ParamSpec defaults are Python 3.13
    from typing_extensions import ParamSpec
else:
    from typing import ParamSpec

__all__ = [
    "DEBUG",
    "ERROR",
    "FATAL",
    "INFO",
    "LEVELS",
    "WARN",
    "ZLOG_EVENTS_DROPPED",
    "ZLOG_PROCESSOR_ERROR",
    "ZLOG_SINK_ERROR",
    "ZLOG_SINK_STATE",
    "Signal",
    "signal",
]

P = ParamSpec("P")
#: The class parameter defaults to ``...`` so ``Signal("NAME")`` is a signal that takes any fields.
if TYPE_CHECKING:
    _Fields = ParamSpec("_Fields", default=...)
else:
    _Fields = ParamSpec("_Fields")

#: The level names, lowest first.
LEVELS: tuple[str, ...] = ("debug", "info", "warn", "error", "fatal")
_LEVEL_ALIASES = {"warning": "warn", "critical": "fatal"}
_GLOB_CHARS = frozenset("*?[")


def normalize_level(level: str | None) -> str | None:
    """Return the canonical lowercase level name, or raise ValueError."""
    if level is None:
        return None
    if not isinstance(level, str):
        raise TypeError(f"level must be a str such as 'info', not {type(level).__name__}")
    name = level.lower()
    name = _LEVEL_ALIASES.get(name, name)
    if name not in LEVELS:
        raise ValueError(f"unknown level {level!r}; expected one of {', '.join(LEVELS)}")
    return name


class Signal(Generic[_Fields]):
    """A declared signal. Equal to, and hashed like, its name.

    ``Signal("NAME", level="info")`` declares a signal without a field schema; ``@zlog.signal``
    declares one whose fields are checked by type checkers and, in strict mode, at run time.
    """

    __slots__ = ("_fields", "_hash", "doc", "level", "name")

    name: str
    level: str | None
    doc: str | None

    def __init__(
        self,
        name: str,
        *,
        level: str | None = None,
        doc: str | None = None,
        fields: Mapping[str, _schema.Field] | None = None,
    ) -> None:
        if not isinstance(name, str) or not name or name != name.strip():
            raise ValueError(f"a signal name must be a non-empty str without surrounding spaces, got {name!r}")
        if _GLOB_CHARS.intersection(name):
            raise ValueError(f"signal name {name!r} contains a glob character (*, ? or [)")
        self.name = name
        self.level = normalize_level(level)
        self.doc = doc
        self._fields = None if fields is None else MappingProxyType(dict(fields))
        self._hash = hash(name)

    @property
    def fields(self) -> Mapping[str, _schema.Field] | None:
        """The declared fields by name, or None when the signal has no schema."""
        return self._fields

    def validate(self, fields: Mapping[str, object]) -> None:
        """Raise TypeError if ``fields`` do not match the schema (missing, unknown, wrong type)."""
        if self._fields is not None:
            _schema.check(self.name, self._fields, fields)

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Signal):
            return other.name == self.name
        if isinstance(other, str):
            return other == self.name
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        level = f", level={self.level!r}" if self.level else ""
        return f"Signal({self.name!r}{level})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (self.name, self.level, self.doc, None if self._fields is None else dict(self._fields)))


def _rebuild(name: str, level: str | None, doc: str | None, fields: dict[str, _schema.Field] | None) -> Signal[...]:
    return Signal(name, level=level, doc=doc, fields=fields)


def _declare(func: Callable[P, None], name: str | None, level: str | None) -> Signal[P]:
    sig_name = name if name is not None else getattr(func, "__name__", None)
    if not isinstance(sig_name, str):
        raise TypeError("@zlog.signal needs a function (or an explicit name=)")
    parameters = _parameters(func) if isinstance(func, FunctionType) else _parameters_of_any(func)
    bad = [name for name, kind, _ in parameters if kind != "keyword"]
    if bad:
        raise TypeError(
            f"signal {sig_name}: every field must be keyword-only (write `def {sig_name}(*, ...)`); "
            f"not keyword-only: {', '.join(bad)}"
        )
    annotations = getattr(func, "__annotations__", None) or {}
    fields = {
        p: _schema.Field(p, required, annotations.get(p, _schema.NO_ANNOTATION), func) for p, _, required in parameters
    }
    return Signal(sig_name, level=level, doc=_cleandoc(getattr(func, "__doc__", None)), fields=fields)


def _parameters(func: FunctionType) -> list[tuple[str, str, bool]]:
    """``(name, "keyword" | "positional" | "variadic", required)`` of a plain function, read from its code
    object (``inspect`` is not needed, so declaring signals at import stays cheap)."""
    code = func.__code__
    names = code.co_varnames
    positional, keyword = code.co_argcount, code.co_kwonlyargcount
    defaults = func.__kwdefaults__ or {}
    out = [(n, "positional", True) for n in names[:positional]]
    out += [(n, "keyword", n not in defaults) for n in names[positional : positional + keyword]]
    index = positional + keyword
    for flag in (0x04, 0x08):  # CO_VARARGS, CO_VARKEYWORDS
        if code.co_flags & flag:
            out.append((names[index], "variadic", False))
            index += 1
    return out


def _parameters_of_any(func: Callable[..., None]) -> list[tuple[str, str, bool]]:
    import inspect

    try:
        parameters = inspect.signature(func).parameters
    except (TypeError, ValueError) as exc:
        raise TypeError(f"@zlog.signal cannot read the parameters of {func!r}: {exc}") from None
    return [
        (
            p.name,
            "keyword" if p.kind is inspect.Parameter.KEYWORD_ONLY else "positional",
            p.default is inspect.Parameter.empty,
        )
        for p in parameters.values()
    ]


def _cleandoc(doc: object) -> str | None:
    """A docstring without its indentation, as ``inspect.cleandoc`` gives it."""
    if not isinstance(doc, str):
        return None
    lines = doc.expandtabs().split("\n")
    indents = [len(line) - len(line.lstrip()) for line in lines[1:] if line.strip()]
    margin = min(indents, default=0)
    lines = [lines[0].lstrip(), *(line[margin:] for line in lines[1:])]
    while lines and not lines[-1].strip():
        lines.pop()
    while lines and not lines[0].strip():
        lines.pop(0)
    return "\n".join(lines)


@overload
def signal(func: Callable[P, None], /) -> Signal[P]: ...
@overload
def signal(
    func: None = None, /, *, name: str | None = None, level: str | None = None
) -> Callable[[Callable[P, None]], Signal[P]]: ...
def signal(
    func: Callable[P, None] | None = None, /, *, name: str | None = None, level: str | None = None
) -> Signal[P] | Callable[[Callable[P, None]], Signal[P]]:
    """Declare a typed signal from a keyword-only function stub.

    The stub's parameters are the fields; its docstring documents the signal::

        @zlog.signal(level="info")
        def JOB_QUEUED(*, job_id: str, job_type: str, priority: int = 0) -> None:
            \"\"\"Job added to the queue.\"\"\"
    """
    normalize_level(level)  # fail at the decorator line, not later
    if func is not None:
        return _declare(func, name, level)

    def decorate(f: Callable[P, None]) -> Signal[P]:
        return _declare(f, name, level)

    return decorate


DEBUG: Signal[...] = Signal("DEBUG", level="debug", doc="Diagnostic detail.")
INFO: Signal[...] = Signal("INFO", level="info", doc="Something normal happened.")
WARN: Signal[...] = Signal("WARN", level="warn", doc="Something unexpected that was handled.")
ERROR: Signal[...] = Signal("ERROR", level="error", doc="An operation failed.")
FATAL: Signal[...] = Signal("FATAL", level="fatal", doc="The process cannot go on as it should.")


@signal(level="error")
def ZLOG_SINK_ERROR(*, sink: str, error: BaseException, errors: int, suppressed: int, failed_signal: str) -> None:
    """A sink raised. Reported at most once per interval per sink; ``suppressed`` counts the rest."""


@signal(level="error")
def ZLOG_PROCESSOR_ERROR(
    *, processor: str, error: BaseException, errors: int, suppressed: int, failed_signal: str
) -> None:
    """A processor raised; the event went on without that processor's change."""


@signal(level="warn")
def ZLOG_EVENTS_DROPPED(*, sink: str, dropped: int, total_dropped: int, policy: str, reason: str) -> None:
    """A sink dropped events (a full queue, a rate limit, a server unreachable at close or exit).

    ``dropped`` counts the events since the last report, ``total_dropped`` all of them; at most one
    report per sink per interval, and the rest reported with the next one or at close."""


@signal(level="warn")
def ZLOG_SINK_STATE(*, sink: str, state: str, previous: str, reason: str) -> None:
    """A resilience wrapper changed state (circuit open/half-open/closed, fallback engaged, slow calls)."""
