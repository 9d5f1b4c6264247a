"""Reading any line back: whatever a JSON object holds, parse, every renderer, the filters and the stats give
a rendering or a skip, never an exception; odd values get their documented rendering."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zlog import _pretty
from zlog.cli import stats as stats_command
from zlog.cli._filters import Query, parse_condition
from zlog.cli._html import page
from zlog.cli._read import Record, format_time, parse, parse_time, signal_of
from zlog.cli._stats import Stats

TIMES = [
    "2026-11-22T14:30:15.123456Z",
    "0000-01-01T00:00:00Z",
    "10000-01-01T00:00:00Z",
    "0001-01-01T00:00:00Z",
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-01:00",
    "9999-12-31T23:59:59.999999Z",
    "2026-11-22",
    "20261122",
    "NaN",
    "inf",
    "99999999999999999999999",
    "-99999999999999999999999",
    "1795357815000000000",
    "0",
    "-1",
    "1e30",
    "1.5",
]
WORDS = [
    "info",
    "ERROR",
    "WARNING",
    "DEFAULT",
    "warning",
    "critical",
    "\x1b[31m",
    "JOB_COMPLETED",
    "JOB_FAILED",
    "JOB_ABANDONED",
    "WORKER_HEARTBEAT",
    "WORKER_BUSY",
    "",
    "x" * 300,
]
ANY_KINDS = ["stringValue", "intValue", "doubleValue", "boolValue", "bytesValue", "arrayValue", "kvlistValue"]
KEYS = [
    "time",
    "@timestamp",
    "timestamp",
    "timeUnixNano",
    "observedTimeUnixNano",
    "level",
    "severity",
    "status",
    "severityText",
    "severityNumber",
    "log.level",
    "signal",
    "eventName",
    "evt.name",
    "event.action",
    "ecs.version",
    "message",
    "body",
    "attributes",
    "error",
    "stack_trace",
    "duration_seconds",
    "duration_ms",
    "duration",
    "job_type",
    "worker_id",
    "active_jobs",
    "concurrency",
    "concurrency_limit",
    "traceId",
    "spanId",
    "trace.id",
    "span.id",
    "logging.googleapis.com/trace",
    "logging.googleapis.com/spanId",
    "dd.trace_id",
    "fields.time",
    "fields.error",
    "user",
]

numbers = st.one_of(
    st.integers(-(2**63), 2**64 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([1.7976931348623157e308, -1.7976931348623157e308, 5e-324, -0.0, 2**64 - 1, -(2**63)]),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, st.text(max_size=8), st.sampled_from(TIMES + WORDS))
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(
            st.text(max_size=4)
            | st.sampled_from([*ANY_KINDS, "key", "value", "values", "type", "message", "kind", "stack"]),
            inner,
            max_size=3,
        ),
    ),
    max_leaves=10,
)
any_values = values | st.dictionaries(st.sampled_from(ANY_KINDS), values, max_size=2)
attributes = st.lists(
    values | st.fixed_dictionaries({"key": values | st.sampled_from(KEYS), "value": any_values}), max_size=4
)
SPECIAL = {
    "attributes": values | attributes,
    "body": any_values,
    "signal": values | st.sampled_from(WORDS),
    "eventName": values | st.sampled_from(WORDS),
}
# any subset of the keys the readers look at, in any order (the order decides some profiles)
objects = st.lists(st.sampled_from(KEYS), unique=True, max_size=14).flatmap(
    lambda keys: st.fixed_dictionaries({k: SPECIAL.get(k, values) for k in keys})
)

QUERIES = [
    Query(since=0.0),
    Query(until=4e9),
    Query(
        signals=["JOB_*"],
        conditions=[
            parse_condition("duration_seconds>1"),
            parse_condition("job_type=email"),
            parse_condition("time<5"),
            parse_condition("level=error"),
            parse_condition("message>3"),
            parse_condition("error=x"),
            parse_condition("attributes=[]"),
        ],
    ),
]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(objects, min_size=1, max_size=5))
def test_any_json_object_is_rendered_or_skipped_by_every_reader_without_an_exception(
    objs: list[dict[str, Any]],
) -> None:
    summed, by_ms = Stats(), Stats(duration_field="duration_ms")
    for obj in objs:
        raw = orjson.dumps(obj)
        record = parse(raw)
        assert signal_of(raw) == (None if record is None else record.signal)
        if record is None:
            summed.add_unparsed()
            by_ms.add_unparsed()
            continue
        assert isinstance(record.signal, str) and record.signal and isinstance(record.message, str)
        assert record.time is None or isinstance(record.time, str)
        assert record.level is None or isinstance(record.level, str)
        for color in (False, True):
            pretty = _pretty.render(
                record.time, record.level, record.signal, record.message, record.fields, color=color
            )
            assert "\n" not in pretty and "\r" not in pretty
        logfmt = _pretty.logfmt(record.time, record.level, record.signal, record.message, record.fields)
        assert "\n" not in logfmt and "\r" not in logfmt
        when = record.timestamp()
        assert when is None or format_time(when) is not None
        for query in QUERIES:
            assert query.matches(record) in (True, False)
        summed.add(record)
        by_ms.add(record)
    for stats in (summed, by_ms):
        summary = stats.summary()
        assert summary["events"] + summary["skipped_lines"] == len(objs)
        assert stats_command.text(summary).endswith("\n")
        assert page(summary).startswith("<!doctype html>")
        orjson.dumps(summary, option=orjson.OPT_NON_STR_KEYS)


@pytest.mark.parametrize(
    "text", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "0000-01-01T00:00:00Z", "10000-01-01T00:00:00Z"]
)
def test_an_instant_outside_the_years_1_to_9999_is_not_a_time(text: str) -> None:
    assert parse_time(text) is None


def test_the_first_and_the_last_microsecond_of_the_range_are_times_that_format_again() -> None:
    first, last = parse_time("0001-01-01T00:00:00Z"), parse_time("9999-12-31T23:59:59.999999Z")
    assert first is not None and last is not None
    assert format_time(first) == "0001-01-01T00:00:00.000000Z"
    assert (format_time(last) or "").startswith("9999-12-31T23:59:59.99")


def read(obj: dict[str, Any]) -> Record:
    record = parse(orjson.dumps(obj))
    assert record is not None
    return record


def test_time_level_and_message_that_are_not_strings_are_shown_as_their_json_text() -> None:
    record = read({"time": 20261122, "level": 30, "signal": "A", "message": {"a": [1, True]}})
    assert (record.time, record.level, record.message) == ("20261122", "30", '{"a":[1,true]}')
    assert record.timestamp() is None  # the text of a number is no date, though 3.11 reads 20261122 as one


def test_an_otel_time_that_no_date_holds_is_kept_as_written_and_is_no_time() -> None:
    for written, shown in [
        ("99999999999999999999999", "99999999999999999999999"),
        (1e300, "1e+300"),
        ("-99999999999999999999", "-99999999999999999999"),
        (True, "true"),
        ("12 34", "12 34"),
    ]:
        record = read({"timeUnixNano": written, "body": {"stringValue": "x"}, "eventName": "E"})
        assert (record.time, record.timestamp(), record.message) == (shown, None, "x"), written


def test_an_otel_time_of_zero_means_unknown_and_the_observed_time_is_used() -> None:
    record = read({"timeUnixNano": "0", "observedTimeUnixNano": "1795357815000000000", "eventName": "E"})
    assert record.time == "2026-11-22T14:30:15.000000Z"
    assert read({"timeUnixNano": "0", "eventName": "E"}).time is None


def test_an_otel_severity_number_gives_the_level_when_there_is_no_severity_text() -> None:
    levels = [read({"timeUnixNano": "1", "eventName": "E", "severityNumber": n}).level for n in (1, 5, 9, 13, 17, 24)]
    assert levels == ["debug", "debug", "info", "warn", "error", "fatal"]
    assert read({"timeUnixNano": "1", "eventName": "E", "severityNumber": 99}).level is None


def test_otel_values_that_are_not_well_formed_anyvalues_are_kept_as_they_are() -> None:
    record = read(
        {
            "timeUnixNano": "1",
            "eventName": "E",
            "body": "plain text",
            "attributes": [
                {"key": "list", "value": {"arrayValue": [1]}},
                {"key": "pairs", "value": {"kvlistValue": {"values": [{"key": 1, "value": {}}]}}},
                {"key": "big", "value": {"intValue": "99999999999999999999999"}},
                {"key": "ok", "value": {"kvlistValue": {"values": [{"key": "n", "value": {"intValue": "-7"}}]}}},
                {"key": "bare", "value": 3},
                5,
                {"key": 1, "value": {}},
                {"key": "extra", "value": {}, "more": 1},
            ],
        }
    )
    assert record.message == "plain text"
    assert record.fields["list"] == {"arrayValue": [1]}
    assert record.fields["pairs"] == {"kvlistValue": {"values": [{"key": 1, "value": {}}]}}
    assert record.fields["big"] == {"intValue": "99999999999999999999999"}
    assert record.fields["ok"] == {"n": -7} and record.fields["bare"] == 3
    assert record.fields["attributes"] == [5, {"key": 1, "value": {}}, {"key": "extra", "value": {}, "more": 1}]
    assert read({"timeUnixNano": "1", "eventName": "E", "attributes": {"a": 1}}).fields == {"attributes": {"a": 1}}


def test_otel_signal_comes_from_the_attribute_then_from_event_name() -> None:
    record = read(
        {"timeUnixNano": "1", "eventName": "E", "attributes": [{"key": "signal", "value": {"intValue": "5"}}]}
    )
    assert record.signal == "E" and record.fields == {"signal": 5}
    named = read(
        {"timeUnixNano": "1", "eventName": "E", "attributes": [{"key": "signal", "value": {"stringValue": "S"}}]}
    )
    assert named.signal == "S" and named.fields == {"eventName": "E"}  # eventName differs: kept


def deep(depth: int, inner: str = "1") -> str:
    return "[" * depth + inner + "]" * depth


def test_values_nested_a_thousand_deep_render_without_a_recursion_error() -> None:
    nested_dict = '{"a":' * 900 + "1" + "}" * 900
    raw = (
        f'{{"time":"2026-11-22T14:30:15Z","level":"error","signal":"JOB_COMPLETED","message":{deep(1000)},'
        f'"job_type":{deep(900)},"duration_seconds":1,"error":{{"type":{deep(900)},"message":{nested_dict}}},'
        f'"list":{deep(1000)}}}'
    ).encode()
    record = parse(raw)
    assert record is not None and record.message.startswith("[[[") and "<max depth>" in record.message
    line = _pretty.render(record.time, record.level, record.signal, record.message, record.fields)
    assert line.count("<max depth>") == 5  # message, job_type, list, and the error's type and message
    assert _pretty.logfmt(record.time, record.level, record.signal, record.message, record.fields).count("max depth")
    stats = Stats()
    stats.add(record)
    summary = stats.summary()
    assert summary["top_errors"][0]["type"] == "[" * 64 + '"<max depth>"' + "]" * 64  # as zlog would write it
    assert "job type" in stats_command.text(summary) and "&lt;max depth&gt;" in page(summary)


def test_a_prefixed_field_keeps_its_prefix_when_the_line_also_has_the_bare_name() -> None:
    record = read(
        {"time": "2026-11-22T14:30:15Z", "signal": "A", "message": "m", "x": 1, "fields.x": 2, "fields.time": "user"}
    )
    assert record.fields == {"x": 1, "fields.x": 2, "time": "user"}
