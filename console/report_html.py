"""The shareable report: one self-contained HTML file (inline CSS and SVG, no script, no CDN).

`gather()` reads the ledger with indexed aggregates only (the hourly rollup behind
`ledger_report.build_report`, the rule and status indexes, the covering history index for PII
types), so a million-row ledger takes well under the 5 s budget; `render()` turns that into the
page. Every text from the ledger (prompts, rule and model names, error classes) is cleaned of
control codes and HTML-escaped: a stored prompt can neither run a script nor break the layout.
Prompt text appears only when `[ledger] store_prompts` is not "none".

Colours come from CSS variables with a `prefers-color-scheme` switch, so the page and its charts
read in dark and light; `@media print` keeps sections whole on paper.
"""

from __future__ import annotations

import html
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from console.ledger import Ledger
from console.ledger_report import LedgerReport, build_report, parse_since
from console.outside_text import clean
from policies.config import Config

#: Series colours by tier (CSS classes); anything else is drawn as "other".
_TIER_CLASSES = {"local": "local", "cloud": "cloud", "pool": "pool", "none": "none"}


@dataclass(frozen=True)
class QualityPoint:
    """One point of the cost-quality curve: a policy setting, its cost and its measured quality."""

    label: str
    cost_usd: float
    quality: float
    samples: int


@dataclass(frozen=True)
class Breakdown:
    """One row of a count table: a name and how many requests."""

    name: str
    requests: int


@dataclass(frozen=True)
class Incident:
    """Requests that did not simply succeed, grouped by status, fallback path and error class."""

    status: str
    fallback_path: str
    error_class: str
    requests: int


@dataclass(frozen=True)
class ReportData:
    """Everything the page shows, read from the ledger."""

    report: LedgerReport
    by_rule: tuple[Breakdown, ...]
    pii_by_type: tuple[Breakdown, ...]
    pii_requests: int
    incidents: tuple[Incident, ...]
    quality: tuple[QualityPoint, ...]
    show_prompts: bool


def _window_start(since: str, now: float) -> float:
    window = parse_since(since)
    return float("-inf") if window is None else now - window


#: Complexity thresholds the report's cost-quality curve is drawn at.
QUALITY_THRESHOLDS = tuple(round(0.1 * step, 1) for step in range(11))


def quality_points(ledger: Ledger, config: Config, since_ts: float) -> tuple[QualityPoint, ...]:
    """The cost-quality curve: `router.complexity_threshold` swept over the window's history,
    with the judged quality of each setting from the ledger's evidence (ratings and eval
    verdicts, console.evidence). No evidence, no points: the section then says so."""
    from console.quality_curve import read_curve_inputs, threshold_curve

    history, evidence = read_curve_inputs(ledger, since_ts if since_ts != float("-inf") else None)
    if not evidence:
        return ()
    curve = threshold_curve(history, evidence, config, QUALITY_THRESHOLDS)
    return tuple(
        QualityPoint(
            f"threshold {point.threshold:g}",
            point.cost_usd,
            share,
            point.quality.judged,
        )
        for point in curve.points
        if point.quality is not None and (share := point.quality.quality) is not None
    )


