"""The benchmarks' cases run and do what they claim (no timing is asserted here)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from conftest import require_service

import zlog

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import bench_core
import bench_flush
import bench_loop_lag

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


@pytest.mark.parametrize("case", bench_loop_lag.CASES)
def test_each_loop_lag_case_runs_its_load_and_a_stalled_server_gets_nothing(case: str) -> None:
    if case in bench_loop_lag.NEEDS:
        require_service(case, "127.0.0.1", bench_loop_lag.NEEDS[case])
    result = bench_loop_lag.run_case(case, tasks=10, per_task=5, interval=0.005, seconds=10)
    assert result["emitted"] == 50 and result["ticks"] > 0
    if case in ("redis_stalled", "nats_stalled"):
        assert result["sent"] == 1  # only the warm-up: the paused proxy let nothing through


def test_the_flush_benchmark_times_every_case_and_leaves_no_route_behind() -> None:
    result = bench_flush.run_once(20, with_redis=False)
    assert set(result) == {"emit_only", "emit_then_flush", "idle_flush"} and min(result.values()) > 0
    assert zlog.routes() == ()
