"""The context a job carries across the broker: what the enqueuing code bound, JSON-safe and bounded.

``outgoing()`` packs the current bound fields (``zlog.bind``) and the job's lineage for a message;
``incoming(carried)`` unpacks them in the worker, to be bound for the job's run. A field whose value is
not JSON is carried as zlog writes it (its JSON form); fields that do not fit in ``MAX_BYTES`` are left
out and named in ``"left_out"``, the others still travel, and nothing here ever raises into publishing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from zlog import _encode
from zlog.context import bound

__all__ = ["IDENTITY", "MAX_BYTES", "incoming", "outgoing"]

#: The most bytes of JSON the carried fields may take in a message's headers or metadata.
MAX_BYTES = 4096
#: Fields that describe one job: never carried into another (its own values are bound there), except
#: that the current ``job_id`` becomes the next job's ``parent_job_id``.
IDENTITY = frozenset(
    {"job_id", "job_type", "queue", "worker_id", "attempt", "max_attempts", "parent_job_id", "root_job_id"}
)


def _json_safe(value: Any) -> Any:
    """``value`` if it is plain JSON, else its JSON form as zlog writes it (never raises)."""
    try:
        orjson.dumps(value)
        return value
    except Exception:
        pass
    try:
        return orjson.loads(_encode.dumps({"v": value}))["v"]
    except Exception:
        return f"<unserializable {type(value).__qualname__}>"


def outgoing(max_bytes: int = MAX_BYTES) -> dict[str, Any]:
    """What a job enqueued now carries: ``{"context": {...}, "parent_job_id", "root_job_id", "left_out"}``
    (the keys without a value are absent)."""
    current = bound()
    carried: dict[str, Any] = {}
    left_out: list[str] = []
    size = 2
    for key, value in current.items():
        if key in IDENTITY:
            continue
        safe = _json_safe(value)
        try:
            cost = len(orjson.dumps({key: safe})) - 1
        except Exception:
            left_out.append(key)
            continue
        if size + cost > max_bytes:
            left_out.append(key)
            continue
        carried[key] = safe
        size += cost
    out: dict[str, Any] = {"context": carried}
    parent = current.get("job_id")
    if isinstance(parent, str):
        out["parent_job_id"] = parent
        root = current.get("root_job_id")
        out["root_job_id"] = root if isinstance(root, str) else parent
    if left_out:
        out["left_out"] = left_out
    return out


def incoming(carried: object) -> tuple[dict[str, Any], dict[str, str]]:
    """The bound fields and the lineage (``parent_job_id``, ``root_job_id``) that a message carried;
    empty for a message without them or with something else there."""
    if not isinstance(carried, Mapping):
        return {}, {}
    context = carried.get("context")
    fields = {str(k): v for k, v in context.items() if str(k) not in IDENTITY} if isinstance(context, Mapping) else {}
    lineage = {k: carried[k] for k in ("parent_job_id", "root_job_id") if isinstance(carried.get(k), str)}
    return fields, lineage
