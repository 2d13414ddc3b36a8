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
        raise ValueError(f"--since {value!r}: expected a number of hours or days (24h, 7d) or all")
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
    if net > 0:
        months = capex / net
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
        totals = tiers.setdefault(tier, [0.0] * 7)
        for index, value in enumerate((count, t_in, t_out, cost, cf, cpu, unpriced)):
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


def _top_prompts(
    ledger: Ledger, days: list[int], lower: float, upper: float
) -> tuple[TopPrompt, ...]:
    """The five most expensive requests: each day's top five by index seek, then merged."""
    candidates: list[tuple[Any, ...]] = []
    for day in days:
        candidates.extend(
            ledger.execute(
                "SELECT request_id, ts, tier, model, cost_usd, prompt_text, prompt_hash "
                "FROM requests WHERE day = ? AND ts >= ? AND ts <= ? "
                "ORDER BY cost_usd DESC LIMIT ?",
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
