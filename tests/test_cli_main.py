"""The command line's entry points: ``zlog`` and ``python -m zlog`` are the same program, with one version."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from pathlib import Path

import zlog

ZLOG = str(Path(sys.executable).with_name("zlog"))


def test_python_dash_m_zlog_runs_the_command_line() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "zlog", "tail", "-"], input="", capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and done.stderr == ""
    bare = subprocess.run([sys.executable, "-m", "zlog"], capture_output=True, text=True, timeout=60)
    assert bare.returncode == 2 and "usage: zlog" in bare.stderr  # no command: the help, on stderr


def test_version_is_one_source_for_the_package_the_install_and_both_commands() -> None:
    assert importlib.metadata.version("zlog") == zlog.__version__
    for command in ([ZLOG, "--version"], [sys.executable, "-m", "zlog", "--version"]):
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0 and done.stdout.strip() == f"zlog {zlog.__version__}"
