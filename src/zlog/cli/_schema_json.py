"""JSON Schema (draft 2020-12) of the lines zlog writes for typed signals, for shipper-side validation.

``document(signals)`` is ``{"$schema": DIALECT, "$defs": {NAME: schema_for(signal), ...},
"oneOf": [{"$ref": "#/$defs/NAME"}, ...]}``; docs/cli/signals.md describes each signal's schema."""

from __future__ import annotations

import copy
import dataclasses
import datetime
import enum
import inspect
import types
import typing
import uuid
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import PurePath
from typing import Any, Literal, get_args, get_origin

import orjson

from zlog import _encode
from zlog._encode import FIELD_PREFIX, RESERVED
from zlog._schema import Field
from zlog.signals import Signal

__all__ = ["DIALECT", "default_of", "document", "has_default", "json_default", "json_type", "schema_for", "type_name"]

DIALECT = "https://json-schema.org/draft/2020-12/schema"
_EXCEPTION = {
    "type": "object",
    "required": ["type", "message", "stack_trace"],
    "properties": {"type": {"type": "string"}, "message": {"type": "string"}, "stack_trace": {"type": "string"}},
}
NO_DEFAULT = object()


def json_type(hint: object) -> dict[str, Any]:
    """The JSON Schema of a value annotated ``hint``, as zlog writes it ({} when anything goes)."""
    if hint is Any or hint is object:
        return {}
    if hint is None or hint is type(None):
        return {"type": "null"}
    origin = get_origin(hint)
    args = get_args(hint)
    if origin is typing.Union or origin is types.UnionType:
        options = [json_type(arg) for arg in args]
        return {} if any(o == {} for o in options) else {"anyOf": options}
    if origin is Literal:
        return {"enum": [a.value if isinstance(a, enum.Enum) else a for a in args]}
    if origin is typing.Annotated:
        return json_type(args[0])
    supertype = getattr(hint, "__supertype__", None)  # typing.NewType
    if supertype is not None:
        return json_type(supertype)
    target = origin if isinstance(origin, type) else hint
    if not isinstance(target, type):
        return {}
    if issubclass(target, enum.Enum):  # written as its value
        return {"enum": [member.value for member in target]}
    if issubclass(target, bool):
        return {"type": "boolean"}
    if issubclass(target, int):
        return {"type": "integer"}
    if issubclass(target, float):  # NaN and the infinities are written as null
        return {"type": ["number", "null"]}
    if issubclass(target, datetime.datetime):
        return {"type": "string", "format": "date-time"}
    if issubclass(target, datetime.timedelta):
        return {"type": "number"}
    if issubclass(target, datetime.date):
        return {"type": "string", "format": "date"}
    if issubclass(target, (str, bytes, bytearray, uuid.UUID, PurePath, Decimal, datetime.time)):
        return {"type": "string"}
    if issubclass(target, BaseException):
        return copy.deepcopy(_EXCEPTION)
    if issubclass(target, Mapping) or dataclasses.is_dataclass(target):
        values = json_type(args[1]) if len(args) == 2 else {}
        return {"type": "object", "additionalProperties": values} if values else {"type": "object"}
    if issubclass(target, (Sequence, set, frozenset)):
        items = json_type(args[0]) if len(args) == 1 or (len(args) == 2 and args[1] is Ellipsis) else {}
        return {"type": "array", "items": items} if items else {"type": "array"}
    return {}


def default_of(spec: Field) -> object:
    """The default value of an optional field (``NO_DEFAULT`` when it cannot be found)."""
    owner = getattr(spec, "_owner", None)  # the @zlog.signal stub the field was read from
    try:
        parameter = inspect.signature(owner).parameters[spec.name] if owner is not None else None
    except (TypeError, ValueError, KeyError):
        return NO_DEFAULT
    if parameter is None or parameter.default is inspect.Parameter.empty:
        return NO_DEFAULT
    return parameter.default


def has_default(spec: Field) -> bool:
    return not spec.required and default_of(spec) is not NO_DEFAULT


def json_default(spec: Field) -> object:
    """The default as JSON (the way zlog would write it), or ``NO_DEFAULT``."""
    value = default_of(spec)
    if value is NO_DEFAULT:
        return value
    try:
        return orjson.loads(_encode.dumps({"v": value}))["v"]
    except Exception:
        return NO_DEFAULT


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
        default = json_default(spec) if not spec.required else NO_DEFAULT
        if default is not NO_DEFAULT:
            properties[key] = {**properties[key], "default": default}
        if spec.required:
            required.append(key)
    schema: dict[str, Any] = {"type": "object", "properties": properties, "required": required}
    if sig.doc:
        schema["description"] = sig.doc
    return schema


def document(signals: Sequence[Signal[...]]) -> dict[str, Any]:
    """One schema accepting a line of any of ``signals``; each signal's schema is under ``$defs``."""
    doc: dict[str, Any] = {"$schema": DIALECT, "$defs": {sig.name: schema_for(sig) for sig in signals}}
    if signals:
        doc["oneOf"] = [{"$ref": f"#/$defs/{sig.name}"} for sig in signals]
    else:  # an empty oneOf is not valid JSON Schema; no signal, no valid line
        doc["not"] = {}
    return doc
