"""The self-contained HTML page of ``zlog stats --html``: inline CSS and SVG, no script, no network."""

from __future__ import annotations

import html
import math
from typing import Any

from zlog.cli._read import format_time

__all__ = ["page"]

#: Most bars in a timeline row: a longer log gets bars of several minutes each.
MAX_COLUMNS = 240

_PALETTE = [
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#ff7f0e",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
]
_CSS = """body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222;max-width:1100px}
h1{font-size:1.4em}h2{font-size:1.1em;margin-top:2em}table{border-collapse:collapse}
td,th{padding:2px 10px;border-bottom:1px solid #ddd;text-align:right}td:first-child,th:first-child{text-align:left}
.note{color:#666}svg text{font:11px system-ui,sans-serif;fill:#333}"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _clock(seconds: float) -> str:
    text = format_time(seconds, timespec="minutes")
    return "?" if text is None else text[11:16]


def _timeline(timeline: dict[str, dict[str, int]]) -> str:
    """Small multiples: one row of bars per signal, events per minute, the signal named on its row."""
    minutes = sorted({int(m) for series in timeline.values() for m in series})
    if not minutes:
        return "<p class=note>No event carried a readable time.</p>"
    start, end = minutes[0], minutes[-1]
    step = 60 * max(1, math.ceil(((end - start) // 60 + 1) / MAX_COLUMNS))  # a long log: wider bars
    timeline = {signal: _rebucket(series, start, step) for signal, series in timeline.items()}
    end = start + (end - start) // step * step
    columns = (end - start) // step + 1
    label_w, row_h, width = 190, 34, 860
    bar_w = min(40.0, max(1.0, (width - label_w - 60) / columns))
    rows = sorted(timeline.items(), key=lambda kv: -sum(kv[1].values()))
    peak = max(n for series in timeline.values() for n in series.values())
    parts = [
        f'<svg role=img aria-label="events per signal per minute" width="{width}" height="{row_h * len(rows) + 24}">'
    ]
    for i, (signal, series) in enumerate(rows):
        y = i * row_h
        color = _PALETTE[i % len(_PALETTE)]
        total = sum(series.values())
        parts.append(f'<text x="0" y="{y + row_h - 12}">{_e(signal)} ({total})</text>')
        for minute, count in series.items():
            x = label_w + (int(minute) - start) // step * bar_w
            h = max(1.0, (row_h - 8) * count / peak)
            parts.append(
                f'<rect x="{x:.1f}" y="{y + row_h - 6 - h:.1f}" width="{max(1.0, bar_w - 1):.1f}" '
                f'height="{h:.1f}" fill="{color}"><title>{_e(signal)} {_clock(int(minute))}: '
                f"{count}</title></rect>"
            )
    axis_y = row_h * len(rows) + 16
    parts.append(f'<text x="{label_w}" y="{axis_y}">{_clock(start)} UTC</text>')
    parts.append(f'<text x="{label_w + columns * bar_w}" y="{axis_y}" text-anchor="end">{_clock(end)} UTC</text>')
    parts.append("</svg>")
    note = (
        f"<p class=note>One bar per {step // 60} minutes (one per minute would be too narrow). "
        if step > 60
        else "<p class=note>One bar per minute. "
    )
    note += f"Bar heights share one scale: the tallest bar is {peak} events.</p>"
    return note + "".join(parts)


def _rebucket(series: dict[str, int], start: int, step: int) -> dict[str, int]:
    out: dict[str, int] = {}
    for minute, count in series.items():
        key = str(start + (int(minute) - start) // step * step)
        out[key] = out.get(key, 0) + count
    return out


def _histogram(buckets: list[dict[str, float]]) -> str:
    if not buckets:
        return "<p class=note>No durations found.</p>"
    width, height, left, bottom = 860, 220, 50, 40
    peak = max(b["count"] for b in buckets) or 1
    bar_w = (width - left - 10) / len(buckets)
    parts = [f'<svg role=img aria-label="job duration histogram" width="{width}" height="{height}">']
    for i, b in enumerate(buckets):
        h = (height - bottom - 20) * b["count"] / peak
        x = left + i * bar_w
        parts.append(
            f'<rect x="{x:.1f}" y="{height - bottom - h:.1f}" width="{bar_w - 2:.1f}" height="{h:.1f}" '
            f'fill="#1f77b4"><title>{b["low"]:.4g} to {b["high"]:.4g} s: {int(b["count"])}</title></rect>'
        )
        if b["count"]:
            parts.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{height - bottom - h - 4:.1f}" '
                f'text-anchor="middle">{int(b["count"])}</text>'
            )
        parts.append(
            f'<text x="{x + bar_w / 2:.1f}" y="{height - bottom + 14}" text-anchor="middle">{b["low"]:.3g}</text>'
        )
    parts.append(f'<text x="{left}" y="{height - 6}">seconds (log scale, lower bucket edge)</text></svg>')
    return "".join(parts)


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _f(value: Any, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}g}" if isinstance(value, float) else str(value)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def page(s: dict[str, Any]) -> str:
    """The whole report as one HTML document."""
    jobs = s["jobs"]
    util = s["utilization"]
    span = f"from {_e(s['first_time'])} to {_e(s['last_time'])}, " if s["first_time"] else ""
    sections = [
        f"<h1>zlog stats</h1><p>{s['events']} events {span}{_f(s['span_seconds'], 3)} s, "
        f"{_f(s['events_per_second'], 4)} events/s; {s['skipped_lines']} lines were not zlog JSON.</p>",
        f"<h2>Jobs</h2><p>{jobs['completed']} completed, {jobs['abandoned']} abandoned, "
        f"{jobs['failed_attempts']} failed attempts: success ratio {_pct(jobs['success_ratio'])} "
        f"(completed / (completed + abandoned)), attempt failure ratio {_pct(jobs['attempt_failure_ratio'])} "
        f"(failed / (completed + failed)).</p>",
        "<h2>Events per signal per minute</h2>" + _timeline(s["timeline"]),
        f"<h2>Job durations</h2><p class=note>From the field {_e(s['duration_field'] or '-')}.</p>"
        + _histogram(s["duration_histogram"])
        + _table(
            ["job type", "count", "p50 s", "p95 s", "p99 s", "min s", "max s", "mean s"],
            [
                [k, v["count"], *(_f(v[p]) for p in ("p50", "p95", "p99", "min", "max", "mean"))]
                for k, v in s["durations_seconds"].items()
            ],
        )
        + "<p class=note>Nearest-rank percentiles: always a duration that occurred.</p>",
        "<h2>Signals</h2>"
        + _table(
            ["signal", "count", "per second"],
            [[k, v["count"], _f(v["per_second"], 3)] for k, v in s["signals"].items()],
        ),
        f"<h2>Top errors</h2><p class=note>{s['error_events']} events carried an error"
        + ("" if s["errors_exact"] else " (counts approximate: too many distinct errors)")
        + ".</p>"
        + _table(["type", "count"], [[e["type"], e["count"]] for e in s["top_error_types"]])
        + _table(["type", "message", "count"], [[e["type"], e["message"], e["count"]] for e in s["top_errors"]]),
        f"<h2>Worker utilization</h2><p>Overall {_pct(util['overall'])}: the mean of active_jobs / concurrency "
        f"over {util['samples']} samples from {util['worker_events']} worker events.</p>"
        + _table(["worker", "mean active / concurrency"], [[w, _pct(u)] for w, u in util["workers"].items()]),
    ]
    return (
        f"<!doctype html><html lang=en><head><meta charset=utf-8><title>zlog stats</title>"
        f"<style>{_CSS}</style></head><body>{''.join(sections)}</body></html>\n"
    )
