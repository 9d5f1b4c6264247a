"""Redact fails closed: whatever a value is, no secret reaches the JSON line that JSONSink writes after it."""

from __future__ import annotations

import builtins
import collections
import dataclasses
import enum
import io
import json
import sys
import types
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import zlog
from zlog import Event, Router
from zlog.processors import Redact

SECRET = "hunter2-s3cr3t"


def redacted_line(fields: dict[Any, Any], *, binary: bool = False) -> str:
    """The JSON line that a Router with Redact() and a JSONSink writes for an event with these fields."""
    router = Router()
    router.add_processor(lambda e: e.replace(fields=fields))  # any keys, not only what emit(**fields) takes
    router.add_processor(Redact())
    out: io.StringIO | io.BytesIO = io.BytesIO() if binary else io.StringIO()
    router.route_all(zlog.JSONSink(out))
    router.emit("LOGIN", "user logged in")
    text = out.getvalue().decode() if isinstance(out, io.BytesIO) else out.getvalue()
    assert text.count("\n") == 1 and "ZLOG_PROCESSOR_ERROR" not in text  # one line, and Redact did not fail
    return text


class ClassRaises:
    @property  # type: ignore[misc]
    def __class__(self) -> type:
        raise RuntimeError("no class")


class LyingDict(dict[str, Any]):
    def items(self) -> Any:
        return iter([("user", "ada")])


class LyingMapping(Mapping[str, Any]):
    def __getitem__(self, key: str) -> Any:
        return {"password": SECRET}[key]

    def __iter__(self) -> Iterator[str]:
        return iter(["password"])

    def __len__(self) -> int:
        return 1

    def items(self) -> Any:
        return [("user", "ada")]


class HidingList(list[Any]):
    def __iter__(self) -> Iterator[Any]:
        return iter([])


class LowerLies(str):
    def lower(self) -> str:
        return "harmless"


class LikeCachedUser(str):
    def __hash__(self) -> int:
        return hash("user")

    def __eq__(self, other: object) -> bool:
        return True


class Key(enum.Enum):
    PW = "password"


class Field(enum.Enum):
    PASSWORD = 1


class Config(enum.Enum):
    DB = {"password": SECRET}  # noqa: RUF012


class ReprKey:
    def __repr__(self) -> str:
        return "password"


@dataclasses.dataclass
class Login:
    user: str
    password: str = SECRET
    options: Any = None


@dataclasses.dataclass
class RaisingLogin:
    password: str

    def __getattribute__(self, name: str) -> Any:
        if name == "password":
            raise RuntimeError("unreadable")
        return object.__getattribute__(self, name)


class AttrsLike:
    """The attrs protocol: ``__attrs_attrs__`` on the class, written by its repr."""

    __attrs_attrs__ = tuple(types.SimpleNamespace(name=n, repr=True) for n in ("user", "password"))

    def __init__(self) -> None:
        self.user, self.password = "ada", SECRET

    def __repr__(self) -> str:
        return f"AttrsLike(user={self.user!r}, password={self.password!r})"


class ModelLike:
    """The pydantic v2 protocol: ``model_dump()``, written by its repr."""

    def model_dump(self) -> dict[str, Any]:
        return {"user": "ada", "api_key": SECRET}

    def __repr__(self) -> str:
        return f"ModelLike(user='ada', api_key={SECRET!r})"


@dataclasses.dataclass
class LoginError(Exception):
    user: str
    password: str


class StrRaisesError(Exception):
    def __str__(self) -> str:
        return f"login failed with {self.args[0]}"


Creds = collections.namedtuple("Creds", "user password")
Point = collections.namedtuple("Point", "x y")


def chained() -> ValueError:
    try:
        try:
            raise KeyError({"token": SECRET})
        except KeyError as inner:
            raise ValueError("login failed", {"user": "ada"}) from inner
    except ValueError as outer:
        return outer


def deep_list(depth: int) -> list[Any]:
    value: list[Any] = [{"password": SECRET}]
    for _ in range(depth):
        value = [value]
    return value


def login_with_api_token() -> Login:
    login = Login("ada", password="-")
    login.api_token = SECRET  # type: ignore[attr-defined]  # not a field, but orjson writes it
    return login


def cyclic_login() -> Login:
    login = Login("ada", options={"token": SECRET})
    login.options["again"] = login
    return login


