"""``zlog stats --html``: one self-contained page with a labelled timeline, a duration histogram and the tables."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from zlog.cli import main


def line(second: int, signal: str, **fields: Any) -> str:
    return json.dumps(
        {
            "time": f"2026-11-22T{14 + second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}Z",
            "signal": signal,
            "message": "",
            **fields,
        }
    )


def report(tmp_path: Path, capsys: pytest.CaptureFixture[str], lines: list[str], *args: str) -> str:
    log = tmp_path / "app.log"
    log.write_text("\n".join(lines) + "\n")
    page = tmp_path / "report.html"
    assert main(["stats", str(log), "--html", str(page), *args]) == 0
    capsys.readouterr()
    return page.read_text(encoding="utf-8")


@pytest.fixture()
def jobs() -> list[str]:
    lines = [line(i * 7, "JOB_COMPLETED", job_type="email", duration_seconds=0.01 * (i + 1)) for i in range(30)]
    lines += [line(i * 11, "JOB_FAILED", error={"type": "TimeoutError", "message": "smtp"}) for i in range(5)]
    lines += [line(60, "WORKER_HEARTBEAT", worker_id="w1", active_jobs=3, concurrency_limit=4)]
    return lines


def test_html_report_is_one_self_contained_page(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], jobs: list[str]
) -> None:
    page = report(tmp_path, capsys, jobs)
    assert page.startswith("<!doctype html>") and page.rstrip().endswith("</html>")
    assert page.count("<svg") == 2 and "<style>" in page
    assert "http://" not in page and "https://" not in page and "<script" not in page
    assert not re.search(r"""(src|href)\s*=""", page)  # nothing loaded from anywhere


def test_timeline_rows_are_labelled_with_signal_and_total(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], jobs: list[str]
) -> None:
    page = report(tmp_path, capsys, jobs)
    assert "JOB_COMPLETED (30)" in page and "JOB_FAILED (5)" in page  # no legend to hunt for
    assert "One bar per minute" in page and "14:00 UTC" in page and "14:03 UTC" in page


def test_a_long_log_gets_wider_timeline_bars(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = report(tmp_path, capsys, [line(0, "TICK"), line(9 * 3600, "TICK")])  # 541 minutes: 3 per bar
    assert "One bar per 3 minutes" in page
    timeline = page.split("<svg", 2)[1]
    assert timeline.count("<rect") == 2


def test_duration_histogram_counts_every_duration(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], jobs: list[str]
) -> None:
    page = report(tmp_path, capsys, jobs)
    histogram = page.split("<svg")[2]
    assert "log scale" in histogram
    counts = [int(n) for n in re.findall(r": (\d+)</title>", histogram)]
    assert sum(counts) == 30


def test_tables_hold_percentiles_errors_and_utilization(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], jobs: list[str]
) -> None:
    page = report(tmp_path, capsys, jobs)
    assert "<td>email</td><td>30</td><td>0.15</td><td>0.29</td><td>0.3</td>" in page  # count, p50, p95, p99
    assert "<td>TimeoutError</td><td>smtp</td><td>5</td>" in page
    assert "<td>w1</td><td>75.0%</td>" in page
    assert "success ratio 100.0%" in page


def test_text_from_the_log_is_escaped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = report(tmp_path, capsys, [line(0, "<img src=x>", error={"type": "<b>", "message": "</table>&"})])
    assert "<img" not in page and "&lt;img src=x&gt;" in page and "&lt;/table&gt;&amp;" in page


def test_empty_input_still_writes_a_page(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = report(tmp_path, capsys, [])
    assert "<p>0 events" in page and "No event carried a readable time" in page and "No durations found" in page


def test_html_with_json_prints_json_and_writes_the_page(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], jobs: list[str]
) -> None:
    log = tmp_path / "app.log"
    log.write_text("\n".join(jobs) + "\n")
    assert main(["stats", str(log), "--json", "--html", str(tmp_path / "r.html")]) == 0
    assert json.loads(capsys.readouterr().out)["events"] == 36
    assert (tmp_path / "r.html").read_text().count("<svg") == 2


def test_an_unwritable_html_path_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], jobs: list[str]) -> None:
    log = tmp_path / "app.log"
    log.write_text("\n".join(jobs) + "\n")
    assert main(["stats", str(log), "--html", str(tmp_path / "no-such-dir" / "r.html")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("zlog: ") and err.count("\n") == 1 and "cannot write" in err


def test_a_log_from_year_1_to_the_end_of_year_9999_still_gets_its_page(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = [
        json.dumps(
            {"time": "0001-01-01T00:00:00Z", "signal": "JOB_COMPLETED", "message": "", "duration_seconds": 1.7e308}
        ),
        json.dumps(
            {
                "time": "9999-12-31T23:59:59.999999Z",
                "signal": "JOB_COMPLETED",
                "message": "",
                "duration_seconds": 5e-324,
            }
        ),
    ]
    page = report(tmp_path, capsys, lines)
    assert "from 0001-01-01T00:00:00.000000Z to 9999-12-31T23:59:59.99" in page
    timeline = page.split("<svg")[1]
    assert timeline.count("<rect") == 2 and "00:00 UTC" in timeline  # one bar at each end
    assert sum(int(n) for n in re.findall(r": (\d+)</title>", page.split("<svg")[2])) == 2
