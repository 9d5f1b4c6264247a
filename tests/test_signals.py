"""Signals: declaration, identity with their name, levels and pickling."""

from __future__ import annotations

import pickle
from typing import Any, Optional

import pytest

import zlog
from zlog.signals import LEVELS, normalize_level


@zlog.signal(level="info")
def JOB_QUEUED(*, job_id: str, job_type: str, priority: int = 0) -> None:
    """Job added to the queue."""


def test_declared_signal_equals_and_hashes_like_its_name() -> None:
    assert JOB_QUEUED == "JOB_QUEUED"
    assert "JOB_QUEUED" == JOB_QUEUED
    assert JOB_QUEUED != "JOB_STARTED"
    assert hash(JOB_QUEUED) == hash("JOB_QUEUED")
    assert {"JOB_QUEUED": 1}[JOB_QUEUED] == 1  # type: ignore[index]
    assert not isinstance(JOB_QUEUED, str)
    assert str(JOB_QUEUED) == "JOB_QUEUED"


def test_decorator_reads_fields_level_and_docstring() -> None:
    assert JOB_QUEUED.name == "JOB_QUEUED"
    assert JOB_QUEUED.level == "info"
    assert JOB_QUEUED.doc == "Job added to the queue."
    fields = JOB_QUEUED.fields
    assert fields is not None
    assert list(fields) == ["job_id", "job_type", "priority"]
    assert fields["job_id"].required and not fields["priority"].required
    assert fields["priority"].type is int


def test_bare_decorator_and_explicit_name() -> None:
    @zlog.signal
    def WORKER_IDLE(*, worker_id: str) -> None: ...

    @zlog.signal(name="worker.busy")
    def busy(*, worker_id: str, active_jobs: Optional[int] = None) -> None: ...

    assert WORKER_IDLE.name == "WORKER_IDLE" and WORKER_IDLE.level is None
    assert busy.name == "worker.busy"


def test_stub_with_positional_parameters_is_rejected() -> None:
    with pytest.raises(TypeError, match="keyword-only"):

        @zlog.signal
        def BAD(job_id: str) -> None: ...


def test_unknown_level_is_rejected_at_the_decorator() -> None:
    with pytest.raises(ValueError, match="unknown level"):
        zlog.signal(level="loud")
    with pytest.raises(ValueError):
        zlog.Signal("X", level="verbose")


def test_level_aliases_and_case_are_normalized() -> None:
    assert normalize_level("WARNING") == "warn"
    assert normalize_level("critical") == "fatal"
    assert normalize_level("Info") == "info"
    assert LEVELS == ("debug", "info", "warn", "error", "fatal")


@pytest.mark.parametrize("name", ["", " JOB", "JOB_*", "A?", "[x]"])
def test_invalid_signal_names_are_rejected(name: str) -> None:
    with pytest.raises(ValueError):
        zlog.Signal(name)


def test_signal_without_schema_accepts_any_fields() -> None:
    sig = zlog.Signal("CACHE_MISS", level="debug")
    assert sig.fields is None
    sig.validate({"anything": object()})


def test_level_signals_have_their_levels() -> None:
    assert [s.level for s in (zlog.DEBUG, zlog.INFO, zlog.WARN, zlog.ERROR, zlog.FATAL)] == list(LEVELS)


def test_signal_survives_pickling_with_its_schema() -> None:
    copy = pickle.loads(pickle.dumps(JOB_QUEUED))
    assert copy == JOB_QUEUED and copy.level == "info"
    assert copy.fields is not None and list(copy.fields) == ["job_id", "job_type", "priority"]
    with pytest.raises(TypeError):
        copy.validate({"job_id": "j1"})


def test_repr_names_the_signal_and_level() -> None:
    assert repr(JOB_QUEUED) == "Signal('JOB_QUEUED', level='info')"


@pytest.mark.parametrize(
    "stub_source",
    [
        "def BAD(job_id, /) -> None: ...",
        "def BAD(*args: str) -> None: ...",
        "def BAD(**fields: str) -> None: ...",
        "def BAD(job_id: str = '', *, n: int) -> None: ...",
    ],
)
def test_every_kind_of_non_keyword_only_parameter_is_rejected_at_decoration(stub_source: str) -> None:
    namespace: dict[str, Any] = {}  # what the exec'd source defines
    exec(stub_source, namespace)
    with pytest.raises(TypeError, match="keyword-only"):
        zlog.signal(level="info")(namespace["BAD"])


def test_a_stub_without_parameters_declares_a_signal_that_takes_no_fields() -> None:
    @zlog.signal(level="warn")
    def WORKER_STOPPED() -> None:
        """The worker stopped."""

    assert WORKER_STOPPED.fields == {}
    WORKER_STOPPED.validate({})
    with pytest.raises(TypeError, match="unknown field 'x'"):
        WORKER_STOPPED.validate({"x": 1})


def test_a_level_that_is_not_a_string_is_rejected() -> None:
    with pytest.raises(TypeError, match="level must be a str"):
        zlog.Signal("X", level=3)  # type: ignore[arg-type]


def test_signals_compare_by_name_with_each_other_and_not_with_other_types() -> None:
    a = zlog.Signal("A", level="info")
    assert a == zlog.Signal("A") and hash(a) == hash(zlog.Signal("A"))
    assert a != zlog.Signal("B")
    assert a != 1 and a != None  # noqa: E711
    assert {a, "A", zlog.Signal("A")} == {"A"}


def test_signal_name_may_not_be_anything_but_a_non_empty_str() -> None:
    with pytest.raises(ValueError):
        zlog.Signal(42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="glob"):

        @zlog.signal(name="JOB_*")
        def anything(*, n: int) -> None: ...


def test_signal_declared_without_schema_survives_pickling() -> None:
    sig = zlog.Signal("CACHE_MISS", level="debug", doc="missed")
    copy = pickle.loads(pickle.dumps(sig))
    assert copy == sig and copy.level == "debug" and copy.doc == "missed" and copy.fields is None


def test_fields_of_a_declared_signal_are_read_only() -> None:
    fields = JOB_QUEUED.fields
    assert fields is not None
    with pytest.raises(TypeError):
        fields["extra"] = fields["job_id"]  # type: ignore[index]
