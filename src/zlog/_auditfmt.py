"""The audit record format shared by ``AuditSink`` (writing) and ``zlog.audit`` (verifying).

A record is one JSON line whose last two keys are ``prev`` and ``hash``::

    {"seq":0,"time":"...","signal":"...","message":"...","fields":{...},"prev":"<64 hex>","hash":"<64 hex>"}

``prev`` is the SHA-256 (or HMAC-SHA-256) of the previous record's line, without its newline; the
first record of a chain has 64 zeros. ``hash`` is the digest of the line up to and excluding
``,"hash":``, so a change anywhere in a record, including the last one, is detected. Rotation renames
the live file to the next segment, ``PATH.00001``, ``PATH.00002``, ... (oldest first).
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Callable
from typing import Any

GENESIS = "0" * 64
HASH_KEY = b',"hash":"'
_TAIL_LEN = len(HASH_KEY) + 64 + 2  # ,"hash":"<64 hex>"}
SEGMENT_SIGNAL = "ZLOG_AUDIT_SEGMENT"
RECOVERED_SIGNAL = "ZLOG_AUDIT_RECOVERED"

Digest = Callable[[bytes], str]


def _sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _raw_key(key: bytes | str) -> bytes:
    raw = key.encode("utf-8") if isinstance(key, str) else bytes(key)
    if not raw:
        raise ValueError("an HMAC key must not be empty")
    return raw


def digest_function(key: bytes | str | None) -> Digest:
    """SHA-256 hex digests, keyed (HMAC) when ``key`` is given."""
    if key is None:
        return _sha256_hex
    raw = _raw_key(key)
    return lambda data: hmac.new(raw, data, hashlib.sha256).hexdigest()


Sealer = Callable[[bytes], tuple[bytes, str]]


def sealer(key: bytes | str | None) -> Sealer:
    """A function sealing a JSON line (``body`` ends with ``}`` and a newline).

    It returns the sealed line (with its newline) and the digest of that line without the newline,
    which is the next record's ``prev``. Both digests come from one hash object: the record's own
    ``hash`` is read part-way, then the rest of the line is fed in (half the hashing of two passes).
    """
    new: Callable[..., Any] = hashlib.sha256
    if key is not None:
        copy = hmac.new(_raw_key(key), digestmod=hashlib.sha256).copy

        def keyed(data: bytes) -> Any:
            h = copy()
            h.update(data)
            return h

        new = keyed

    def seal_line(body: bytes) -> tuple[bytes, str]:
        head = body[:-2] + HASH_KEY
        h = new(head)
        tail = h.hexdigest().encode() + b'"}'
        h.update(tail)
        return head + tail + b"\n", h.hexdigest()

    return seal_line


def split_seal(line: bytes) -> tuple[bytes, str] | None:
    """``(hashed part, stored hash)`` or None when the line does not end with a hash key."""
    if len(line) < _TAIL_LEN or not line.endswith(b'"}'):
        return None
    head = line[: -(64 + 2)]
    if not head.endswith(HASH_KEY):
        return None
    return head, line[-(64 + 2) : -2].decode("ascii", "replace")


def segment_name(path: str, number: int) -> str:
    """``audit.log.00003`` for rotation number 3 of ``audit.log``."""
    return f"{path}.{number:05d}"


def segment_numbers(path: str) -> list[int]:
    """The numbers of the rotated segments of ``path`` that exist, oldest first ([] when its folder does not)."""
    folder = os.path.dirname(os.path.abspath(path))
    base = os.path.basename(path)
    try:
        entries = os.listdir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return []
    numbers = []
    for entry in entries:
        suffix = entry[len(base) + 1 :]
        if entry.startswith(base + ".") and suffix.isdecimal() and entry == segment_name(base, int(suffix)):
            numbers.append(int(suffix))
    return sorted(numbers)
