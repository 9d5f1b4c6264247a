"""``zlog signals``: lists a module's signals, as text, JSON or a JSON Schema that real lines satisfy."""

from __future__ import annotations

import io
import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

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

TYPES = {"string": str, "integer": int, "number": (int, float), "boolean": bool, "object": dict, "array": list,
         "null": type(None)}


def valid(value: Any, schema: dict[str, Any]) -> bool:
    """The part of JSON Schema that zlog's schemas use: type, const, enum, anyOf, properties, required."""
    if "const" in schema and value != schema["const"]:
        return False
    if "enum" in schema and value not in schema["enum"]:
        return False
    if "anyOf" in schema and not any(valid(value, s) for s in schema["anyOf"]):
        return False
    kind = schema.get("type")
    if kind is not None and (not isinstance(value, TYPES[kind]) or (kind != "boolean" and isinstance(value, bool))):
        return False
    if isinstance(value, dict):
        if any(key not in value for key in schema.get("required", [])):
            return False
        return all(valid(value[k], s) for k, s in schema.get("properties", {}).items() if k in value)
    return True


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
    assert "    attempt: int\n" in out and "    note: Optional[str]  (optional)\n" in out
    assert "CACHE_MISS" in out


def test_json_describes_fields_and_types(module: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["signals", str(module), "--json"]) == 0
    rows = {r["signal"]: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    failed = rows["JOB_FAILED"]
    assert failed["level"] == "error" and failed["typed"] is True
    assert [f["name"] for f in failed["fields"] if f["required"]] == ["job_id", "attempt", "error",
                                                                     "duration_seconds", "outcome"]
    assert rows["CACHE_MISS"] == {"signal": "CACHE_MISS", "level": None, "doc": "", "typed": False, "fields": []}


def test_the_json_schema_accepts_real_lines_and_rejects_wrong_ones(
    module: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["signals", str(module), "--json-schema"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    schema = doc["$defs"]["JOB_FAILED"]
    assert schema["properties"]["fields.time"] == {"type": "string"}  # a reserved name, as zlog writes it
    out = io.StringIO()
    router = zlog.Router()
    router.route_all(zlog.JSONSink(out))
    import importlib.util

    spec = importlib.util.spec_from_file_location("jobsignals_again", module)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    router.emit(mod.JOB_FAILED, "failed", job_id="j1", attempt=2, error=ValueError("x"), duration_seconds=1,
                outcome="retry", time="t")
    router.emit(mod.JOB_FAILED, "failed", job_id="j2", attempt=1, error=ValueError("y"), duration_seconds=0.5,
                outcome="abandon", note=None)
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


def test_the_demo_module_lists_its_signals(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["signals", "zlog.demo", "--json"]) == 0
    names = [json.loads(x)["signal"] for x in capsys.readouterr().out.splitlines()]
    assert names[:3] == ["JOB_QUEUED", "JOB_STARTED", "JOB_COMPLETED"] and "PAYMENT_PROCESSED" in names