def gather(
    ledger: Ledger,
    config: Config,
    since: str = "7d",
    now: float | None = None,
    quality: Sequence[QualityPoint] | None = None,
) -> ReportData:
    """Read what the report shows for the window `since` ("24h", "7d", "30d", "all")."""
    now = time.time() if now is None else now
    report = build_report(ledger, config, since, now)
    start = _window_start(since, now)
    by_rule = ledger.execute(
        "SELECT fired_rule, COUNT(*) FROM requests INDEXED BY ix_requests_rule_ts "
        "WHERE ts >= ? AND ts <= ? GROUP BY fired_rule ORDER BY 2 DESC, 1",
        (start, now),
    )
    # PII types sit in the compact router inputs (policies.trace_inputs: index 4 holds the
    # types), which the covering history index holds: no wide row is read. That index is in id
    # (recording) order, so the scan starts at the window's first id, found through the ts index.
    first_id = ledger.execute("SELECT MIN(id) FROM requests WHERE ts >= ?", (start,))[0][0]
    window = "r.id >= ? AND r.ts >= ? AND r.ts <= ? AND r.inputs_json IS NOT NULL"
    with_pii = "instr(r.inputs_json, ',[],') = 0"
    bounds = (first_id or 0, start, now)
    pii_rows = ledger.execute(
        "SELECT j.value, COUNT(*) FROM requests AS r INDEXED BY ix_requests_history, "
        f"json_each(r.inputs_json, '$[4]') AS j WHERE {window} AND {with_pii} "
        "GROUP BY j.value ORDER BY 2 DESC, 1",
        bounds,
    )
    pii_requests = ledger.execute(
        "SELECT COUNT(*) FROM requests AS r INDEXED BY ix_requests_history "
        f"WHERE {window} AND {with_pii}",
        bounds,
    )[0][0]
    incidents = ledger.execute(
        "SELECT status, fallback_path, COALESCE(error_class, ''), COUNT(*) FROM requests "
        "INDEXED BY ix_requests_status_ts "
        "WHERE status IN ('fallback', 'failed', 'cancelled', 'blocked') AND ts >= ? AND ts <= ? "
        "GROUP BY 1, 2, 3 ORDER BY 4 DESC",
        (start, now),
    )
    if quality is None:
        quality = quality_points(ledger, config, start)
    return ReportData(
        report=report,
        by_rule=tuple(Breakdown(str(name), int(count)) for name, count in by_rule),
        pii_by_type=tuple(Breakdown(str(name), int(count)) for name, count in pii_rows),
        pii_requests=int(pii_requests),
        incidents=tuple(
            Incident(str(status), str(path), str(error), int(count))
            for status, path, error, count in incidents
        ),
        quality=tuple(quality),
        show_prompts=config.ledger.store_prompts != "none",
    )


# -- rendering ----------------------------------------------------------------------------------
def _e(value: object) -> str:
    """Outside text as HTML: control codes removed, then escaped (quotes too)."""
    return html.escape(clean(str(value)), quote=True)


def _usd(value: float) -> str:
    if value and abs(value) < 0.01:
        return f"${value:.6f}"
    return f"${value:,.4f}" if abs(value) < 100 else f"${value:,.2f}"


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:,.4g}"


def _tier_class(tier: str) -> str:
    return _TIER_CLASSES.get(tier, "other")


