"""Verifying audit logs written by ``zlog.AuditSink`` (also ``zlog audit verify PATH``)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import orjson

from zlog import _auditfmt

__all__ = ["VerifyResult", "verify"]


@dataclass
class VerifyResult:
    """The outcome of :func:`verify`. ``ok`` is False at the first bad record.

    ``live_missing``: ``path`` itself does not exist, only its rotated segments (as after a crash during
    rotation); ``torn_tail_bytes``/``torn_tail_file``: the partial line that ends the chain, if any.
    """

    path: str
    ok: bool = True
    records: int = 0
    files: list[str] = field(default_factory=list)
    bad_seq: int | None = None
    bad_file: str | None = None
    bad_line: int | None = None
    reason: str = ""
    torn_tail_bytes: int = 0
    torn_tail_file: str | None = None
    live_missing: bool = False

    def summary(self) -> str:
        if not self.ok:
            where = f"{self.bad_file}:{self.bad_line}"
            return f"{self.path}: TAMPERED at seq {self.bad_seq} ({where}): {self.reason}"
        text = f"{self.path}: intact, {self.records} records in {len(self.files)} file(s)"
        if self.torn_tail_bytes:
            text += f"; torn tail of {self.torn_tail_bytes} bytes after the last record"
            if self.torn_tail_file != self.path:
                text += f" (in {self.torn_tail_file})"
        if self.live_missing:
            text += (
                f"; {self.path} is missing, as after a crash during rotation (renamed to {self.files[-1]}, the new"
                " file not yet created): every record is in the segments; reopening the log continues the chain"
            )
        return text


def verify(path: str | os.PathLike[str], *, key: bytes | str | None = None) -> VerifyResult:
    """Verify the chain of ``path`` and its rotated segments (``PATH.00001``, ...), oldest first.

    Checks that every line parses, sequence numbers are contiguous from 0, each record's ``hash`` matches
    its content and each ``prev`` matches the previous line. A partial last line (a write cut short by a
    crash) at the end of the chain, in the newest file that is not empty, is reported as a torn tail and
    does not fail the verification; neither does a missing ``path`` when its segments exist (a crash
    between rotation's rename and create). ``FileNotFoundError`` when there is neither.
    """
    live = os.fspath(path)
    result = VerifyResult(live)
    files = [_auditfmt.segment_name(live, n) for n in _auditfmt.segment_numbers(live)]
    if os.path.exists(live):
        files.append(live)
    elif files:
        result.live_missing = True
    else:
        raise FileNotFoundError(f"no audit log at {live}")
    sizes = [os.path.getsize(name) for name in files]
    chain_end = max((i for i, size in enumerate(sizes) if size), default=0)  # the files after it are empty
    digest = _auditfmt.digest_function(key)
    expected_seq = 0
    prev_hash = _auditfmt.GENESIS
    for index, name in enumerate(files):
        result.files.append(name)
        with open(name, "rb") as fh:
            data = fh.read()
        lines = data.split(b"\n")
        tail = lines.pop()  # empty when the file ends with a newline
        for number, line in enumerate(lines, 1):
            reason = _check(line, expected_seq, prev_hash, digest)
            if reason:
                return _bad(result, expected_seq, name, number, reason)
            prev_hash = digest(line)
            expected_seq += 1
            result.records += 1
        if tail:
            if index < chain_end:
                reason = "a rotated segment ends in a partial record without a newline, and the chain goes on after it"
                return _bad(result, expected_seq, name, len(lines) + 1, reason)
            result.torn_tail_bytes = len(tail)
            result.torn_tail_file = name
    return result


def _check(line: bytes, expected_seq: int, prev_hash: str, digest: _auditfmt.Digest) -> str:
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        return "not a JSON record (edited, or lines were joined)"
    if not isinstance(obj, dict):
        return "not a JSON object"
    seq = obj.get("seq")
    if seq != expected_seq:
        if isinstance(seq, int) and seq > expected_seq:
            return f"sequence jumps from {expected_seq - 1} to {seq}: records were deleted or moved"
        return f"sequence number {seq!r} where {expected_seq} was expected: records were inserted or reordered"
    sealed = _auditfmt.split_seal(line)
    if sealed is None:
        return "the record has no hash"
    head, stored = sealed
    if digest(head) != stored:
        return "the record's content does not match its hash (edited, or the wrong key)"
    if obj.get("prev") != prev_hash:
        return "prev does not match the previous record (a record before it was changed, removed or moved)"
    return ""


def _bad(result: VerifyResult, seq: int, name: str, line: int, reason: str) -> VerifyResult:
    result.ok = False
    result.bad_seq = seq
    result.bad_file = name
    result.bad_line = line
    result.reason = reason
    return result
