"""The self-contained HTML page of ``zlog stats --html``: inline CSS and SVG, no script, no network."""

from __future__ import annotations

import html
from datetime import datetime, timezone
from typing import Any

__all__ = ["page"]

_PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
            "#17becf"]
_CSS = """body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222;max-width:1100px}
h1{font-size:1.4em}h2{font-size:1.1em;margin-top:2em}table{border-collapse:collapse}
td,th{padding:2px 10px;border-bottom:1px solid #ddd;text-align:right}td:first-child,th:first-child{text-align:left}
.note{color:#666}svg text{font:11px system-ui,sans-serif;fill:#333}"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _clock(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%H:%M")


def _timeline(timeline: dict[str, dict[str, int]]) -> str:
    """Small multiples: one row of bars per signal, events per minute, the signal named on its row."""
    minutes = sorted({int(m) for series in timeline.values() for m in series})
    if not minutes:
        return "<p class=note>No event carried a readable time.</p>"
    start, end = minutes[0], minutes[-1]
    columns = (end - start) // 60 + 1
    label_w, row_h, width = 190, 34, 860
    bar_w = max(1.0, (width - label_w - 60) / columns)
    rows = sorted(timeline.items(), key=lambda kv: -sum(kv[1].values()))
    peak = max(n for series in timeline.values() for n in series.values())
    parts = [f'<svg role=img aria-label="events per signal per minute" width="{width}" '
             f'height="{row_h * len(rows) + 24}">']
    for i, (signal, series) in enumerate(rows):
        y = i * row_h
        color = _PALETTE[i % len(_PALETTE)]
        total = sum(series.values())
        parts.append(f'<text x="0" y="{y + row_h - 12}">{_e(signal)} ({total})</text>')
        for minute, count in series.items():
            x = label_w + (int(minute) - start) // 60 * bar_w
            h = max(1.0, (row_h - 8) * count / peak)
            parts.append(f'<rect x="{x:.1f}" y="{y + row_h - 6 - h:.1f}" width="{max(1.0, bar_w - 1):.1f}" '
                         f'height="{h:.1f}" fill="{color}"><title>{_e(signal)} {_clock(int(minute))}: '
                         f'{count}</title></rect>')
    axis_y = row_h * len(rows) + 16
    parts.append(f'<text x="{label_w}" y="{axis_y}">{_clock(start)} UTC</text>')
    parts.append(f'<text x="{label_w + columns * bar_w}" y="{axis_y}" text-anchor="end">{_clock(end)} UTC</text>')
    parts.append("</svg>")
    return "".join(parts)


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
        parts.append(f'<rect x="{x:.1f}" y="{height - bottom - h:.1f}" width="{bar_w - 2:.1f}" height="{h:.1f}" '
                     f'fill="#1f77b4"><title>{b["low"]:.4g} to {b["high"]:.4g} s: {int(b["count"])}</title></rect>')
        if b["count"]:
            parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{height - bottom - h - 4:.1f}" '
                         f'text-anchor="middle">{int(b["count"])}</text>')
        parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{height - bottom + 14}" text-anchor="middle">'
                     f'{b["low"]:.3g}</text>')
    parts.append(f'<text x="{left}" y="{height - 6}">seconds (log scale, lower bucket edge)</text></svg>')
    return "".join(parts)


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _f(value: Any, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}g}" if isinstance(value, float) else str(value)


def page(s: dict[str, Any]) -> str:
    """The whole report as one HTML document."""
    jobs = s["jobs"]
    ratio = "-" if jobs["success_ratio"] is None else f"{jobs['success_ratio']:.1%}"
    sections = [
        f"<h1>zlog stats</h1><p>{s['events']} events over {_f(s['span_seconds'], 3)} s; "
        f"{s['skipped_lines']} lines were not zlog JSON.</p>",
        f"<h2>Jobs</h2><p>{jobs['completed']} completed, {jobs['abandoned']} abandoned, "
        f"{jobs['failed_attempts']} failed attempts: success ratio {ratio}.</p>",
        "<h2>Events per signal per minute</h2>" + _timeline(s["timeline"]),
        f"<h2>Job durations</h2><p class=note>From the field {_e(s['duration_field'] or '-')}.</p>"
        + _histogram(s["duration_histogram"])
        + _table(["job type", "count", "p50 s", "p95 s", "p99 s", "max s"],
                 [[k, v["count"], _f(v["p50"]), _f(v["p95"]), _f(v["p99"]), _f(v["max"])]
                  for k, v in s["durations_seconds"].items()]),
        "<h2>Signals</h2>" + _table(["signal", "count", "per second"],
                                    [[k, v["count"], _f(v["per_second"], 3)] for k, v in s["signals"].items()]),
        "<h2>Top errors</h2>" + _table(["type", "message", "count"],
                                       [[e["type"], e["message"], e["count"]] for e in s["top_errors"]]),
        "<h2>Worker utilization</h2>" + _table(["worker", "mean active / concurrency"],
                                               [[w, f"{u:.1%}"] for w, u in s["utilization"]["workers"].items()]),
    ]
    return (f"<!doctype html><html lang=en><head><meta charset=utf-8><title>zlog stats</title>"
            f"<style>{_CSS}</style></head><body>{''.join(sections)}</body></html>\n")
