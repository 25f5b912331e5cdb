"""The quality report: one static HTML page, `<reports>/quality/index.html`, built from the results table.

It answers, for the last `[quality] docs_days` days: did each night pass, which checks failed on
which day and stage, what was observed, and how failures trend. The page is self-contained (inline
CSS and SVG, no script, nothing fetched), so it opens offline, from a file or an artifact store.

It is rendered from the results table rather than Great Expectations' Data Docs: those list one
validation run at a time from a GX store that every task process of a night would have to share,
and link their CSS and JavaScript from public CDNs; the results table already holds every night's
outcomes, which is what the page needs to show day by day.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from html import escape
from pathlib import Path

from databank.config import Settings
from databank.quality.results import read_results

STAGES = ("bronze", "silver", "gold")
CHART_HEIGHT = 120
BAR_WIDTH = 18

STYLE = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "Noto Sans CJK SC", sans-serif;
       margin: 24px 32px; color: #1f2328; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 18px; margin-top: 32px; }
h3 { font-size: 15px; margin: 24px 0 6px; }
.meta { color: #59636e; }
table { border-collapse: collapse; margin: 8px 0; }
th, td { border: 1px solid #d1d9e0; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
td.num { text-align: right; }
.passed { background: #dafbe1; } .warning { background: #fff1c2; } .failed { background: #ffd7d5; }
.none { background: #f6f8fa; color: #8c959f; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-weight: 600; }
.matrix td { text-align: center; min-width: 26px; padding: 2px 4px; }
.matrix th.day { writing-mode: vertical-rl; transform: rotate(180deg); font-weight: normal; }
code, .details { font: 12px/1.4 ui-monospace, monospace; }
.details { white-space: pre-wrap; max-width: 560px; word-break: break-word; }
"""


def build_data_docs(settings: Settings) -> Path:
    """Write the quality report for the last `docs_days` days with results; return its index.html."""
    results = read_results(settings)
    days = sorted(set(results.column("run_date").to_pylist()))
    since = days[-1] - timedelta(days=settings.quality.docs_days - 1) if days else None
    rows = [row for row in results.to_pylist() if since and row["run_date"] >= since]
    page = _page(rows, datetime.now(UTC))
    folder = settings.reports / "quality"
    folder.mkdir(parents=True, exist_ok=True)
    index = folder / "index.html"
    # Gates of one night finish in parallel: write aside, then swap, so a reader never sees half a page.
    partial = folder / f".index.{os.getpid()}.html"
    partial.write_text(page, encoding="utf-8")
    os.replace(partial, index)
    return index


