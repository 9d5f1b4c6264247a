"""Shortening a JSON line that is longer than a sink's ``max_line_bytes``, keeping it valid JSON."""

from __future__ import annotations

from typing import Any

import orjson

MARK_KEY = "zlog_truncated"
SUFFIX = "...[truncated]"
_KEEP = frozenset({"time", "level", "signal", MARK_KEY})
_MIN_STR_BYTES = 32
MIN_LIMIT = 512  # room for the core keys, a short message and the marker


def fit(line: bytes, limit: int) -> bytes:
    """Shorten the largest strings first, then drop the largest fields, until the line fits.

    The result has a ``zlog_truncated`` object: ``original_bytes``, the ``truncated`` string paths and
    the ``dropped`` field names.
    """
    obj: dict[str, Any] = orjson.loads(line)
    truncated: list[str] = []
    dropped: list[str] = []
    obj[MARK_KEY] = {"original_bytes": len(line), "truncated": truncated, "dropped": dropped}
    for _ in range(64):  # phase 1: the largest strings
        out = orjson.dumps(obj, option=orjson.OPT_APPEND_NEWLINE)
        excess = len(out) - limit
        if excess <= 0:
            return out
        leaves = _strings(obj, "")
        if not leaves:
            break
        size, path, container, key = max(leaves, key=lambda leaf: leaf[0])
        if size <= _MIN_STR_BYTES + len(SUFFIX):
            break
        keep = max(_MIN_STR_BYTES, size - excess - len(SUFFIX) - 8)
        text: str = container[key]
        container[key] = text.encode("utf-8")[:keep].decode("utf-8", "ignore") + SUFFIX
        if path not in truncated:
            truncated.append(path)
    droppable = sorted(
        (k for k in obj if k not in _KEEP and k != "message"), key=lambda k: len(orjson.dumps(obj[k]))
    )
    while droppable:  # phase 2: whole fields, largest first
        out = orjson.dumps(obj, option=orjson.OPT_APPEND_NEWLINE)
        if len(out) <= limit:
            return out
        key = droppable.pop()
        del obj[key]
        dropped.append(key)
    out = orjson.dumps(obj, option=orjson.OPT_APPEND_NEWLINE)
    if len(out) <= limit:
        return out
    message = str(obj.get("message", ""))  # phase 3: only the core keys are left
    obj["message"] = message.encode("utf-8")[: limit // 4].decode("utf-8", "ignore") + SUFFIX
    if "message" not in truncated:
        truncated.append("message")
    return orjson.dumps(obj, option=orjson.OPT_APPEND_NEWLINE)


def _strings(node: Any, path: str) -> list[tuple[int, str, Any, Any]]:
    found: list[tuple[int, str, Any, Any]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if not path and key in _KEEP:
                continue
            sub = f"{path}.{key}" if path else str(key)
            if isinstance(value, str):
                found.append((len(orjson.dumps(value)), sub, node, key))
            elif isinstance(value, (dict, list)):
                found.extend(_strings(value, sub))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            sub = f"{path}[{i}]"
            if isinstance(value, str):
                found.append((len(orjson.dumps(value)), sub, node, i))
            elif isinstance(value, (dict, list)):
                found.extend(_strings(value, sub))
    return found
