"""The core benchmark's cases run and write the lines they claim (no timing is asserted here)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import bench_core

ZLOG_AND_FLOOR_CASES = [cid for cid in bench_core.CASES if not cid.startswith("sl_")]  # sl_*: structlog


@pytest.mark.parametrize("cid", ZLOG_AND_FLOOR_CASES)
def test_each_case_writes_exactly_the_target_lines(cid: str, tmp_path: Path) -> None:
    # sample() checks the line count and the fields of the output, and raises SystemExit if wrong
    assert bench_core.sample(cid, 300, 20, str(tmp_path)) > 0
    assert list(tmp_path.iterdir()) == []  # the output was checked and removed


def test_every_target_names_cases_that_exist() -> None:
    for _label, case, reference, limit in bench_core.TARGETS:
        assert case in bench_core.CASES and reference in bench_core.CASES and limit > 0


def test_every_cost_names_cases_that_exist() -> None:
    for _label, case, reference in bench_core.COSTS:
        assert case in bench_core.CASES and reference in bench_core.CASES
