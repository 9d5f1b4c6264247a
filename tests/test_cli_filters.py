"""The filters of ``zlog tail``: --where conditions, relative and RFC 3339 times, signal globs, the literal
pre-check and the query's combination rules."""

from __future__ import annotations

import pytest

from zlog.cli._filters import Query, parse_condition, parse_when
from zlog.cli._read import InputError, Record

NOW = 1_800_000_000.0


def record(signal: str = "JOB_FAILED", **fields: object) -> Record:
    return Record(b"{}", "2026-11-22T14:30:00.000000Z", "error", signal, "failed", dict(fields))


@pytest.mark.parametrize(
    ("text", "key", "op", "value"),
    [
        ("job_id=j1", "job_id", "=", "j1"),
        ("note=a=b", "note", "=", "a=b"),
        ("duration_seconds>2.5", "duration_seconds", ">", "2.5"),
        ("attempt < 3", "attempt", "<", "3"),
        ("empty=", "empty", "=", ""),
    ],
)
def test_conditions_are_key_operator_value(text: str, key: str, op: str, value: str) -> None:
    condition = parse_condition(text)
    assert (condition.key, condition.op, condition.value) == (key, op, value)


@pytest.mark.parametrize("text", ["job_id", "=j1", "n>many", "n<", ""])
def test_malformed_conditions_are_input_errors(text: str) -> None:
    with pytest.raises(InputError, match="--where"):
        parse_condition(text)


def test_equality_compares_text_with_json_spelling_of_true_false_null() -> None:
    event = record(retry=True, done=False, parent=None, attempt=2, ratio=0.5, job_id="j1")
    for text in ("retry=true", "done=false", "parent=null", "attempt=2", "ratio=0.5", "job_id=j1"):
        assert parse_condition(text).test(event), text
    for text in ("retry=True", "attempt=2.0", "job_id=J1", "missing=null"):
        assert not parse_condition(text).test(event), text


def test_greater_and_less_compare_numbers_and_numeric_strings_only() -> None:
    event = record(duration=2.5, count="10", name="abc", flag=True)
    assert parse_condition("duration>2").test(event) and not parse_condition("duration>2.5").test(event)
    assert parse_condition("count>9").test(event)  # "10" as a number, not as text ("10" < "9")
    assert not parse_condition("name>1").test(event) and not parse_condition("name<1").test(event)
    assert not parse_condition("flag>0").test(event)  # a boolean is not a number
    assert not parse_condition("absent<100").test(event)


def test_core_keys_can_be_conditions_unless_a_field_has_that_name() -> None:
    assert parse_condition("level=error").test(record())
    assert parse_condition("signal=JOB_FAILED").test(record())
    assert parse_condition("message=failed").test(record())
    assert parse_condition("level=custom").test(record(level="custom"))  # the user's fields.level
    assert not parse_condition("level=error").test(record(level="custom"))  # ... and not the core level


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("now", 0),
        ("NOW", 0),
        ("1 second ago", 1),
        ("30 seconds ago", 30),
        ("1 minute ago", 60),
        ("10 minutes ago", 600),
        ("1 hour ago", 3600),
        ("2 hours ago", 7200),
        ("1 day ago", 86400),
        ("2 days ago", 172800),
        ("1.5 hours ago", 5400),
    ],
)
def test_relative_times_count_back_from_now(text: str, seconds: float) -> None:
    assert parse_when(text, "--since", now=NOW) == NOW - seconds


def test_rfc3339_times_with_z_an_offset_or_none() -> None:
    z = parse_when("2026-11-22T14:30:00Z", "--since")
    assert parse_when("2026-11-22T15:30:00+01:00", "--since") == z
    assert parse_when("2026-11-22T14:30:00", "--since") == z  # naive: UTC
    assert parse_when("2026-11-22T14:30:00.250000Z", "--since") == z + 0.25


@pytest.mark.parametrize("text", ["yesterday", "10 fortnights ago", "ago", "2026-13-01T00:00:00Z", ""])
def test_unreadable_times_are_input_errors_naming_the_option(text: str) -> None:
    with pytest.raises(InputError, match="--until"):
        parse_when(text, "--until", now=NOW)


def test_signal_patterns_are_globs_and_any_of_several_matches() -> None:
    query = Query(["JOB_*", "WORKER_HEARTBEAT"])
    assert query.matches(record("JOB_FAILED")) and query.matches(record("WORKER_HEARTBEAT"))
    assert not query.matches(record("WORKER_STARTED")) and not query.matches(record("job_failed"))


def test_every_kind_of_filter_must_match() -> None:
    since = parse_when("2026-11-22T14:00:00Z", "--since")
    until = parse_when("2026-11-22T15:00:00Z", "--until")
    query = Query(["JOB_*"], [parse_condition("job_id=j1"), parse_condition("attempt>1")], since, until)
    assert query.matches(record(job_id="j1", attempt=2))
    assert not query.matches(record(job_id="j2", attempt=2))
    assert not query.matches(record(job_id="j1", attempt=1))
    assert not query.matches(record("WORKER_X", job_id="j1", attempt=2))
    late = Query([], [], None, since - 1)
    assert not late.matches(record())
    early = Query([], [], until, None)
    assert not early.matches(record())


def test_an_event_without_a_time_never_matches_a_time_range() -> None:
    event = Record(b"{}", None, None, "A", "", {})
    assert not Query([], [], 0.0, None).matches(event) and Query().matches(event)


def test_the_literal_precheck_is_only_for_one_name_json_writes_unchanged() -> None:
    assert Query(["JOB_FAILED"]).literal_signal() == b'"JOB_FAILED"'
    assert Query(["JOB_*"]).literal_signal() is None
    assert Query(["A", "B"]).literal_signal() is None
    assert Query(['SAY_"HI"']).literal_signal() is None  # written as \" in JSON
    assert Query(["CAF\u00c9"]).literal_signal() is None  # may be written escaped by other writers
    assert Query(["TAB\t"]).literal_signal() is None
    assert Query(["JOB_FAILED"]).signal_only and not Query(["A"], [parse_condition("a=1")]).signal_only
    assert not Query().filters and not Query().signal_only


def test_equality_on_a_list_or_an_object_compares_its_json_text() -> None:
    event = record(tags=["a", "b"], where={"k": 1})
    assert parse_condition('tags=["a","b"]').test(event) and parse_condition('where={"k":1}').test(event)
    assert not parse_condition("tags=['a', 'b']").test(event)  # not Python's spelling


@pytest.mark.parametrize("text", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_a_time_outside_the_years_1_to_9999_is_an_input_error(text: str) -> None:
    with pytest.raises(InputError, match="--since"):
        parse_when(text, "--since", now=NOW)


@pytest.mark.parametrize(
    "time",
    ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "10000-01-01T00:00:00Z", "1795357815", "20261122"],
)
def test_an_event_whose_time_no_date_holds_never_matches_a_time_range(time: str) -> None:
    event = Record(b"{}", time, None, "A", "", {})
    assert not Query([], [], -1e12, None).matches(event) and not Query([], [], None, 1e12).matches(event)
