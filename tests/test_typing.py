"""mypy and pyright check typed signals at the call site: wrong calls are rejected, right ones pass.

``tests/typing/typed_signals_ok.py`` must type-check cleanly (mypy --strict, pyright strict);
``tests/typing/typed_signals_bad.py`` must give errors on exactly the lines marked ``# expect-error``.
They also run from a project outside the repository, as a user's would, where they find zlog only
through the install (``pip install -e .`` puts ``src`` on the path with a plain ``.pth`` line, which type
checkers follow).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import zlog

ROOT = Path(__file__).resolve().parent.parent
TYPING = ROOT / "tests" / "typing"
OK = TYPING / "typed_signals_ok.py"
BAD = TYPING / "typed_signals_bad.py"

MYPY_ERROR = r"{name}:(\d+):\d+: error:"
PYRIGHT_ERROR = r"{name}:(\d+):\d+ - error:"


def expected_error_lines() -> set[int]:
    lines = BAD.read_text().splitlines()
    marked = {n for n, line in enumerate(lines, 1) if line.rstrip().endswith("# expect-error")}
    assert len(marked) >= 5, "the bad file must keep its expect-error lines"
    return marked


def error_lines(output: str, path: Path, pattern: str) -> set[int]:
    return {int(m.group(1)) for m in re.finditer(pattern.format(name=re.escape(path.name)), output)}


def describe(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit status {result.returncode}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"


def run_mypy(path: Path, cache: Path) -> subprocess.CompletedProcess[str]:
    cmd = [
        sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--no-error-summary",
        "--show-column-numbers", "--cache-dir", str(cache), str(path.relative_to(ROOT)),
    ]  # fmt: skip
    result = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=300)
    if "No module named mypy" in result.stderr:
        pytest.skip("mypy is not installed (pip install -e '.[test]' installs it)")
    assert result.returncode in (0, 1), f"mypy did not run properly: {describe(result)}"
    return result


def pyright() -> str:
    found = Path(sys.executable).with_name("pyright")
    if found.exists():
        return str(found)
    which = shutil.which("pyright")
    if which is None:
        pytest.skip("pyright is not installed (pip install -e '.[test]' installs it)")
    return which


def run_pyright(path: Path) -> subprocess.CompletedProcess[str]:
    cmd = [pyright(), "--pythonpath", sys.executable, str(path)]
    result = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode in (0, 1), f"pyright did not run properly: {describe(result)}"
    return result


def test_mypy_accepts_correct_calls(tmp_path: Path) -> None:
    result = run_mypy(OK, tmp_path)
    assert error_lines(result.stdout, OK, MYPY_ERROR) == set(), describe(result)
    assert result.returncode == 0, describe(result)


def test_mypy_rejects_each_wrong_call_on_its_line(tmp_path: Path) -> None:
    result = run_mypy(BAD, tmp_path)
    assert error_lines(result.stdout, BAD, MYPY_ERROR) == expected_error_lines(), describe(result)


def test_pyright_accepts_correct_calls() -> None:
    result = run_pyright(OK)
    assert error_lines(result.stdout, OK, PYRIGHT_ERROR) == set(), describe(result)
    assert "0 errors, 0 warnings" in result.stdout, describe(result)
    assert result.returncode == 0, describe(result)


def test_pyright_rejects_each_wrong_call_on_its_line() -> None:
    result = run_pyright(BAD)
    assert error_lines(result.stdout, BAD, PYRIGHT_ERROR) == expected_error_lines(), describe(result)


def test_pyright_is_clean_on_the_package_itself() -> None:
    """Pyright and Pylance users see zlog's own annotations: they must hold there too."""
    result = run_pyright(Path(zlog.__file__).parent)
    assert re.search(r"(?<!\d)0 errors", result.stdout) and result.returncode == 0, describe(result)


USER_CODE = """\
import zlog

@zlog.signal(level="info")
def JOB_QUEUED(*, job_id: str, priority: int = 0) -> None:
    \"\"\"A job was queued.\"\"\"

zlog.route("JOB_*", zlog.JSONSink(), level="info")
zlog.emit(JOB_QUEUED, "queued", job_id="j1", priority=1)
zlog.emit(JOB_QUEUED, "queued", job_id=1)  # the one error
"""


def assert_mypy_sees_zlog_in(project: Path, python: Path | None = None) -> None:
    """mypy --strict on ``project/app.py`` (``USER_CODE``) finds zlog, from ``python``'s environment when
    given, and reports exactly the one wrong call."""
    where = [] if python is None else ["--python-executable", str(python)]
    command = [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--show-column-numbers", *where,
               "--cache-dir", str(project / "cache"), "app.py"]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, cwd=project, timeout=300)
    assert "Cannot find implementation" not in done.stdout, describe(done)
    assert error_lines(done.stdout, project / "app.py", MYPY_ERROR) == {9}, describe(done)


def test_mypy_and_pyright_see_zlogs_types_from_a_project_outside_the_repository(tmp_path: Path) -> None:
    app = tmp_path / "app.py"
    app.write_text(USER_CODE)
    assert_mypy_sees_zlog_in(tmp_path)
    checked = subprocess.run(
        [pyright(), "--pythonpath", sys.executable, "app.py"], capture_output=True, text=True, cwd=tmp_path, timeout=300
    )
    assert "could not be resolved" not in checked.stdout, describe(checked)
    assert error_lines(checked.stdout, app, PYRIGHT_ERROR) == {9}, describe(checked)