def hbars(title: str, rows: Sequence[tuple[str, float, str]], unit: str = "") -> str:
    """A horizontal bar chart as inline SVG: (label, value, css class) per bar."""
    if not rows:
        return '<p class="empty">Nothing recorded.</p>'
    top = max(value for _, value, _ in rows) or 1.0
    bar_h, gap, label_w, width = 22, 6, 150, 640
    plot_w = width - label_w - 110
    height = len(rows) * (bar_h + gap) + gap
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" '
        f'width="100%" preserveAspectRatio="xMinYMin meet"><title>{_e(title)}</title>'
    ]
    for index, (label, value, css) in enumerate(rows):
        y = gap + index * (bar_h + gap)
        w = max(1.0, plot_w * value / top) if value > 0 else 0.0
        parts.append(
            f'<text class="label" x="{label_w - 8}" y="{y + bar_h * 0.7:.1f}" '
            f'text-anchor="end">{_e(label)}</text>'
            f'<rect class="bar {_e(css)}" x="{label_w}" y="{y}" width="{w:.1f}" '
            f'height="{bar_h}" rx="3"/>'
            f'<text class="value" x="{label_w + w + 6:.1f}" y="{y + bar_h * 0.7:.1f}">'
            f"{_e(_fmt(value) + unit)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def line_chart(
    title: str, labels: Sequence[str], series: Sequence[tuple[str, str, Sequence[float]]]
) -> str:
    """Lines over days as inline SVG: (name, css class, values) per series, a legend below."""
    if not labels:
        return '<p class="empty">Nothing recorded.</p>'
    width, height, left, right, top, bottom = 680, 240, 70, 16, 12, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for _, _, points in series for v in points]
    low, high = min(0.0, *values), max(0.0, *values)
    span = (high - low) or 1.0

    def x(i: int) -> float:
        return left + (plot_w * i / (len(labels) - 1) if len(labels) > 1 else plot_w / 2)

    def y(v: float) -> float:
        return top + plot_h * (1 - (v - low) / span)

    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="100%">'
        f"<title>{_e(title)}</title>"
        f'<line class="axis" x1="{left}" y1="{y(0):.1f}" x2="{width - right}" y2="{y(0):.1f}"/>'
        f'<text class="tick" x="{left - 6}" y="{y(high) + 4:.1f}" text-anchor="end">'
        f"{_e(_usd(high))}</text>"
        f'<text class="tick" x="{left - 6}" y="{y(low) + 4:.1f}" text-anchor="end">'
        f"{_e(_usd(low))}</text>"
        f'<text class="tick" x="{left}" y="{height - 14}">{_e(labels[0])}</text>'
        f'<text class="tick" x="{width - right}" y="{height - 14}" text-anchor="end">'
        f"{_e(labels[-1])}</text>"
    ]
    for name, css, points in series:
        coords = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(points))
        parts.append(
            f'<polyline class="line {_e(css)}" points="{coords}"><title>{_e(name)}</title>'
        )
        parts.append("</polyline>")
        if len(points) == 1:
            parts.append(
                f'<circle class="dot {_e(css)}" cx="{x(0):.1f}" cy="{y(points[0]):.1f}" r="4"/>'
            )
    legend_x = left
    for name, css, _ in series:
        parts.append(
            f'<rect class="bar {_e(css)}" x="{legend_x}" y="{height - 10}" width="10" height="8"/>'
            f'<text class="tick" x="{legend_x + 14}" y="{height - 2}">{_e(name)}</text>'
        )
        legend_x += 14 + 8 * len(name) + 24
    parts.append("</svg>")
    return "".join(parts)


