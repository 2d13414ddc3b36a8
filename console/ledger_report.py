"""The ledger report: totals by tier, savings, budget, top prompts, spend by day, projection.

Everything is computed with SQL aggregates over the covering index `ix_requests_summary`, so a
report over a million rows reads the narrow index, never the wide rows (prompts, traces).
The JSON shape (`LedgerReport.to_dict`) is documented in docs/ledger.md; keep them in sync.
"""

from __future__ import annotations

import csv
import io
import re
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from console.ledger import ROLLUP_SUMS, Ledger
from policies.config import Config
from policies.prices import BudgetStatus, budget_status

#: Days in an average month (365.25 / 12), for run rates.
MONTH_DAYS = 30.4375
_MIN_SPAN_S = 3600.0
_MIN_NET_USD = 1e-6
#: Beyond a century a calendar month means nothing; `break_even_month` is then null.
_MAX_MONTHS = 1200.0
_SINCE = re.compile(r"^(\d+)([hd])$")
REPORT_VERSION = 1
TOP_PROMPTS = 5
_SUMMED = (
    "requests",
    "tokens_in",
    "tokens_out",
    "cost_usd",
    "counterfactual_usd",
    "cpu_seconds",
    "unpriced",
    "fallbacks",
    "savings_usd",
    "min_ts",
)


def parse_since(value: str) -> float | None:
    """Seconds covered by a window like "24h", "7d", "30d"; None for "all".

    Raises ValueError with the accepted forms for anything else.
    """
    if value == "all":
        return None
    match = _SINCE.match(value)
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"{value!r}: expected a number of hours or days (24h, 7d) or all")
    return int(match.group(1)) * (3600.0 if match.group(2) == "h" else 86400.0)


@dataclass(frozen=True)
class TierTotals:
    """Requests answered by one tier ("local", "cloud", or "none" when nothing answered)."""

    tier: str
    requests: int
    tokens_in: int
    tokens_out: int
    cost_usd: float
    counterfactual_usd: float
    cpu_seconds: float
    unpriced: int
    #: All-cloud cost minus actual cost, over the requests whose both costs are known.
    savings_usd: float = 0.0


@dataclass(frozen=True)
class ServerTotals:
    """Requests answered by one pool server: what they cost, and what the cloud would have."""

    server: str
    requests: int
    cost_usd: float
    counterfactual_usd: float
    savings_usd: float


@dataclass(frozen=True)
class DaySpend:
    """Spend of one local calendar day and tier (the TUI's bar chart)."""

    day: str
    tier: str
    requests: int
    cost_usd: float
    counterfactual_usd: float


@dataclass(frozen=True)
class TopPrompt:
    """One of the most expensive requests; `prompt` is the stored text or "sha256:<hash>"."""

    request_id: str
    ts: float
    tier: str
    model: str
    cost_usd: float
    prompt: str


@dataclass(frozen=True)
class Projection:
    """Run rates from the window's traffic and the break-even of an on-premises purchase."""

    span_days: float
    monthly_run_rate_usd: float
    cloud_only_run_rate_usd: float
    monthly_savings_usd: float
    capex: float
    opex_per_month: float
    break_even_months: float | None
    break_even_month: str | None


@dataclass(frozen=True)
class LedgerReport:
    """The whole report; `to_dict` is the stable JSON of `switchboard ledger --json`."""

    report_version: int
    generated_at: float
    since: str
    window_start: float | None
    db_path: str
    requests: int
    by_tier: tuple[TierTotals, ...]
    by_server: tuple[ServerTotals, ...]
    by_status: dict[str, int]
    fallbacks: int
    local_share: float | None
    cost_usd: float
    counterfactual_usd: float
    savings_usd: float
    unpriced_requests: int
    budget: BudgetStatus
    top_prompts: tuple[TopPrompt, ...]
    daily: tuple[DaySpend, ...]
    projection: Projection

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready plain data (documented in docs/ledger.md)."""
        data = asdict(self)
        data["budget"]["remaining_usd"] = self.budget.remaining_usd
        return data

    def to_csv(self) -> str:
        """Spend by day and tier as CSV (columns documented in docs/ledger.md)."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(
            ["day", "tier", "requests", "cost_usd", "counterfactual_usd", "savings_usd"]
        )
        for row in self.daily:
            writer.writerow(
                [
                    row.day,
                    row.tier,
                    row.requests,
                    f"{row.cost_usd:.6f}",
                    f"{row.counterfactual_usd:.6f}",
                    f"{row.counterfactual_usd - row.cost_usd:.6f}",
                ]
            )
        return out.getvalue()


def _day_key(ts: float) -> int:
    moment = time.localtime(ts)
    return moment.tm_year * 10_000 + moment.tm_mon * 100 + moment.tm_mday


