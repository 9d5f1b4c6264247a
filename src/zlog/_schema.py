"""Run-time checking of a typed signal's fields (strict mode)."""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal, get_args, get_origin, get_type_hints

_UNRESOLVED = object()
#: The annotation of a field declared without one.
NO_ANNOTATION: Any = object()
#: Keyword arguments that ``emit`` treats specially and a schema never lists.
SPECIAL_KEYS = frozenset({"exc_info"})


class Field:
    """One declared field of a typed signal."""

    __slots__ = ("_hint", "_owner", "annotation", "name", "required")

    def __init__(self, name: str, required: bool, annotation: object, owner: Callable[..., Any] | None) -> None:
        self.name = name
        self.required = required
        self.annotation = annotation
        self._owner = owner
        self._hint: object = _UNRESOLVED

    @property
    def type(self) -> object:
        """The resolved annotation (``Any`` when it is missing or cannot be resolved)."""
        if self._hint is _UNRESOLVED:
            hint: object = Any
            if self._owner is not None:
                hint = _resolve(self._owner, self.name)
            elif self.annotation is not NO_ANNOTATION and self.annotation is not _empty():
                hint = self.annotation
            self._hint = hint
        return self._hint

    def __reduce__(self) -> tuple[Any, ...]:
        return (Field, (self.name, self.required, self.type, None))

    def __repr__(self) -> str:
        return f"Field({self.name!r}, required={self.required}, type={_type_name(self.type)})"


def check(signal_name: str, schema: Mapping[str, Field], fields: Mapping[str, object]) -> None:
    """Raise TypeError listing every missing, unknown or wrongly typed field."""
    problems: list[str] = []
    for name, spec in schema.items():
        if name not in fields:
            if spec.required:
                problems.append(f"missing field {name!r}")
        elif not matches(fields[name], spec.type):
            problems.append(f"field {name!r} expects {_type_name(spec.type)}, got {type(fields[name]).__name__}")
    unknown = [k for k in fields if k not in schema and k not in SPECIAL_KEYS]
    problems.extend(f"unknown field {k!r}" for k in unknown)
    if problems:
        raise TypeError(f"{signal_name}: " + "; ".join(problems))


def matches(value: object, hint: object) -> bool:
    """Whether ``value`` fits the annotation, as far as it can be checked at run time.

    Unions, Optional, Literal, Annotated and the numeric tower (int for float) are understood;
    for generic aliases such as ``list[str]`` only the container type is checked.
    """
    if hint is Any or hint is object:
        return True
    if hint is None or hint is type(None):
        return value is None
    origin = get_origin(hint)
    if origin is typing.Union or (hasattr(types, "UnionType") and origin is types.UnionType):
        return any(matches(value, arg) for arg in get_args(hint))
    if origin is Literal:
        return any(type(value) is type(arg) and _equal(value, arg) for arg in get_args(hint))
    if origin is Annotated:
        return matches(value, get_args(hint)[0])
    if hint is float:
        return isinstance(value, (int, float))
    if hint is complex:
        return isinstance(value, (int, float, complex))
    if isinstance(origin, type):
        return isinstance(value, origin)
    supertype = getattr(hint, "__supertype__", None)  # typing.NewType
    if supertype is not None:
        return matches(value, supertype)
    if isinstance(hint, type):
        try:
            return isinstance(value, hint)
        except TypeError:
            return True
    return True  # TypeVar, Protocol without runtime_checkable, strings that did not resolve: not checkable


def _resolve(owner: Callable[..., Any], name: str) -> object:
    """The annotation of ``name`` in ``owner``; ``Any`` if it cannot be resolved, without
    making the other fields unresolvable (a name defined in a function body, say)."""
    try:
        return get_type_hints(owner, include_extras=True).get(name, Any)
    except Exception:
        pass
    annotation = getattr(owner, "__annotations__", {}).get(name, Any)
    one = types.SimpleNamespace(__annotations__={name: annotation}, __globals__=getattr(owner, "__globals__", {}))
    try:
        return get_type_hints(one, include_extras=True).get(name, Any)
    except Exception:
        return Any


def _equal(value: object, literal: object) -> bool:
    try:
        return bool(value == literal)
    except Exception:  # a value whose comparison raises does not match
        return False


def _type_name(hint: object) -> str:
    if isinstance(hint, type):
        return hint.__name__
    return str(hint).replace("typing.", "")


def _empty() -> object:
    import inspect

    return inspect.Parameter.empty
