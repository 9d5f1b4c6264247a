"""Shipper profiles: JSONSink(profile=...) writes the keys each backend expects, keeps the signal,
never lets a user field change the level, and the lines read back to the same event."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

import zlog
from zlog import Router, _profiles
from zlog._profiles import PROFILES
from zlog._readback import detect, normalize
from zlog.cli._read import parse

TRACE = "95f0f8dfd7c44a925717c0f614a19578"
SPAN = "fc039fba48819760"
JOB_FAILED = zlog.Signal("JOB_FAILED", level="error")


def line(profile: str, signal: Any = JOB_FAILED, message: str = "job failed", **fields: Any) -> dict[str, Any]:
    out = io.StringIO()
    router = Router()
    router.route_all(zlog.JSONSink(out, profile=profile))
    router.emit(signal, message, **fields)
    [text] = out.getvalue().splitlines()
    parsed: dict[str, Any] = json.loads(text)
    return parsed


def failure() -> ValueError:
    try:
        raise ValueError("bad input")
    except ValueError as exc:
        return exc


def test_ecs_has_the_required_keys_nested_error_and_trace_ids() -> None:
    obj = line("ecs", job_id="j1", error=failure(), trace_id=TRACE, span_id=SPAN)
    assert list(obj)[:4] == ["@timestamp", "log.level", "message", "ecs.version"]
    assert obj["@timestamp"].endswith("Z") and obj["log.level"] == "error"
    assert obj["signal"] == obj["event.action"] == "JOB_FAILED" and obj["job_id"] == "j1"
    assert obj["error"]["type"] == "ValueError" and obj["error"]["message"] == "bad input"
    assert obj["error"]["stack_trace"].startswith("Traceback (most recent call last):")
    assert (obj["trace.id"], obj["span.id"]) == (TRACE, SPAN) and "trace_id" not in obj


def test_gcp_uses_logseverity_names_and_the_trace_resource(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "acme")
    obj = line("gcp", error=failure(), trace_id=TRACE, span_id=SPAN)
    assert (obj["severity"], obj["message"], obj["signal"]) == ("ERROR", "job failed", "JOB_FAILED")
    assert obj["stack_trace"].endswith("ValueError: bad input")
    assert obj["logging.googleapis.com/trace"] == f"projects/acme/traces/{TRACE}"
    assert obj["logging.googleapis.com/spanId"] == SPAN
    assert line("gcp", zlog.WARN, "w")["severity"] == "WARNING"
    assert line("gcp", "NO_LEVEL", "n")["severity"] == "DEFAULT"


def test_datadog_writes_status_error_kind_and_decimal_low_64_bit_trace_ids() -> None:
    obj = line("datadog", error=failure(), trace_id=TRACE, span_id=SPAN)
    assert (obj["status"], obj["signal"], obj["evt.name"]) == ("error", "JOB_FAILED", "JOB_FAILED")
    assert obj["error"]["kind"] == "ValueError" and "Traceback" in obj["error"]["stack"]
    # the low 64 bits of the trace id, 5717c0f614a19578, in decimal
    assert obj["dd.trace_id"] == str(int(TRACE, 16) & (2**64 - 1)) == "6275696768904697208"
    assert obj["dd.span_id"] == str(int(SPAN, 16))
    assert (obj["trace_id"], obj["span_id"]) == (TRACE, SPAN)  # the full ids stay, for other tools


def test_a_user_field_never_takes_a_reserved_key_of_the_profile() -> None:
    dd = line("datadog", zlog.INFO, "done", status="completed", host="h", date="2026-01-01")
    assert dd["status"] == "info" and dd["fields.status"] == "completed"
    assert dd["fields.host"] == "h" and dd["fields.date"] == "2026-01-01"
    ecs = line("ecs", zlog.INFO, "x", error="just text")
    assert "error" not in ecs and ecs["fields.error"] == "just text"
    gcp = line("gcp", zlog.INFO, "x", severity="EMERGENCY")
    assert gcp["severity"] == "INFO" and gcp["fields.severity"] == "EMERGENCY"


def test_otel_writes_the_otlp_json_log_record_shape() -> None:
    obj = line(
        "otel",
        job_id="j1",
        attempt=3,
        ratio=0.5,
        ok=True,
        nothing=None,
        payload={"a": [1, "x"]},
        error=failure(),
        trace_id=TRACE,
        span_id=SPAN,
    )
    assert obj["timeUnixNano"].isdigit() and obj["severityNumber"] == 17 and obj["severityText"] == "ERROR"
    assert obj["body"] == {"stringValue": "job failed"} and obj["eventName"] == "JOB_FAILED"
    assert (obj["traceId"], obj["spanId"]) == (TRACE, SPAN)
    attributes = {a["key"]: a["value"] for a in obj["attributes"]}
    assert attributes["signal"] == {"stringValue": "JOB_FAILED"}
    assert attributes["attempt"] == {"intValue": "3"} and attributes["ratio"] == {"doubleValue": 0.5}
    assert attributes["ok"] == {"boolValue": True} and attributes["nothing"] == {}
    assert attributes["payload"] == {
        "kvlistValue": {
            "values": [{"key": "a", "value": {"arrayValue": {"values": [{"intValue": "1"}, {"stringValue": "x"}]}}}]
        }
    }
    assert attributes["exception.type"] == {"stringValue": "ValueError"}
    assert "exception.stacktrace" in attributes
    assert "severityNumber" not in line("otel", "NO_LEVEL", "n")


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_every_profile_reads_back_to_the_same_event(profile: str) -> None:
    obj = line(profile, job_id="j1", attempt=2, trace_id=TRACE, span_id=SPAN)
    when, level, signal, message, fields = normalize(obj)
    assert (level, signal, message) == ("error", "JOB_FAILED", "job failed")
    assert isinstance(when, str) and when.endswith("Z") and len(when) == 27
    assert fields["job_id"] == "j1" and fields["attempt"] == 2
    assert (fields["trace_id"], fields["span_id"]) == (TRACE, SPAN)


def test_an_unknown_profile_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown profile 'splunk'"):
        zlog.JSONSink(io.StringIO(), profile="splunk")


def test_a_long_profile_line_is_truncated_and_stays_valid_json() -> None:
    out = io.StringIO()
    router = Router()
    router.route_all(zlog.JSONSink(out, profile="datadog", max_line_bytes=1024))
    router.emit(JOB_FAILED, "x" * 5000, blob="y" * 5000)
    obj = json.loads(out.getvalue())
    assert len(out.getvalue().encode()) <= 1024 and obj["status"] == "error" and obj["signal"] == "JOB_FAILED"


# -- reading back: a user field never decides the profile -------------------------------------------------

#: User fields named like the keys of every profile (and of the native line).
COLLIDING: dict[str, Any] = {
    "severity": "ERROR",
    "status": "completed",
    "timestamp": "2020-01-01T00:00:00Z",
    "evt.name": "OTHER",
    "@timestamp": "2020-01-01T00:00:00Z",
    "log.level": "warn",
    "event.action": "act",
    "ecs.version": "1",
    "timeUnixNano": "5",
    "observedTimeUnixNano": "7",
    "body": {"stringValue": "b"},
    "eventName": "EV",
    "severityText": "WARN",
    "attributes": [1],
    "time": "user time",
    "level": "user level",
    "message": "user message",
    "signal": "USER",
    "stack_trace": "st",
    "dd.trace_id": "1",
    "logging.googleapis.com/trace": "t",
    "traceId": "tid",
    "error": "text error",
}
#: The same, one profile's keys at a time.
KEY_SETS: dict[str, dict[str, Any]] = {
    "gcp": {"severity": "ERROR"},
    "datadog": {"status": "ok", "timestamp": "t", "evt.name": "e"},
    "ecs": {"@timestamp": "t", "log.level": "warn"},
    "otel": {"timeUnixNano": "5", "body": "b"},
    "all": COLLIDING,
}


def read_back(profile: str | None, level: str | None, fields: dict[str, Any]) -> tuple[str | None, Any]:
    out = io.StringIO()
    router = Router()
    router.route_all(zlog.JSONSink(out, profile=profile))
    router.emit(zlog.Signal("JOB_DONE", level=level), "job done", job_id="j1", **fields)
    raw = out.getvalue().strip().encode()
    return detect(json.loads(raw)), parse(raw)


@pytest.mark.parametrize("level", ["error", None])
@pytest.mark.parametrize("keys", sorted(KEY_SETS))
@pytest.mark.parametrize("profile", [None, *sorted(PROFILES)])
def test_a_line_reads_back_as_written_whatever_its_user_fields_are_named(
    profile: str | None, keys: str, level: str | None
) -> None:
    found, record = read_back(profile, level, KEY_SETS[keys])
    assert found == profile
    assert record is not None
    # ECS and Datadog write "info" for a signal without a level
    expected_level = "info" if level is None and profile in ("ecs", "datadog") else level
    assert (record.signal, record.level, record.message) == ("JOB_DONE", expected_level, "job done")
    assert record.fields == {"job_id": "j1", **KEY_SETS[keys]}


@pytest.mark.parametrize("order", ["sorted", "reversed"])
@pytest.mark.parametrize("keys", ["datadog", "ecs", "otel"])
@pytest.mark.parametrize("profile", [None, *sorted(PROFILES)])
def test_a_line_whose_keys_were_reordered_is_still_read_as_its_profile(
    profile: str | None, keys: str, order: str
) -> None:
    out = io.StringIO()
    router = Router()
    router.route_all(zlog.JSONSink(out, profile=profile))
    router.emit(JOB_FAILED, "job failed", job_id="j1", **KEY_SETS[keys])
    obj = json.loads(out.getvalue())
    items = sorted(obj.items()) if order == "sorted" else list(reversed(obj.items()))
    assert detect(dict(items)) == profile


def test_a_reordered_gcp_line_is_told_by_its_severity_name_without_a_level_key() -> None:
    obj = line("gcp", job_id="j1")
    assert detect(dict(sorted(obj.items()))) == "gcp"
    native = {
        "time": "2026-11-22T14:30:15.000000Z",
        "level": "info",
        "signal": "A",
        "message": "m",
        "severity": "ERROR",
    }
    assert detect(dict(sorted(native.items()))) is None  # a level key: native


@pytest.mark.parametrize(
    ("profile", "key", "written", "level"),
    [
        ("gcp", "severity", "NOTICE", "info"),
        ("gcp", "severity", "warning", "warn"),
        ("gcp", "severity", "DEFAULT", None),
        ("gcp", "severity", "BANANA", "BANANA"),
        ("datadog", "status", "warning", "warn"),
        ("datadog", "status", "critical", "fatal"),
        ("datadog", "status", "emergency", "fatal"),
        ("datadog", "status", "ok", "ok"),
        ("ecs", "log.level", "WARNING", "warn"),
        ("ecs", "log.level", "trace", "trace"),
    ],
)
def test_level_names_of_other_writers_map_to_zlog_levels_and_unknown_names_are_kept(
    profile: str, key: str, written: str, level: str | None
) -> None:
    obj = line(profile, job_id="j1")
    obj[key] = written
    assert detect(obj) == profile and normalize(obj)[1] == level


@pytest.mark.parametrize("profile", ["ecs", "gcp", "datadog", "otel"])
def test_a_line_shortened_to_fit_keeps_the_profiles_own_keys(profile: str) -> None:
    out = io.BytesIO()
    sink = zlog.JSONSink(out, profile=profile, max_line_bytes=1024)
    fields = {f"field_{i}": "x" * 200 for i in range(2000)}
    sink.handle(
        zlog.Event(
            zlog.Signal("JOB_FAILED", level="error"), "failed", {**fields, "trace_id": "a" * 32, "span_id": "b" * 16}
        )
    )
    line = json.loads(out.getvalue())
    assert len(out.getvalue()) <= 1024 and "zlog_truncated" in line
    assert _profiles.KEEP[profile] - {"logging.googleapis.com/trace_sampled"} <= set(line)


@pytest.mark.parametrize("profile", ["ecs", "gcp", "datadog", "otel"])
def test_a_field_with_a_bytes_key_is_written_by_every_profile(profile: str) -> None:
    out = io.BytesIO()
    zlog.JSONSink(out, profile=profile).handle(zlog.Event("JOB_DONE", "done", {b"raw": 1}))  # type: ignore[dict-item]
    assert b"raw" in out.getvalue() and json.loads(out.getvalue())


def test_an_otel_user_field_named_like_an_exception_attribute_never_passes_for_the_error() -> None:
    out = io.BytesIO()
    zlog.JSONSink(out, profile="otel").handle(zlog.Event("JOB_DONE", "done", {"exception.type": "not an error"}))
    keys = [a["key"] for a in json.loads(out.getvalue())["attributes"]]
    assert "exception.type" not in keys and "fields.exception.type" in keys