ATTACKS: dict[str, Callable[[], dict[Any, Any]]] = {
    "a value whose attribute access raises, next to a password": lambda: {
        "user": "ada",
        "password": SECRET,
        "weird": ClassRaises(),
    },
    "a dict subclass whose items() hides the password": lambda: {"user": "ada", "x": LyingDict(password=SECRET)},
    "a Mapping whose items() lies about what dict() reads": lambda: {"user": "ada", "x": LyingMapping()},
    "a list subclass whose __iter__ hides its items": lambda: {"user": "ada", "x": HidingList([{"token": SECRET}])},
    "a str subclass key whose lower() lies": lambda: {"user": "ada", "x": {LowerLies("Password"): SECRET}},
    "a str subclass key equal to a cached harmless key": lambda: {
        "a": {"user": "ada"},
        "b": {LikeCachedUser("password"): SECRET},
    },
    "a bytes key, nested": lambda: {"user": "ada", "x": {b"password": SECRET}},
    "a bytes key, at the top": lambda: {"user": "ada", b"api_key": SECRET},
    "an enum key whose value is sensitive": lambda: {"user": "ada", "x": {Key.PW: SECRET}},
    "an enum key whose name is sensitive": lambda: {"user": "ada", "x": {Field.PASSWORD: SECRET}},
    "a key whose repr is sensitive": lambda: {"user": "ada", "x": {ReprKey(): SECRET}},
    "an enum whose value holds a password": lambda: {"user": "ada", "x": Config.DB},
    "a dataclass field": lambda: {"x": Login("ada")},
    "a dict inside a dataclass": lambda: {"x": Login("ada", password="-", options={"token": SECRET})},
    "an attribute outside a dataclass's fields": lambda: {"x": login_with_api_token()},
    "a dataclass field whose getattr raises": lambda: {"user": "ada", "x": RaisingLogin(SECRET)},
    "an attrs class": lambda: {"x": AttrsLike()},
    "a pydantic-like model": lambda: {"x": ModelLike()},
    "a namedtuple field": lambda: {"x": Creds("ada", SECRET)},
    "namedtuples in a frozenset": lambda: {"x": frozenset({Creds("ada", SECRET)})},
    "an exception's arguments": lambda: {"error": ValueError("login failed", {"user": "ada", "password": SECRET})},
    "an exception chained from one with a secret": lambda: {"error": chained()},
    "an exception with its own __str__": lambda: {"user": "ada", "error": StrRaisesError({"password": SECRET})},
    "a dataclass exception, written by orjson as a dataclass": lambda: {"error": LoginError("ada", SECRET)},
    "a list nested 1000 deep": lambda: {"user": "ada", "x": deep_list(1000)},
    "a dataclass that contains itself": lambda: {"x": cyclic_login()},
}


@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
@pytest.mark.parametrize("case", list(ATTACKS), ids=list(ATTACKS))
def test_redact_keeps_the_secret_out_of_the_json_line_and_the_rest_in(case: str, binary: bool) -> None:
    line = redacted_line(ATTACKS[case](), binary=binary)
    assert SECRET not in line
    assert "ada" in line  # only what may hide a secret is masked, not the whole event


def test_redact_masks_a_secret_in_a_member_of_an_exception_group() -> None:
    if sys.version_info < (3, 11):
        pytest.skip("exception groups are Python 3.11+")
    else:  # its own branch: a type checker for Python 3.10 does not read ExceptionGroup
        group = builtins.ExceptionGroup("two failed", [ValueError({"password": SECRET}), KeyError("ada")])
        line = redacted_line({"error": group})
        assert SECRET not in line and "two failed (2 sub-exceptions)" in line and "KeyError: 'ada'" in line


def test_redact_rebuilds_a_masked_exceptions_message_and_keeps_its_traceback() -> None:
    error = json.loads(redacted_line({"error": chained()}))["error"]
    assert error["type"] == "ValueError"
    assert error["message"] == "('login failed', {'user': 'ada'})"  # this exception's own arguments are clean
    trace = error["stack_trace"]
    assert "KeyError: [REDACTED]" in trace  # KeyError has its own __str__: its message is masked whole
    assert "The above exception was the direct cause of the following exception:" in trace
    assert trace.count("in chained") == 2 and trace.endswith("ValueError: ('login failed', {'user': 'ada'})")


def test_redact_writes_an_attrs_or_pydantic_object_as_its_repr_with_the_secret_masked() -> None:
    line = json.loads(redacted_line({"a": AttrsLike(), "m": ModelLike()}))
    assert line["a"] == "AttrsLike(user='ada', password='[REDACTED]')"
    assert line["m"] == "ModelLike(user='ada', api_key='[REDACTED]')"


