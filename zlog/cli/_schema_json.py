"""JSON Schema (draft 2020-12) of the line zlog writes for a typed signal, for shipper-side validation."""

from __future__ import annotations

import datetime
import enum
import types
import typing
import uuid
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import PurePath
from typing import Any, Literal, get_args, get_origin

from zlog._encode import FIELD_PREFIX, RESERVED
from zlog.signals import Signal

__all__ = ["DIALECT", "document", "schema_for", "type_name"]

DIALECT = "https://json-schema.org/draft/2020-12/schema"
_EXCEPTION = {"type": "object", "properties": {"type": {"type": "string"}, "message": {"type": "string"},
                                               "stack_trace": {"type": "string"}}}


def json_type(hint: object) -> dict[str, Any]:
    """The JSON Schema of a value annotated ``hint``, as zlog writes it ({} when anything goes)."""
    if hint is Any or hint is object:
        return {}
    if hint is None or hint is type(None):
        return {"type": "null"}
    origin = get_origin(hint)
    if origin is typing.Union or origin is types.UnionType:
        options = [json_type(arg) for arg in get_args(hint)]
        return {} if any(o == {} for o in options) else {"anyOf": options}
    if origin is Literal:
        return {"enum": [a.value if isinstance(a, enum.Enum) else a for a in get_args(hint)]}
    if origin is typing.Annotated:
        return json_type(get_args(hint)[0])
    target = origin if isinstance(origin, type) else hint
    if not isinstance(target, type):
        return {}
    if issubclass(target, bool):
        return {"type": "boolean"}
    if issubclass(target, int):
        return {"type": "integer"}
    if issubclass(target, float):
        return {"type": "number"}
    if issubclass(target, datetime.datetime):
        return {"type": "string", "format": "date-time"}
    if issubclass(target, datetime.timedelta):
        return {"type": "number"}
    if issubclass(target, (str, uuid.UUID, PurePath, Decimal, datetime.date, datetime.time)):
        return {"type": "string"}
    if issubclass(target, BaseException):
        return dict(_EXCEPTION)
    if issubclass(target, (Mapping, dict)):
        return {"type": "object"}
    if issubclass(target, (list, tuple, set, frozenset, Sequence)) and not issubclass(target, (str, bytes)):
        return {"type": "array"}
    return {}


def type_name(hint: object) -> str:
    """A short readable name for an annotation."""
    if isinstance(hint, type):
        return hint.__name__
    return str(hint).replace("typing.", "")


def schema_for(sig: Signal[...]) -> dict[str, Any]:
    """The schema of a native zlog line for ``sig`` (see docs/format.md for the keys)."""
    properties: dict[str, Any] = {
        "time": {"type": "string", "format": "date-time"},
    }
    required = ["time", "signal", "message"]
    if sig.level is not None:
        properties["level"] = {"const": sig.level}
        required.insert(1, "level")
    properties["signal"] = {"const": sig.name}
    properties["message"] = {"type": "string"}
    for name, spec in (sig.fields or {}).items():
        key = FIELD_PREFIX + name if name in RESERVED else name
        properties[key] = json_type(spec.type)
        if spec.required:
            required.append(key)
    schema: dict[str, Any] = {"type": "object", "properties": properties, "required": required}
    if sig.doc:
        schema["description"] = sig.doc
    return schema


def document(signals: Sequence[Signal[...]]) -> dict[str, Any]:
    """One schema accepting a line of any of ``signals``; each signal's schema is under ``$defs``."""
    return {
        "$schema": DIALECT,
        "$defs": {sig.name: schema_for(sig) for sig in signals},
        "oneOf": [{"$ref": f"#/$defs/{sig.name}"} for sig in signals],
    }