def _page(rows: list[dict], generated: datetime) -> str:
    by_day: dict[date, list[dict]] = defaultdict(list)
    for row in rows:
        by_day[row["run_date"]].append(row)
    days = sorted(by_day, reverse=True)
    body = [
        "<h1>databank — data quality</h1>",
        f'<p class="meta">Generated {generated:%Y-%m-%d %H:%M} UTC from '
        "<code>lakehouse/quality/expectation_results</code>. "
        "A failed <b>critical</b> check stops the night before publish; a failed <b>warning</b> is "
        "recorded only.</p>",
    ]
    if not days:
        body.append("<p>No quality results yet: the gates have not run.</p>")
    else:
        body += [
            _nights(days, by_day),
            _trend(sorted(by_day), by_day),
            _matrix(sorted(by_day), by_day),
            "<h2>Failed checks by day</h2>",
            *(_day_section(day, by_day[day]) for day in days),
        ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        "<title>databank — data quality</title>"
        f"<style>{STYLE}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )


def _status(rows: list[dict]) -> str:
    """passed, warning (only warnings failed), failed (a critical check failed) or none (not run)."""
    if not rows:
        return "none"
    failed = [r for r in rows if not r["success"]]
    if any(r["severity"] == "critical" for r in failed):
        return "failed"
    return "warning" if failed else "passed"


def _counts(rows: list[dict]) -> str:
    failed = [r for r in rows if not r["success"]]
    critical = sum(r["severity"] == "critical" for r in failed)
    parts = [f"{len(rows) - len(failed)} passed"]
    if critical:
        parts.append(f"{critical} critical failed")
    if len(failed) - critical:
        parts.append(f"{len(failed) - critical} warnings")
    return ", ".join(parts)


def _nights(days: list[date], by_day: dict[date, list[dict]]) -> str:
    header = "".join(f"<th>{stage}</th>" for stage in STAGES)
    lines = [f"<h2>Nights</h2><table><tr><th>day</th><th>verdict</th>{header}</tr>"]
    for day in days:
        status = _status(by_day[day])
        cells = ""
        for stage in STAGES:
            stage_rows = [r for r in by_day[day] if r["stage"] == stage]
            text = _counts(stage_rows) if stage_rows else "not run"
            cells += f'<td class="{_status(stage_rows)}">{text}</td>'
        lines.append(
            f'<tr><td><a href="#day-{day}">{day}</a></td>'
            f'<td><span class="badge {status}">{status}</span></td>{cells}</tr>'
        )
    return "\n".join([*lines, "</table>"])


def _trend(days: list[date], by_day: dict[date, list[dict]]) -> str:
    """Failed checks per day as stacked bars (critical under warning), oldest day on the left."""
    failures = {
        day: (
            sum(not r["success"] and r["severity"] == "critical" for r in by_day[day]),
            sum(not r["success"] and r["severity"] != "critical" for r in by_day[day]),
        )
        for day in days
    }
    most = max([critical + warning for critical, warning in failures.values()] + [1])
    width = len(days) * (BAR_WIDTH + 6) + 40
    bars = []
    for n, day in enumerate(days):
        critical, warning = failures[day]
        x = 30 + n * (BAR_WIDTH + 6)
        bottom = CHART_HEIGHT
        for count, colour in ((critical, "#cf222e"), (warning, "#d4a72c")):
            height = round(count / most * (CHART_HEIGHT - 10))
            bars.append(
                f'<rect x="{x}" y="{bottom - height}" width="{BAR_WIDTH}" height="{height}" fill="{colour}">'
                f"<title>{day}: {count}</title></rect>"
            )
            bottom -= height
        if critical + warning == 0:
            bars.append(
                f'<rect x="{x}" y="{CHART_HEIGHT - 2}" width="{BAR_WIDTH}" height="2" fill="#1a7f37"/>'
            )
    return (
        "<h2>Trend</h2>"
        '<p class="meta">Failed checks per day: <span style="color:#cf222e">critical</span>, '
        '<span style="color:#d4a72c">warning</span>; a green line is a clean night.</p>'
        f'<svg width="{width}" height="{CHART_HEIGHT + 24}" role="img" aria-label="failed checks per day">'
        f'<text x="0" y="12" font-size="11">{most}</text>'
        f'<line x1="28" y1="{CHART_HEIGHT}" x2="{width}" y2="{CHART_HEIGHT}" stroke="#8c959f"/>'
        + "".join(bars)
        + f'<text x="30" y="{CHART_HEIGHT + 18}" font-size="11">{days[0]}</text>'
        + f'<text x="{width - 70}" y="{CHART_HEIGHT + 18}" font-size="11">{days[-1]}</text></svg>'
    )


def _matrix(days: list[date], by_day: dict[date, list[dict]]) -> str:
    """Suite and asset by day: how many of its checks failed, coloured by the worst severity."""
    cells: dict[tuple[str, str], dict[date, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for day in days:
        for row in by_day[day]:
            cells[(row["suite"], row["asset"])][day].append(row)
    header = "".join(f'<th class="day">{day:%m-%d}</th>' for day in days)
    lines = [
        "<h2>Checks by suite and day</h2>",
        '<p class="meta">Each cell: failed checks of the suite on that day (hover for their names); '
        "✓ all passed, blank: not run.</p>",
        f'<table class="matrix"><tr><th>suite</th><th>asset</th>{header}</tr>',
    ]
    for suite, asset in sorted(cells, key=lambda key: (STAGES.index(key[0].split(".")[0]), key)):
        row = f"<tr><td><code>{escape(suite)}</code></td><td>{escape(asset)}</td>"
        for day in days:
            checks = cells[(suite, asset)].get(day, [])
            failed = [r["expectation"] for r in checks if not r["success"]]
            text = str(len(failed)) if failed else ("✓" if checks else "")
            row += f'<td class="{_status(checks)}" title="{escape(", ".join(failed))}">{text}</td>'
        lines.append(row + "</tr>")
    return "\n".join([*lines, "</table>"])


def _day_section(day: date, rows: list[dict]) -> str:
    failed = sorted(
        (r for r in rows if not r["success"]),
        key=lambda r: (r["severity"] != "critical", STAGES.index(r["stage"]), r["suite"], r["expectation"]),
    )
    heading = f'<h3 id="day-{day}">{day} — <span class="badge {_status(rows)}">{_status(rows)}</span> '
    heading += f'<span class="meta">{_counts(rows)}</span></h3>'
    if not failed:
        return heading + "<p>Every check passed.</p>"
    lines = [
        heading,
        "<table><tr><th>severity</th><th>stage</th><th>suite</th><th>asset</th><th>check</th>"
        "<th>observed</th><th>details</th></tr>",
    ]
    for r in failed:
        lines.append(
            f'<tr class="{"failed" if r["severity"] == "critical" else "warning"}">'
            f"<td>{r['severity']}</td><td>{r['stage']}</td><td><code>{escape(r['suite'])}</code></td>"
            f"<td>{escape(r['asset'])}</td><td><code>{escape(r['expectation'])}</code></td>"
            f"<td>{escape(r['observed_value'] or '')}</td>"
            f'<td class="details">{escape(_readable(r["details"]))}</td></tr>'
        )
    return "\n".join([*lines, "</table>"])


def _readable(details: str | None) -> str:
    """What a person needs from the details: the rule's arguments, the sample it did not expect."""
    if not details:
        return ""
    values = json.loads(details)
    parts = [", ".join(f"{k}={v}" for k, v in values.get("kwargs", {}).items())]
    if "unexpected_rows" in values:
        parts.append("rows: " + json.dumps(values["unexpected_rows"], ensure_ascii=False, default=str))
    elif "unexpected_sample" in values:
        parts.append("values: " + json.dumps(values["unexpected_sample"], ensure_ascii=False, default=str))
    if "error" in values:
        parts.append("error: " + values["error"].splitlines()[0])
    return "\n".join(p for p in parts if p)