def test_redact_looks_inside_real_attrs_and_pydantic_objects() -> None:
    pytest.importorskip("attrs")
    pytest.importorskip("pydantic")
    import attrs
    import pydantic

    @attrs.define
    class Account:
        user: str
        password: str
        note: str = attrs.field(default=SECRET, repr=False)  # never shown by its repr, so never written

    class Inner(pydantic.BaseModel):
        api_key: str

    class Outer(pydantic.BaseModel):
        user: str
        inner: Inner

    account = Account("ada", SECRET)
    line = json.loads(redacted_line({"a": account, "o": Outer(user="ada", inner=Inner(api_key="k"))}))
    assert line["a"] == "Account(user='ada', password='[REDACTED]')"
    assert line["o"] == "Outer(user='ada', inner=Inner(api_key='[REDACTED]'))"


def test_redact_passes_values_without_secrets_on_unchanged() -> None:
    @dataclasses.dataclass
    class Job:
        job_id: str
        options: Any = None

    pending = (n for n in range(3))
    fields = {
        "job": Job("j1", {"retries": 2}),
        "point": Point(1, 2),
        "error": ValueError("x", {"n": 1}),
        "model": types.SimpleNamespace(user="ada"),
        "pending": pending,
        "field": Field.PASSWORD,
    }
    event = Event("A", "m", fields)
    assert Redact()(event) is event
    assert list(pending) == [0, 1, 2]  # a generator is written as its repr, never consumed


def test_redact_never_raises_and_masks_what_it_cannot_read() -> None:
    class Hostile:
        def __getattribute__(self, name: str) -> Any:
            raise RuntimeError(name)

    class Weird(BaseException):  # not an Exception: still masked, never raised into emit
        pass

    @dataclasses.dataclass
    class Bomb:
        token_hint: str

        def __getattribute__(self, name: str) -> Any:
            if name == "token_hint":
                raise Weird()
            return object.__getattribute__(self, name)

    event = Event("A", "m", {"h": Hostile(), "c": ClassRaises(), "b": Bomb("x"), "user": "ada"})
    out = Redact()(event)
    assert out.fields["h"] == out.fields["c"] == out.fields["b"] == "[REDACTED]" and out.fields["user"] == "ada"


def test_redact_lets_keyboard_interrupt_through() -> None:
    @dataclasses.dataclass
    class Interrupting:
        value: int

        def __getattribute__(self, name: str) -> Any:
            if name == "value":
                raise KeyboardInterrupt
            return object.__getattribute__(self, name)

    with pytest.raises(KeyboardInterrupt):
        Redact()(Event("A", "m", {"x": Interrupting(1)}))


def test_redact_masks_every_field_when_it_cannot_rebuild_the_events_fields() -> None:
    class Fickle:
        """A key that can be hashed once (into the event's dict), never again."""

        hashed = False

        def __hash__(self) -> int:
            if Fickle.hashed:
                raise RuntimeError("no second hash")
            Fickle.hashed = True
            return 1

        def __repr__(self) -> str:
            return "password"

    line = json.loads(redacted_line({Fickle(): SECRET, "user": "ada"}))
    assert SECRET not in json.dumps(line) and line["password"] == line["user"] == "[REDACTED]"


def test_redact_passes_a_mapping_that_is_not_a_dict_on_as_the_dict_it_checked() -> None:
    event = Event("A", "m", {"headers": types.MappingProxyType({"Accept": "*/*"})})
    out = Redact()(event)
    assert type(out.fields["headers"]) is dict and out.fields["headers"] == {"Accept": "*/*"}


SENSITIVE_KEYS = st.sampled_from(["password", "X-Api-Key", b"token", Key.PW, Field.PASSWORD, LowerLies("Secret")])
PLAIN_KEYS = st.sampled_from(["user", "id", 7, None, b"name", Point(1, 2)])


def with_secrets(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Containers where the secret sits only under sensitive keys (or anything at all sits there)."""
    entries = st.one_of(st.tuples(SENSITIVE_KEYS, st.one_of(st.just(SECRET), inner)), st.tuples(PLAIN_KEYS, inner))
    maps = st.lists(entries, max_size=4).map(dict)
    return st.one_of(
        maps,
        maps.map(types.MappingProxyType),
        maps.map(LyingDict),
        st.lists(inner, max_size=3),
        st.lists(inner, max_size=3).map(tuple),
        st.builds(Login, st.just("ada"), inner, inner),
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.recursive(st.one_of(st.just("ada"), st.integers(), st.none()), with_secrets, max_leaves=12))
def test_redact_never_lets_a_secret_under_a_sensitive_key_into_the_line(payload: Any) -> None:
    assert SECRET not in redacted_line({"payload": payload, "user": "ada"})
