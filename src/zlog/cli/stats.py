"""``zlog stats``: counts, rates, job outcomes, duration percentiles, errors and worker utilization."""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

import orjson

from zlog._pretty import escape
from zlog.cli._read import InputError, format_time, open_inputs, parse, read_lines
from zlog.cli._stats import Stats

EXAMPLES = """examples:
  zlog stats app.log
  zlog demo --jobs 500 2>/dev/null | zlog stats -
  zlog stats app.log --json | jq .jobs.success_ratio
  zlog stats app.log app.log.1 --html report.html
  zlog stats app.log --duration-field took_ms --completed 'TASK_DONE' --failed 'TASK_ERROR'

success ratio = completed / (completed + abandoned) jobs; attempt failure ratio = failed attempts /
(completed + failed attempts). Outcome patterns are globs, repeatable. Durations: per completion event
the first of duration_seconds, duration_ms (/1000), duration; a --duration-field ending in _ms is /1000.
Percentiles are nearest-rank. Lines that are not zlog JSON are counted as skipped.
Reference: docs/cli/stats.md. exit codes: 0 ok, 2 usage error or missing file, 130 interrupted"""


def register(commands: Any) -> None:
    cmd = commands.add_parser(
        "stats",
        help="summarize JSON lines: rates, outcomes, durations, errors",
        epilog=EXAMPLES,
        description="Summarize zlog JSON lines (files or -).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cmd.add_argument("files", nargs="*", metavar="FILE", help="files to read; - or nothing reads stdin")
    cmd.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    cmd.add_argument("--html", metavar="FILE", help="also write a self-contained HTML report")
    cmd.add_argument(
        "--duration-field",
        metavar="NAME",
        help="duration field of completed jobs (default: duration_seconds, duration_ms or duration)",
    )
    cmd.add_argument("--completed", action="append", metavar="PATTERN", help="completion signal(s) (JOB_COMPLETED)")
    cmd.add_argument("--failed", action="append", metavar="PATTERN", help="failed-attempt signal(s) (JOB_FAILED)")
    cmd.add_argument("--abandoned", action="append", metavar="PATTERN", help="given-up signal(s) (JOB_ABANDONED)")
    cmd.set_defaults(run=run)


def collect(args: argparse.Namespace) -> Stats:
    stats = Stats(
        completed=tuple(args.completed or ("JOB_COMPLETED",)),
        failed=tuple(args.failed or ("JOB_FAILED",)),
        abandoned=tuple(args.abandoned or ("JOB_ABANDONED",)),
        duration_field=args.duration_field,
    )
    for _, stream in open_inputs(args.files):
        try:
            for raw in read_lines(stream):
                record = parse(raw)
                if record is None:
                    stats.add_unparsed()
                else:
                    stats.add(record)
        finally:
            if stream is not sys.stdin.buffer:
                stream.close()
    return stats


def run(args: argparse.Namespace) -> int:
    if args.html:
        try:
            open(args.html, "a").close()
        except OSError as exc:
            raise InputError(f"{args.html}: cannot write: {exc.strerror or exc}") from None
    summary = collect(args).summary()
    if args.html:
        from zlog.cli._html import page

        with open(args.html, "w", encoding="utf-8") as fh:
            fh.write(page(summary))
    if args.json:
        _write(orjson.dumps(summary, option=orjson.OPT_NON_STR_KEYS).decode() + "\n", is_json=True)
    else:
        _write(text(summary))
    return 0


def _write(report: str, *, is_json: bool = False) -> None:
    """Write to stdout; text from the log that stdout's encoding cannot hold is escaped, never an error."""
    try:
        sys.stdout.write(report)
    except UnicodeEncodeError:
        if is_json:  # \uXXXX escapes: still the same JSON
            report = json.dumps(orjson.loads(report), ensure_ascii=True, separators=(",", ":")) + "\n"
        else:
            encoding = sys.stdout.encoding or "ascii"
            report = report.encode(encoding, "backslashreplace").decode(encoding, "replace")
        sys.stdout.write(report)


_SHOWN = 20


def _time(seconds: float | None) -> str:
    text = None if seconds is None else format_time(seconds, sep=" ", timespec="seconds")
    return text or "-"


def _num(value: float | None, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):  # a huge value in exponent form, not hundreds of digits
        return f"{value:.{digits}f}" if abs(value) < 1e12 else f"{value:.{digits}g}"
    return str(value)


def _rate(value: float | None) -> str:
    """A rate with three significant digits below 1/s (``0.0000556``), two decimals above."""
    if value is None:
        return "-"
    if value >= 1 or value <= 0:
        return f"{value:.2f}"
    return f"{value:.{2 - math.floor(math.log10(value))}f}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    rows = [[escape(cell) for cell in row] for row in rows]  # a log's text can never drive the terminal
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    fmt = "  ".join(f"{{:<{w}}}" if i == 0 or headers[i] == "message" else f"{{:>{w}}}" for i, w in enumerate(widths))
    if headers[-1] == "message":  # free text last: not padded
        fmt = fmt.rsplit("  ", 1)[0] + "  {}"
    return ["  " + fmt.format(*headers), *("  " + fmt.format(*r) for r in rows)]


def text(s: dict[str, Any]) -> str:
    """The plain-text report."""
    if not s["events"]:
        note = f" ({s['skipped_lines']} lines were not zlog JSON)" if s["skipped_lines"] else ""
        return f"no events{note}\n"
    out = [
        f"{s['events']} events from {_time(s['first'])} to {_time(s['last'])} "
        f"({_num(s['span_seconds'], 3)} s, {_rate(s['events_per_second'])} events/s)"
        + (f"; {s['skipped_lines']} lines skipped (not zlog JSON)" if s["skipped_lines"] else ""),
        "",
        "signals",
    ]
    out += _table(
        ["signal", "count", "per s"], [[k, str(v["count"]), _rate(v["per_second"])] for k, v in s["signals"].items()]
    )
    jobs = s["jobs"]
    out += [
        "",
        f"jobs: {jobs['completed']} completed, {jobs['abandoned']} abandoned, "
        f"{jobs['failed_attempts']} failed attempts; success ratio {_pct(jobs['success_ratio'])}, "
        f"attempt failure ratio {_pct(jobs['attempt_failure_ratio'])}",
    ]
    if s["durations_seconds"]:
        out += ["", f"durations (seconds, from {s['duration_field']}; nearest-rank percentiles)"]
        out += _table(
            ["job type", "count", "p50", "p95", "p99", "max", "mean"],
            [
                [k, str(v["count"]), *(_num(v[p], 4) for p in ("p50", "p95", "p99", "max", "mean"))]
                for k, v in s["durations_seconds"].items()
            ],
        )
    elif jobs["completed"]:
        out += [
            "",
            "durations: no completion event carried "
            + (s["duration_field"] or "duration_seconds, duration_ms or duration"),
        ]
    if s["top_errors"]:
        approx = "" if s["errors_exact"] else " (approximate: too many distinct errors to count them all)"
        out += ["", f"top error types ({s['error_events']} events with an error){approx}"]
        out += _table(["type", "count"], [[e["type"], str(e["count"])] for e in s["top_error_types"]])
        out += ["", "top errors (type and message)"]
        out += _table(
            ["type", "count", "message"], [[e["type"], str(e["count"]), e["message"][:80]] for e in s["top_errors"]]
        )
    out += _utilization(s["utilization"])
    return "\n".join(out) + "\n"


def _utilization(u: dict[str, Any]) -> list[str]:
    workers: dict[str, float] = u["workers"]
    if not workers:
        if not u["worker_events"]:
            return []
        return [
            "",
            f"worker utilization: {u['worker_events']} worker events, none with worker_id, active_jobs "
            "and concurrency_limit (or concurrency)",
        ]
    out = [
        "",
        f"worker utilization (mean of active_jobs / concurrency over {u['samples']} samples): "
        f"overall {_pct(u['overall'])}",
    ]
    busiest = sorted(workers.items(), key=lambda wu: -wu[1])
    out += _table(["worker", "utilization"], [[w, _pct(r)] for w, r in busiest[:_SHOWN]])
    if len(busiest) > _SHOWN:
        out.append(f"  ... {len(busiest) - _SHOWN} more workers (--json lists them all)")
    return out