def scatter(title: str, points: Sequence[QualityPoint]) -> str:
    """The cost-quality curve as inline SVG: cost on x, quality on y, points joined by cost."""
    ordered = sorted(points, key=lambda p: p.cost_usd)
    width, height, left, right, top, bottom = 680, 260, 70, 24, 12, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    costs = [p.cost_usd for p in ordered]
    qualities = [p.quality for p in ordered]
    c_low, c_span = min(costs), (max(costs) - min(costs)) or 1.0
    q_low, q_span = min(qualities), (max(qualities) - min(qualities)) or 1.0

    def at(p: QualityPoint) -> tuple[float, float]:
        return (
            left + plot_w * (p.cost_usd - c_low) / c_span,
            top + plot_h * (1 - (p.quality - q_low) / q_span),
        )

    coords = " ".join(f"{cx:.1f},{cy:.1f}" for cx, cy in map(at, ordered))
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="100%">'
        f'<title>{_e(title)}</title><polyline class="line cloud" points="{coords}"/>'
        f'<text class="tick" x="{left}" y="{height - 8}">{_e(_usd(min(costs)))}</text>'
        f'<text class="tick" x="{width - right}" y="{height - 8}" text-anchor="end">'
        f"{_e(_usd(max(costs)))}</text>"
        f'<text class="tick" x="{left - 6}" y="{top + 10}" text-anchor="end">'
        f"{max(qualities):.2f}</text>"
        f'<text class="tick" x="{left - 6}" y="{top + plot_h}" text-anchor="end">'
        f"{min(qualities):.2f}</text>"
    ]
    for point in ordered:
        cx, cy = at(point)
        parts.append(
            f'<circle class="dot cloud" cx="{cx:.1f}" cy="{cy:.1f}" r="4">'
            f"<title>{_e(point.label)}: {_e(_usd(point.cost_usd))}, quality "
            f"{point.quality:.2f} ({point.samples} samples)</title></circle>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _table(
    headers: Sequence[str],
    rows: Sequence[Sequence[object]],
    numeric: set[int],
    wrap: frozenset[int] = frozenset(),
) -> str:
    def css(i: int) -> str:
        return " class=num" if i in numeric else (" class=prompt" if i in wrap else "")

    head = "".join(f"<th{css(i)}>{_e(h)}</th>" for i, h in enumerate(headers))
    body = "".join(
        "<tr>" + "".join(f"<td{css(i)}>{_e(cell)}</td>" for i, cell in enumerate(row)) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _meter(label: str, used: float, limit: float) -> str:
    fraction = used / limit if limit > 0 else 0.0
    css = "over" if fraction >= 1 else ("warn" if fraction >= 0.8 else "ok")
    width = min(fraction, 1.0) * 100
    return (
        f'<div class="meter"><span class="meter-label">{_e(label)}</span>'
        f'<svg class="meter-bar" viewBox="0 0 100 10" preserveAspectRatio="none" role="img">'
        f"<title>{_e(label)}: {fraction:.0%}</title>"
        f'<rect class="track" width="100" height="10" rx="2"/>'
        f'<rect class="fill {css}" width="{width:.2f}" height="10" rx="2"/></svg>'
        f'<span class="meter-value">{_e(_usd(used))} of {_e(_usd(limit))} '
        f"({fraction:.0%})</span></div>"
    )


_CSS = """
:root { --bg: #ffffff; --fg: #1d2329; --muted: #5b6670; --line: #d5dbe1; --card: #f5f7f9;
  --local: #2e7d32; --cloud: #1565c0; --pool: #8e24aa; --none: #9e9e9e; --other: #ef6c00;
  --savings: #00897b; --warn: #f9a825; --over: #c62828; }
@media (prefers-color-scheme: dark) {
  :root { --bg: #14181c; --fg: #e6eaee; --muted: #9aa5b1; --line: #333c45; --card: #1d2329;
    --local: #66bb6a; --cloud: #64b5f6; --pool: #ce93d8; --none: #bdbdbd; --other: #ffb74d;
    --savings: #4db6ac; --warn: #ffd54f; --over: #ef5350; }
}
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 980px; padding: 24px; background: var(--bg); color: var(--fg);
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
h1 { font-size: 1.6em; margin: 0 0 4px; } h2 { font-size: 1.15em; margin: 0 0 10px; }
.sub, .empty, .note { color: var(--muted); } .note { font-size: 0.9em; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 8px;
  padding: 16px 18px; margin: 16px 0; break-inside: avoid; page-break-inside: avoid; }
.kpis { display: grid; grid-template-columns: repeat(auto-fit, minmax(160px, 1fr)); gap: 10px; }
.kpi { border: 1px solid var(--line); border-radius: 6px; padding: 10px; }
.kpi b { display: block; font-size: 1.35em; } .kpi span { color: var(--muted); font-size: 0.85em; }
table { border-collapse: collapse; width: 100%; font-size: 0.92em; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line);
  vertical-align: top; }
th { color: var(--muted); font-weight: 600; } .num { text-align: right;
  font-variant-numeric: tabular-nums; white-space: nowrap; }
td.prompt { word-break: break-word; white-space: pre-wrap; }
svg.chart { display: block; max-width: 100%; height: auto; margin: 6px 0; }
svg text { fill: var(--fg); font-size: 12px; } svg .tick { fill: var(--muted); font-size: 11px; }
.bar.local, .dot.local { fill: var(--local); } .bar.cloud, .dot.cloud { fill: var(--cloud); }
.bar.pool { fill: var(--pool); } .bar.none { fill: var(--none); } .bar.other { fill: var(--other); }
.bar.savings { fill: var(--savings); }
.line { fill: none; stroke-width: 2.2; } .line.local { stroke: var(--local); }
.line.cloud { stroke: var(--cloud); } .line.savings { stroke: var(--savings); }
.line.other { stroke: var(--other); } .dot.savings { fill: var(--savings); }
.axis { stroke: var(--line); stroke-width: 1; }
.meter { display: grid; grid-template-columns: 90px 1fr 220px; gap: 10px; align-items: center;
  margin: 6px 0; }
.meter-bar { width: 100%; height: 14px; } .track { fill: var(--line); }
.fill.ok { fill: var(--local); } .fill.warn { fill: var(--warn); } .fill.over { fill: var(--over); }
.meter-value { font-variant-numeric: tabular-nums; }
footer { color: var(--muted); font-size: 0.85em; margin-top: 24px; }
@media print {
  :root { --bg: #ffffff; --fg: #000000; --muted: #444444; --line: #bbbbbb; --card: #ffffff; }
  body { max-width: none; padding: 0; font-size: 11pt; }
  section { border-color: #bbbbbb; }
}
"""


def _kpi(value: str, label: str) -> str:
    return f'<div class="kpi"><b>{_e(value)}</b><span>{_e(label)}</span></div>'


def _daily_series(report: LedgerReport) -> tuple[list[str], list[float], list[float]]:
    days: dict[str, list[float]] = {}
    for row in report.daily:
        totals = days.setdefault(row.day, [0.0, 0.0])
        totals[0] += row.cost_usd
        totals[1] += row.counterfactual_usd
    labels = sorted(days)
    return labels, [days[d][0] for d in labels], [days[d][1] for d in labels]


def render(data: ReportData) -> str:
    """The whole page as one HTML string."""
    report = data.report
    generated = datetime.fromtimestamp(report.generated_at).strftime("%Y-%m-%d %H:%M")
    share = "-" if report.local_share is None else f"{report.local_share:.0%}"
    out: list[str] = [
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="color-scheme" content="light dark">',
        f"<title>Switchboard report: last {_e(report.since)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>Switchboard report</h1><p class=sub>Last {_e(report.since)} · generated "
        f"{_e(generated)} · ledger {_e(Path(report.db_path).name)}</p>",
    ]
    if report.requests == 0:
        out.append(
            f"<section><h2>No requests</h2><p class=empty>The ledger holds no request in the "
            f"last {_e(report.since)}: nothing to chart yet. Run prompts through Switchboard "
            "(the console, <code>ask</code> or <code>replay</code>) and report again.</p>"
            "</section>"
        )
    out.append(
        '<section><h2>Summary</h2><div class="kpis">'
        + _kpi(f"{report.requests:,}", "requests")
        + _kpi(share, "answered on premises")
        + _kpi(_usd(report.cost_usd), "cost")
        + _kpi(_usd(report.counterfactual_usd), "cost if all went to the cloud")
        + _kpi(_usd(report.savings_usd), "saved")
        + _kpi(f"{report.fallbacks:,}", "fallbacks")
        + "</div>"
        + (
            f'<p class="note">{report.unpriced_requests:,} request(s) on a cloud model without '
            "a known price are not counted as free: their cost is unknown.</p>"
            if report.unpriced_requests
            else ""
        )
        + "</section>"
    )
    tier_rows = [(t.tier, float(t.requests), _tier_class(t.tier)) for t in report.by_tier]
    out.append(
        "<section><h2>Routing split</h2><h3 class=sub>By the tier that answered</h3>"
        + hbars("Requests by tier", tier_rows)
        + "<h3 class=sub>By the rule that decided</h3>"
        + hbars("Requests by rule", [(b.name, float(b.requests), "other") for b in data.by_rule])
        + _table(
            ["tier", "requests", "tokens in", "tokens out", "cost", "all-cloud cost", "CPU s"],
            [
                (
                    t.tier,
                    f"{t.requests:,}",
                    f"{t.tokens_in:,}",
                    f"{t.tokens_out:,}",
                    _usd(t.cost_usd),
                    _usd(t.counterfactual_usd),
                    f"{t.cpu_seconds:,.1f}",
                )
                for t in report.by_tier
            ],
            {1, 2, 3, 4, 5, 6},
        )
        + "</section>"
    )
    labels, cost, counterfactual = _daily_series(report)
    cumulative: list[float] = []
    running = 0.0
    for actual, cloud_only in zip(cost, counterfactual, strict=True):
        running += cloud_only - actual
        cumulative.append(running)
    out.append(
        "<section><h2>Cost against all-cloud, and savings over time</h2>"
        + line_chart(
            "Daily cost: actual and if everything had gone to the cloud",
            labels,
            [("actual cost", "local", cost), ("all-cloud cost", "cloud", counterfactual)],
        )
        + line_chart("Cumulative savings", labels, [("cumulative savings", "savings", cumulative)])
        + '<p class="note">Savings count only requests with a known price on both sides. '
        f"Projection: {_usd(report.projection.monthly_run_rate_usd)}/month run rate against "
        f"{_usd(report.projection.cloud_only_run_rate_usd)}/month all-cloud.</p></section>"
    )
    budget = report.budget
    out.append(
        "<section><h2>Budget use (cloud spend)</h2>"
        + _meter("today", budget.daily_used_usd, budget.daily_limit_usd)
        + _meter("this month", budget.monthly_used_usd, budget.monthly_limit_usd)
        + (
            '<p class="note">A cap is used up: prompts stay on premises until it resets.</p>'
            if budget.exhausted
            else ""
        )
        + "</section>"
    )
    out.append(
        "<section><h2>Personal data and secrets caught</h2>"
        + (
            f"<p>{data.pii_requests:,} prompt(s) contained personal data or secrets; each type "
            "counts once per prompt. They stayed on premises or went out redacted, as the "
            "privacy policy said.</p>"
            + hbars(
                "Prompts by PII type",
                [(b.name, float(b.requests), "savings") for b in data.pii_by_type],
            )
            if data.pii_by_type
            else '<p class="empty">No personal data or secrets found in this window.</p>'
        )
        + "</section>"
    )
    out.append(
        "<section><h2>Fallbacks, failures and breaker refusals</h2>"
        + (
            _table(
                ["status", "path", "error", "requests"],
                [
                    (
                        i.status,
                        i.fallback_path.replace(">", " → ") or "-",
                        i.error_class or "-",
                        f"{i.requests:,}",
                    )
                    for i in data.incidents
                ],
                {3},
            )
            + '<p class="note">As the ledger records them: an open breaker shows as its error '
            "class on the requests it turned away.</p>"
            if data.incidents
            else '<p class="empty">Every request in this window was answered first time.</p>'
        )
        + "</section>"
    )
    top_rows = [
        (
            datetime.fromtimestamp(top.ts).strftime("%Y-%m-%d %H:%M"),
            top.tier,
            top.model,
            _usd(top.cost_usd),
            top.prompt if data.show_prompts else "(not shown)",
        )
        for top in report.top_prompts
    ]
    out.append(
        "<section><h2>Top prompts by cost</h2>"
        + (
            _table(["when", "tier", "model", "cost", "prompt"], top_rows, {3}, frozenset({4}))
            if top_rows
            else '<p class="empty">No requests.</p>'
        )
        + (
            ""
            if data.show_prompts
            else '<p class="note">[ledger] store_prompts = "none": prompt text is not shown.</p>'
        )
        + "</section>"
    )
    out.append(
        "<section><h2>Cost and quality</h2>"
        + (
            scatter("Cost against measured quality", data.quality)
            + _table(
                ["setting", "cost", "quality", "samples"],
                [
                    (p.label, _usd(p.cost_usd), f"{p.quality:.3f}", f"{p.samples:,}")
                    for p in sorted(data.quality, key=lambda p: p.cost_usd)
                ],
                {1, 2, 3},
            )
            if data.quality
            else '<p class="empty">The ledger holds no quality evidence (ratings or judge '
            "verdicts) for this window, so there is no cost-quality curve yet.</p>"
        )
        + "</section>"
    )
    out.append(
        "<footer>Made by <code>switchboard report</code> from the cost ledger. Costs are in USD; "
        "on-premises cost is CPU time at the configured hardware and energy basis.</footer>"
        "</body></html>\n"
    )
    return "".join(out)


def write_report(path: Path, data: ReportData) -> int:
    """Write the page to `path` (atomically); its size in bytes."""
    page = render(data).encode("utf-8")
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(page)
    tmp.replace(path)
    return len(page)
