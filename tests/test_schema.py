"""Strict mode: run-time checks of a typed signal's fields."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Annotated, Any, Literal, NewType, Optional, Protocol, TypeVar, Union

import pytest

import zlog
from zlog import Event
from zlog.testing import CapturedEvents

UserId = NewType("UserId", str)


@zlog.signal(level="info")
def JOB_COMPLETED(
    *,
    job_id: str,
    duration_seconds: float,
    attempts: int = 1,
    queue: Optional[str] = None,
    tags: list[str] | None = None,
    outcome: Literal["ok", "partial"] = "ok",
    owner: Union[UserId, int] = 0,
    note: Annotated[str, "free text"] = "",
) -> None:
    """A job finished."""


def strict_router() -> tuple[zlog.Router, list[Event]]:
    router = zlog.Router(strict=True)
    got: list[Event] = []
    router.route_all(got.append)
    return router, got


def test_strict_mode_accepts_a_correct_call_and_numeric_tower() -> None:
    router, got = strict_router()
    router.emit(JOB_COMPLETED, "done", job_id="j1", duration_seconds=2)  # int for float
    router.emit(
        JOB_COMPLETED,
        "done",
        job_id="j1",
        duration_seconds=1.5,
        queue=None,
        tags=["a"],
        outcome="partial",
        owner=UserId("u1"),
        note="n",
    )
    assert len(got) == 2


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"duration_seconds": 1.0}, "missing field 'job_id'"),
        ({"job_id": "j1", "duration_seconds": 1.0, "jobid": "x"}, "unknown field 'jobid'"),
        ({"job_id": 1, "duration_seconds": 1.0}, "field 'job_id' expects str, got int"),
        ({"job_id": "j", "duration_seconds": "1"}, "field 'duration_seconds'"),
        ({"job_id": "j", "duration_seconds": 1.0, "queue": 3}, "field 'queue'"),
        ({"job_id": "j", "duration_seconds": 1.0, "tags": ("a",)}, "field 'tags'"),
        ({"job_id": "j", "duration_seconds": 1.0, "outcome": "bad"}, "field 'outcome'"),
        ({"job_id": "j", "duration_seconds": 1.0, "owner": 1.5}, "field 'owner'"),
    ],
)
def test_strict_mode_raises_type_error_naming_the_problem(fields: dict[str, object], problem: str) -> None:
    router, got = strict_router()
    with pytest.raises(TypeError, match="JOB_COMPLETED") as info:
        router.emit(JOB_COMPLETED, "done", **fields)  # type: ignore[call-overload]
    assert problem in str(info.value)
    assert got == []


def test_strict_mode_lists_every_problem_at_once() -> None:
    router, _ = strict_router()
    with pytest.raises(TypeError) as info:
        router.emit(JOB_COMPLETED, "done", job_id=5, extra=1)  # type: ignore[call-overload]
    text = str(info.value)
    assert "missing field 'duration_seconds'" in text and "unknown field 'extra'" in text and "'job_id'" in text


def test_strict_mode_checks_even_when_nothing_is_routed() -> None:
    router = zlog.Router(strict=True)
    with pytest.raises(TypeError):
        router.emit(JOB_COMPLETED, "done")  # type: ignore[call-overload]


def test_strict_mode_ignores_exc_info_and_plain_string_signals() -> None:
    router, got = strict_router()
    try:
        raise ValueError("x")
    except ValueError:
        router.emit(JOB_COMPLETED, "done", job_id="j", duration_seconds=1.0, exc_info=True)  # type: ignore[call-overload]
    router.emit("JOB_COMPLETED", "by name, not checked", anything=1)
    assert len(got) == 2


def test_outside_strict_mode_a_wrong_call_is_emitted_as_given() -> None:
    router = zlog.Router()
    got: list[Event] = []
    router.route_all(got.append)
    router.emit(JOB_COMPLETED, "done", job_id=5, bogus=True)  # type: ignore[call-overload]
    assert got[0].fields == {"job_id": 5, "bogus": True}


def test_unresolvable_annotation_is_not_checked() -> None:
    @zlog.signal
    def ODD(*, thing: "NotDefinedAnywhere") -> None: ...  # type: ignore[name-defined]  # noqa: F821

    router, got = strict_router()
    router.emit(ODD, "x", thing=object())
    assert [e.signal for e in got] == ["ODD"]


def test_zlog_strict_environment_variable_makes_the_default_router_strict() -> None:
    code = (
        "import zlog\n"
        "@zlog.signal\n"
        "def JOB(*, n: int) -> None: ...\n"
        "try:\n"
        "    zlog.emit(JOB, 'x', n='not an int')\n"
        "except TypeError as exc:\n"
        "    print('strict:', exc)\n"
        "else:\n"
        "    print('lenient')\n"
    )
    env = {**os.environ, "ZLOG_STRICT": "1"}
    strict = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    env["ZLOG_STRICT"] = "0"
    lenient = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert strict.stdout.startswith("strict: JOB: field 'n' expects int")
    assert lenient.stdout == "lenient\n"


def test_list_annotation_checks_only_the_container() -> None:
    router, got = strict_router()
    router.emit(JOB_COMPLETED, "done", job_id="j", duration_seconds=1.0, tags=[1, 2])  # type: ignore[call-overload]
    assert got[0].fields["tags"] == [1, 2]


def test_literal_takes_only_its_values_of_the_same_type() -> None:
    @zlog.signal
    def FLAG(*, n: Literal[1], mode: Literal["a", "b"]) -> None: ...

    router = zlog.Router(strict=True)
    router.emit(FLAG, "ok", n=1, mode="b")
    with pytest.raises(TypeError, match="'n'"):
        router.emit(FLAG, "bool is not the int 1 here", n=True, mode="a")  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="'mode'"):
        router.emit(FLAG, "c", n=1, mode="c")  # type: ignore[call-overload]


def test_a_value_whose_comparison_raises_is_a_type_error_in_strict_mode_never_anything_else() -> None:
    class ArrayLike:  # numpy-style: == returns something whose truth value raises
        def __eq__(self, other: object) -> Any:
            return self

        __hash__ = object.__hash__

        def __bool__(self) -> bool:
            raise ValueError("truth value of an array is ambiguous")

    router, got = strict_router()
    with pytest.raises(TypeError, match="'outcome'"):
        router.emit(JOB_COMPLETED, "done", job_id="j", duration_seconds=1.0, outcome=ArrayLike())  # type: ignore[call-overload]
    assert got == []


def test_an_unresolvable_annotation_leaves_the_other_fields_checked() -> None:
    class Local:  # with `from __future__ import annotations` this name cannot be resolved from the stub
        pass

    @zlog.signal
    def MIXED(*, n: int, thing: Local, maybe: Optional[str] = None) -> None: ...

    router = zlog.Router(strict=True)
    router.emit(MIXED, "ok", n=1, thing=Local())
    router.emit(MIXED, "local type not checkable", n=1, thing="anything")  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="field 'n' expects int, got str"):
        router.emit(MIXED, "x", n="1", thing=Local())  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="field 'maybe'"):
        router.emit(MIXED, "x", n=1, thing=Local(), maybe=3)  # type: ignore[call-overload]


def test_a_protocol_that_is_not_runtime_checkable_is_not_checked() -> None:
    T = TypeVar("T")
    T_co = TypeVar("T_co", covariant=True)

    class Source(Protocol[T_co]):
        def read(self) -> T_co: ...

    @zlog.signal
    def READ(*, source: Source[int], plain: Source, anything: T) -> None: ...  # type: ignore[type-arg]

    router, got = strict_router()
    router.emit(READ, "ok", source=object(), plain=object(), anything=object())  # type: ignore[call-overload]
    assert [e.signal for e in got] == ["READ"]


def test_bool_is_accepted_where_int_is_declared_and_int_where_float_is_declared() -> None:
    @zlog.signal
    def NUMBERS(*, count: int, ratio: float, z: complex) -> None: ...

    router, got = strict_router()
    router.emit(NUMBERS, "ok", count=True, ratio=1, z=2)
    assert [e.signal for e in got] == ["NUMBERS"]
    with pytest.raises(TypeError, match="'ratio'"):
        router.emit(NUMBERS, "x", count=1, ratio="1.0", z=1)  # type: ignore[call-overload]


def test_strict_mode_checks_the_fields_passed_not_the_bound_context() -> None:
    router, got = strict_router()
    with zlog.bind(request_id="r1"):
        router.emit(JOB_COMPLETED, "done", job_id="j", duration_seconds=1.0)
    assert got[0].fields["request_id"] == "r1"


def test_a_declared_signal_with_wrong_fields_goes_out_as_given_on_the_default_router(
    zlog_events: CapturedEvents,
) -> None:
    if zlog.default_router.strict:
        pytest.skip("the suite runs with ZLOG_STRICT set")
    zlog.emit(JOB_COMPLETED, "done", job_id=1)  # type: ignore[call-overload]
    assert zlog_events[0].fields == {"job_id": 1}
