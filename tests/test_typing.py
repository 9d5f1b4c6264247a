"""mypy and pyright check typed signals at the call site: wrong calls are rejected, right ones pass."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OK = ROOT / "tests" / "typing" / "typed_signals_ok.py"
BAD = ROOT / "tests" / "typing" / "typed_signals_bad.py"


def expected_error_lines() -> set[int]:
    lines = BAD.read_text().splitlines()
    marked = {n for n, line in enumerate(lines, 1) if line.rstrip().endswith("# expect-error")}
    assert len(marked) >= 6
    return marked


def error_lines(output: str, path: Path, pattern: str) -> set[int]:
    return {int(m.group(1)) for m in re.finditer(pattern.format(name=re.escape(path.name)), output)}


def run_mypy(path: Path, cache: Path) -> str:
    cmd = [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", "--cache-dir", str(cache), str(path)]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=300).stdout


def pyright() -> str:
    found = Path(sys.executable).with_name("pyright")
    if found.exists():
        return str(found)
    which = shutil.which("pyright")
    if which is None:
        pytest.skip("pyright is not installed (pip install -e '.[test]' installs it)")
    return which


def run_pyright(path: Path) -> str:
    cmd = [pyright(), "--pythonpath", sys.executable, str(path)]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=300).stdout


MYPY_ERROR = r"{name}:(\d+): error:"
PYRIGHT_ERROR = r"{name}:(\d+):\d+ - error:"


def test_mypy_accepts_correct_calls(tmp_path: Path) -> None:
    out = run_mypy(OK, tmp_path)
    assert error_lines(out, OK, MYPY_ERROR) == set(), out


def test_mypy_rejects_each_wrong_call_on_its_line(tmp_path: Path) -> None:
    out = run_mypy(BAD, tmp_path)
    assert error_lines(out, BAD, MYPY_ERROR) == expected_error_lines(), out


def test_pyright_accepts_correct_calls() -> None:
    out = run_pyright(OK)
    assert error_lines(out, OK, PYRIGHT_ERROR) == set(), out
    assert "0 errors" in out


def test_pyright_rejects_each_wrong_call_on_its_line() -> None:
    out = run_pyright(BAD)
    assert error_lines(out, BAD, PYRIGHT_ERROR) == expected_error_lines(), out
