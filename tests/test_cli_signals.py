"""``zlog signals``: lists a module's signals, as text, JSON or a JSON Schema that real lines satisfy."""

from __future__ import annotations

import importlib.util
import io
import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
from json_helpers import valid

import zlog
from zlog.cli import main

MODULE = '''
from typing import Literal, Optional
import zlog

@zlog.signal(level="error")
def JOB_FAILED(*, job_id: str, attempt: int, error: BaseException, duration_seconds: float,
               outcome: Literal["retry", "abandon"], note: Optional[str] = None, time: str = "") -> None:
    """An attempt of a job raised.

    More words that are not shown."""

UNTYPED = zlog.Signal("CACHE_MISS")
ALIAS = JOB_FAILED
'''


def _import(path: Path, name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture()
def module(tmp_path: Path) -> Path:
    path = tmp_path / "jobsignals.py"
    path.write_text(textwrap.dedent(MODULE))
    return path


def test_text_lists_each_signal_once_with_level_fields_and_first_doc_line(
    module: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["signals", str(module)]) == 0
    out = capsys.readouterr().out
    assert out.count("JOB_FAILED") == 1 and "An attempt of a job raised." in out and "More words" not in out
    lines = out.splitlines()
    fields = lines[lines.index(next(x for x in lines if x.startswith("JOB_FAILED"))) + 1 :][:7]
    assert [x.split()[:2] for x in fields][:2] == [["job_id:", "str"], ["attempt:", "int"]]
    assert len({x.index(x.split()[1]) for x in fields}) == 1  # the types line up
    assert any(x.split() == ["note:", "Optional[str]", "=", "None"] for x in fields)
    head = [x for x in lines if not x.startswith(" ")]
    assert [x.split()[0] for x in head] == ["JOB_FAILED", "CACHE_MISS"]
    assert head[0].index("error") == head[1].index("-")  # the level column lines up


def test_json_describes_fields_and_types(module: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["signals", str(module), "--json"]) == 0
    rows = {r["signal"]: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    failed = rows["JOB_FAILED"]
    assert failed["level"] == "error" and failed["typed"] is True
    assert [f["name"] for f in failed["fields"] if f["required"]] == [
        "job_id",
        "attempt",
        "error",
        "duration_seconds",
        "outcome",
    ]
    note = next(f for f in failed["fields"] if f["name"] == "note")
    assert note == {
        "name": "note",
        "type": "Optional[str]",
        "required": False,
        "default": None,
        "json": {"anyOf": [{"type": "string"}, {"type": "null"}]},
    }
    assert rows["CACHE_MISS"] == {"signal": "CACHE_MISS", "level": None, "doc": "", "typed": False, "fields": []}


def test_the_json_schema_accepts_real_lines_and_rejects_wrong_ones(
    module: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["signals", str(module), "--json-schema"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    schema = doc["$defs"]["JOB_FAILED"]
    assert schema["properties"]["fields.time"] == {"type": "string", "default": ""}  # reserved: as zlog writes it
    out = io.StringIO()
    router = zlog.Router()
    router.route_all(zlog.JSONSink(out))
    mod = _import(module, "jobsignals_again")
    router.emit(
        mod.JOB_FAILED,
        "failed",
        job_id="j1",
        attempt=2,
        error=ValueError("x"),
        duration_seconds=1,
        outcome="retry",
        time="t",
    )
    router.emit(
        mod.JOB_FAILED,
        "failed",
        job_id="j2",
        attempt=1,
        error=ValueError("y"),
        duration_seconds=0.5,
        outcome="abandon",
        note=None,
    )
    lines = [json.loads(x) for x in out.getvalue().splitlines()]
    assert all(valid(line, schema) for line in lines)
    assert not valid({**lines[0], "attempt": "2"}, schema)
    assert not valid({**lines[0], "outcome": "maybe"}, schema)
    assert not valid({k: v for k, v in lines[0].items() if k != "job_id"}, schema)
    assert not valid({**lines[0], "level": "info"}, schema)


def test_an_unimportable_module_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text("raise RuntimeError('config missing')\n")
    assert main(["signals", str(broken)]) == 2
    err = capsys.readouterr().err
    assert "RuntimeError: config missing" in err and len(err.strip().splitlines()) == 1
    assert main(["signals", "no.such.module"]) == 2
    assert "No module named" in capsys.readouterr().err


def test_a_module_without_signals_is_a_note_not_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["signals", "json"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and "declares no signals" in captured.err
    assert main(["signals", "json", "--json-schema"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$defs": {},
        "not": {},
    }


def test_the_demo_module_lists_its_signals(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["signals", "zlog.demo", "--json"]) == 0
    names = [json.loads(x)["signal"] for x in capsys.readouterr().out.splitlines()]
    assert names[:3] == ["JOB_QUEUED", "JOB_STARTED", "JOB_COMPLETED"] and "PAYMENT_PROCESSED" in names


RICH = '''
import dataclasses, datetime, enum
from typing import Any, NewType
import zlog

class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"

@dataclasses.dataclass
class Point:
    x: int
    y: int

UserId = NewType("UserId", str)

@zlog.signal(level="info")
def RICH(*, at: datetime.datetime, day: datetime.date, took: datetime.timedelta, ratio: float, color: Color,
         point: Point, tags: list[str], counts: dict[str, int], pair: tuple[int, ...], user: UserId,
         flag: bool, blob: Any, level: int = 3) -> None:
    """Every kind of field."""
'''


def test_the_schema_types_follow_how_zlog_writes_values(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "richsignals.py"
    path.write_text(textwrap.dedent(RICH))
    assert main(["signals", str(path), "--json-schema"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["oneOf"] == [{"$ref": "#/$defs/RICH"}]
    schema = doc["$defs"]["RICH"]
    props = schema["properties"]
    assert props["level"] == {"const": "info"} and props["fields.level"] == {"type": "integer", "default": 3}
    assert props["at"] == {"type": "string", "format": "date-time"} and props["day"]["format"] == "date"
    assert props["took"] == {"type": "number"} and props["ratio"] == {"type": ["number", "null"]}
    assert props["color"] == {"enum": ["red", "blue"]} and props["point"] == {"type": "object"}
    assert props["tags"] == {"type": "array", "items": {"type": "string"}}
    assert props["counts"] == {"type": "object", "additionalProperties": {"type": "integer"}}
    assert props["pair"] == {"type": "array", "items": {"type": "integer"}}
    assert props["user"] == {"type": "string"} and props["flag"] == {"type": "boolean"} and props["blob"] == {}
    assert "fields.level" not in schema["required"] and "blob" in schema["required"]
    mod = _import(path, "richsignals_again")
    out = io.StringIO()
    router = zlog.Router()
    router.route_all(zlog.JSONSink(out))
    import datetime as dt

    router.emit(
        mod.RICH,
        "rich",
        at=dt.datetime(2026, 1, 2, 3, 4, 5),
        day=dt.date(2026, 1, 2),
        took=dt.timedelta(seconds=1.5),
        ratio=float("nan"),
        color=mod.Color.BLUE,
        point=mod.Point(1, 2),
        tags=["a"],
        counts={"a": 1},
        pair=(1, 2),
        user=mod.UserId("u1"),
        flag=True,
        blob=object(),
        level=4,
    )
    line = json.loads(out.getvalue())
    assert valid(line, schema) and line["ratio"] is None and line["fields.level"] == 4


def test_an_import_that_exits_is_reported_not_obeyed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = tmp_path / "script.py"
    script.write_text("import sys\nsys.exit(3)\n")
    assert main(["signals", str(script)]) == 2
    assert "SystemExit: 3" in capsys.readouterr().err
    assert main(["signals", str(tmp_path / "missing.py")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_the_demo_schema_accepts_the_demo_lines(capsys: pytest.CaptureFixture[str]) -> None:
    from zlog import demo

    assert main(["signals", "zlog.demo", "--json-schema"]) == 0
    defs = json.loads(capsys.readouterr().out)["$defs"]
    out = io.StringIO()
    router = zlog.Router()
    router.route_all(zlog.JSONSink(out))
    router.emit(demo.JOB_QUEUED, "queued", job_id="job-1", job_type="email")
    router.emit(
        demo.JOB_FAILED,
        "failed",
        job_id="job-1",
        job_type="email",
        attempt=1,
        error=demo.TransientError("timed out"),
        duration_seconds=0.01,
    )
    router.emit(demo.PAYMENT_PROCESSED, "paid", job_id="job-1", amount_cents=100, currency="EUR")
    for line in map(json.loads, out.getvalue().splitlines()):
        assert valid(line, defs[line["signal"]]), line
    assert defs["JOB_QUEUED"]["properties"]["priority"] == {"type": "integer", "default": 0}