def _projection(
    config: Config, span_s: float, cost: float, counterfactual: float, now: float
) -> Projection:
    days = max(span_s, _MIN_SPAN_S) / 86400.0
    run_rate = cost / days * MONTH_DAYS
    cloud_only = counterfactual / days * MONTH_DAYS
    monthly_savings = cloud_only - run_rate
    capex, opex = config.economics.capex, config.economics.opex_per_month
    net = monthly_savings - opex
    months: float | None = None
    month: str | None = None
    # Below a micro-dollar a month, savings and running cost are equal up to rounding: never.
    if net > _MIN_NET_USD:
        months = capex / net
        if months <= _MAX_MONTHS:
            reached = datetime.fromtimestamp(now) + timedelta(days=months * MONTH_DAYS)
            month = reached.strftime("%Y-%m")
    return Projection(
        span_days=days,
        monthly_run_rate_usd=run_rate,
        cloud_only_run_rate_usd=cloud_only,
        monthly_savings_usd=monthly_savings,
        capex=capex,
        opex_per_month=opex,
        break_even_months=months,
        break_even_month=month,
    )


def build_report(
    ledger: Ledger, config: Config, since: str = "30d", now: float | None = None
) -> LedgerReport:
    """Summarize the ledger over the window `since` ("24h", "7d", "30d", "all") ending `now`."""
    now = time.time() if now is None else now
    window = parse_since(since)
    start = None if window is None else now - window
    lower = float("-inf") if start is None else start
    # Whole hours come from the rollup kept by Ledger._write (a few rows per hour, whatever the
    # traffic); only the partial hour at the window's start is summed from raw rows.
    first_hour = -1 if start is None else int(start // 3600)
    sums = ", ".join(
        f"MIN({column})" if column == "min_ts" else f"TOTAL({column})" for column in _SUMMED
    )
    groups = ledger.execute(
        f"SELECT day, tier, status, {sums} FROM hourly_totals "
        "WHERE hour > ? AND hour <= ? GROUP BY day, tier, status",
        (first_hour, int(now // 3600)),
    )
    if start is not None:
        groups += ledger.execute(
            f"SELECT day, tier, status, {ROLLUP_SUMS} FROM requests "
            "WHERE ts >= ? AND ts < ? GROUP BY day, tier, status",
            (start, (first_hour + 1) * 3600.0),
        )
    tiers: dict[str, list[float]] = {}
    days: dict[tuple[int, str], list[float]] = {}
    by_status: dict[str, int] = {}
    fallbacks, savings, first_ts = 0, 0.0, now
    for day, tier, status, count, t_in, t_out, cost, cf, cpu, unpriced, fell, saved, low in groups:
        totals = tiers.setdefault(tier, [0.0] * 8)
        for index, value in enumerate((count, t_in, t_out, cost, cf, cpu, unpriced, saved)):
            totals[index] += value
        day_totals = days.setdefault((day, tier), [0.0] * 3)
        day_totals[0] += count
        day_totals[1] += cost
        day_totals[2] += cf
        by_status[status] = by_status.get(status, 0) + int(count)
        fallbacks += int(fell)
        savings += saved
        first_ts = min(first_ts, low)
    by_tier = tuple(
        TierTotals(
            tier=tier,
            requests=int(t[0]),
            tokens_in=int(t[1]),
            tokens_out=int(t[2]),
            cost_usd=t[3],
            counterfactual_usd=t[4],
            cpu_seconds=t[5],
            unpriced=int(t[6]),
            savings_usd=t[7],
        )
        for tier, t in sorted(tiers.items())
    )
    requests = sum(t.requests for t in by_tier)
    local = sum(t.requests for t in by_tier if t.tier == "local")
    cost = sum(t.cost_usd for t in by_tier)
    counterfactual = sum(t.counterfactual_usd for t in by_tier)
    span = now - (first_ts if start is None else max(start, first_ts))
    return LedgerReport(
        report_version=REPORT_VERSION,
        generated_at=now,
        since=since,
        window_start=start,
        db_path=str(ledger.path),
        requests=requests,
        by_tier=by_tier,
        by_server=_by_server(ledger, lower, now),
        by_status=dict(sorted(by_status.items())),
        fallbacks=fallbacks,
        local_share=local / requests if requests else None,
        cost_usd=cost,
        counterfactual_usd=counterfactual,
        savings_usd=savings,
        unpriced_requests=sum(t.unpriced for t in by_tier),
        budget=budget_status(ledger.spend(now), config.budget),
        top_prompts=_top_prompts(ledger, sorted({day for day, _ in days}), lower, now),
        daily=tuple(
            DaySpend(
                day=f"{day // 10_000:04d}-{day // 100 % 100:02d}-{day % 100:02d}",
                tier=tier,
                requests=int(d[0]),
                cost_usd=d[1],
                counterfactual_usd=d[2],
            )
            for (day, tier), d in sorted(days.items())
        ),
        projection=_projection(config, span, cost, counterfactual, now),
    )


def _by_server(ledger: Ledger, lower: float, now: float) -> tuple[ServerTotals, ...]:
    """Pool requests by server over the window (the tier/ts index finds them)."""
    rows = ledger.execute(
        "SELECT server, COUNT(*), TOTAL(cost_usd), TOTAL(COALESCE(counterfactual_usd, 0.0)), "
        "TOTAL(CASE WHEN cost_known AND counterfactual_usd IS NOT NULL "
        "THEN counterfactual_usd - cost_usd ELSE 0.0 END) "
        "FROM requests WHERE tier = 'pool' AND ts >= ? AND ts <= ? GROUP BY server ORDER BY server",
        (lower, now),
    )
    return tuple(ServerTotals(str(row[0]), int(row[1]), *map(float, row[2:])) for row in rows)


def _top_prompts(
    ledger: Ledger, days: list[int], lower: float, upper: float
) -> tuple[TopPrompt, ...]:
    """The five most expensive requests: each day's top five by index seek, then merged."""
    candidates: list[tuple[Any, ...]] = []
    for day in days:
        candidates.extend(
            ledger.execute(
                "SELECT r.request_id, r.ts, r.tier, r.model, r.cost_usd, p.text, r.prompt_hash "
                "FROM requests AS r LEFT JOIN prompts AS p ON p.id = r.id "
                "WHERE r.day = ? AND r.ts >= ? AND r.ts <= ? ORDER BY r.cost_usd DESC LIMIT ?",
                (day, lower, upper, TOP_PROMPTS),
            )
        )
    candidates.sort(key=lambda row: (row[4], row[1]), reverse=True)
    return tuple(
        TopPrompt(
            request_id=row[0],
            ts=row[1],
            tier=row[2],
            model=row[3],
            cost_usd=row[4],
            prompt=row[5] if row[5] is not None else f"sha256:{row[6]}",
        )
        for row in candidates[:TOP_PROMPTS]
    )


def _usd(value: float) -> str:
    return f"${value:,.4f}" if abs(value) < 100 else f"${value:,.2f}"


def render_text(report: LedgerReport) -> str:
    """The report as the readable table `switchboard ledger` prints."""
    lines = [
        f"Ledger {report.db_path} — last {report.since}: {report.requests} request(s)",
        "",
        f"{'tier':<7} {'requests':>9} {'tokens in':>10} {'tokens out':>11} {'cost':>11} "
        f"{'cloud-only':>11} {'CPU s':>9}",
    ]
    for tier in report.by_tier:
        lines.append(
            f"{tier.tier:<7} {tier.requests:>9} {tier.tokens_in:>10} {tier.tokens_out:>11} "
            f"{_usd(tier.cost_usd):>11} {_usd(tier.counterfactual_usd):>11} "
            f"{tier.cpu_seconds:>9.1f}"
        )
    for server in report.by_server:
        lines.append(
            f"  pool {server.server}: {server.requests} request(s), cost {_usd(server.cost_usd)}, "
            f"savings {_usd(server.savings_usd)}"
        )
    share = "-" if report.local_share is None else f"{report.local_share:.0%}"
    statuses = ", ".join(f"{name} {count}" for name, count in report.by_status.items()) or "-"
    budget = report.budget
    lines += [
        "",
        f"kept local {share}; fallbacks {report.fallbacks}; statuses: {statuses}",
        f"cost {_usd(report.cost_usd)}; cloud-only {_usd(report.counterfactual_usd)}; "
        f"savings {_usd(report.savings_usd)}",
    ]
    if report.unpriced_requests:
        lines.append(
            f"{report.unpriced_requests} request(s) on a cloud model with no known price "
            '(not counted as free: add [prices."model"] to config.toml)'
        )
    lines.append(
        f"budget: today {_usd(budget.daily_used_usd)} of {_usd(budget.daily_limit_usd)} "
        f"({budget.daily_fraction:.0%}), month {_usd(budget.monthly_used_usd)} of "
        f"{_usd(budget.monthly_limit_usd)} ({budget.monthly_fraction:.0%})"
        + ("; EXHAUSTED: prompts stay local" if budget.exhausted else "")
        + ("; warning" if budget.warning and not budget.exhausted else "")
    )
    if report.top_prompts:
        lines += ["", "most expensive:"]
        for top in report.top_prompts:
            when = datetime.fromtimestamp(top.ts).strftime("%Y-%m-%d %H:%M")
            prompt = top.prompt if len(top.prompt) <= 60 else top.prompt[:59] + "…"
            lines.append(f"  {when} {top.tier:<5} {_usd(top.cost_usd):>10}  {prompt}")
    projection = report.projection
    if projection.break_even_months is None:
        break_even = "never (savings do not cover the running cost)"
    else:
        break_even = f"{projection.break_even_months:.1f} months ({projection.break_even_month})"
    lines += [
        "",
        f"run rate {_usd(projection.monthly_run_rate_usd)}/month; cloud-only "
        f"{_usd(projection.cloud_only_run_rate_usd)}/month; savings "
        f"{_usd(projection.monthly_savings_usd)}/month "
        f"(from {projection.span_days:.1f} day(s) of traffic)",
        f"on-premises break-even (capex {_usd(projection.capex)}, opex "
        f"{_usd(projection.opex_per_month)}/month): {break_even}",
    ]
    return "\n".join(lines)
