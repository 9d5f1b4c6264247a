"""``zlog.jobs``: the job-system vocabulary, one meaning per field, and lines that fit its published schema."""

from __future__ import annotations

import io
import json
from datetime import datetime, timezone
from typing import Any

import pytest
from json_helpers import valid

import zlog
from zlog import jobs
from zlog.cli import main

ERROR = TimeoutError("the SMTP server did not answer")
#: One valid value for every field name of the vocabulary.
VALUES: dict[str, Any] = {
    "job_id": "j-1",
    "job_type": "send_email",
    "queue": "mail",
    "worker_id": "worker-1@host",
    "attempt": 2,
    "max_attempts": 3,
    "duration_seconds": 0.25,
    "wait_seconds": 1.5,
    "error": ERROR,
    "retry_in_seconds": 4.0,
    "parent_job_id": "j-0",
    "root_job_id": "j-0",
    "active_jobs": 3,
    "concurrency_limit": 8,
    "run_at": datetime(2026, 12, 2, 9, 30, tzinfo=timezone.utc),
    "scheduled_for": datetime(2026, 12, 2, 9, 0, tzinfo=timezone.utc),
    "schedule": "nightly-report",
    "reason": "revoked by an operator",
    "queue_size": 1200,
    "oldest_wait_seconds": 42.0,
}
SIGNALS = [getattr(jobs, name) for name in jobs.__all__]


def test_the_vocabulary_keeps_the_names_job_code_already_uses() -> None:
    assert set(jobs.__all__) == {
        *("JOB_QUEUED", "JOB_STARTED", "JOB_COMPLETED", "JOB_FAILED", "JOB_RETRYING", "JOB_ABANDONED"),
        *("JOB_REVOKED", "JOB_SCHEDULED", "SCHEDULE_TRIGGERED"),
        *("WORKER_STARTED", "WORKER_STOPPED", "WORKER_IDLE", "WORKER_BUSY", "WORKER_HEARTBEAT", "WORKER_ERROR"),
        "QUEUE_BACKLOG",
    }
    assert all(isinstance(s, zlog.Signal) and s.name == name for s, name in zip(SIGNALS, jobs.__all__, strict=True))


def _listed(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    assert main(["signals", "zlog.jobs", "--json"]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_a_field_name_has_one_type_on_every_signal(capsys: pytest.CaptureFixture[str]) -> None:
    seen: dict[str, set[str]] = {}
    for listed in _listed(capsys):
        for field in listed["fields"]:
            seen.setdefault(field["name"], set()).add(field["type"].removesuffix(" | None"))
    assert {name: types for name, types in seen.items() if len(types) > 1} == {}
    assert set(seen) == set(VALUES)  # every field of the vocabulary has a value in this test


def test_only_the_identity_of_a_job_is_required_besides_what_the_signal_is_about() -> None:
    assert jobs.JOB_STARTED.fields is not None and jobs.JOB_FAILED.fields is not None
    assert {n for n, f in jobs.JOB_STARTED.fields.items() if f.required} == {"job_id", "job_type", "attempt"}
    assert {n for n, f in jobs.JOB_FAILED.fields.items() if f.required} == {"job_id", "job_type", "attempt", "error"}


@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: s.name)
def test_every_signal_with_every_field_passes_strict_mode_and_fits_the_published_schema(
    sig: zlog.Signal[...], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["signals", "zlog.jobs", "--json-schema"]) == 0
    schema = json.loads(capsys.readouterr().out)["$defs"][sig.name]
    out = io.StringIO()
    router = zlog.Router(strict=True)
    router.route_all(zlog.JSONSink(out))
    assert sig.fields is not None
    router.emit(sig, "happened", **{name: VALUES[name] for name in sig.fields})  # every field
    router.emit(sig, "happened", **{name: VALUES[name] for name, f in sig.fields.items() if f.required})
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(lines) == 2 and all(valid(line, schema) for line in lines), lines
    assert lines[0]["level"] == sig.level


def test_strict_mode_refuses_a_job_event_whose_field_has_the_wrong_type() -> None:
    router = zlog.Router(strict=True)
    router.route_all(lambda event: None)
    with pytest.raises(TypeError, match="attempt"):
        router.emit(jobs.JOB_STARTED, "started", job_id="j-1", job_type="send_email", attempt="1")  # type: ignore[call-overload]  # a type checker refuses it too


def test_zlog_signals_lists_the_vocabulary_in_its_order(capsys: pytest.CaptureFixture[str]) -> None:
    names = [listed["signal"] for listed in _listed(capsys)]
    assert sorted(names) == sorted(jobs.__all__) and names[:3] == ["JOB_QUEUED", "JOB_SCHEDULED", "JOB_STARTED"]
