"""The built wheel: it holds every module and ``py.typed``, installs, and gives its types to a user's checker."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from test_typing import USER_CODE, assert_mypy_sees_zlog_in, describe

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, describe(done)
    [built] = out.glob("zlog-*.whl")
    return built


def test_the_wheel_holds_every_module_and_py_typed(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {str(p.relative_to(ROOT / "src")) for p in (ROOT / "src" / "zlog").rglob("*.py")}
    assert modules <= names
    assert "zlog/py.typed" in names
    assert not any(n.startswith(("tests/", "bench/", "examples/")) for n in names)


def test_the_installed_wheel_imports_without_its_dependencies_and_types_a_users_code(
    wheel: Path, tmp_path: Path
) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    site = next((venv / "lib").glob("python*/site-packages"))
    zipfile.ZipFile(wheel).extractall(site)  # what pip puts there, without fetching the dependencies
    version = subprocess.run(
        [str(python), "-c", "import zlog; print(zlog.__version__)"], capture_output=True, text=True, timeout=60
    )
    assert version.stdout.strip() == zlog_version(), describe(version)  # import zlog needs no dependency
    app = tmp_path / "app.py"
    app.write_text(USER_CODE)
    assert_mypy_sees_zlog_in(tmp_path, python)


def zlog_version() -> str:
    import zlog

    return zlog.__version__
