"""Ledger: totals and savings by tier and by pool server, budget, a bar chart of spend by day and
tier, projection.

The report is `console.ledger_report.build_report` (the same as `switchboard ledger`), built in a
thread worker so a large ledger never blocks the keyboard.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING, ClassVar

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Label, Select, Static
from textual.worker import Worker, WorkerState

from console.outside_text import as_text
from console.tui.keys import ALWAYS_SHOWN
from console.tui.palette import Palette
from console.tui.screens import one_line, palette_of, runtime_of
from console.tui.words import duration_words, money, percent

if TYPE_CHECKING:
    from console.ledger import Ledger
    from console.ledger_report import DaySpend, LedgerReport
    from policies.config import Config

SINCE_CHOICES = ("24h", "7d", "30d", "all")

#: The tiers of the spend chart when the window holds no pool spend.
BAR_TIERS = ("local", "cloud")

#: Partial blocks for bars drawn to an eighth of a cell.
_EIGHTHS = " ▏▎▍▌▋▊▉"


def _bar(cells: float) -> str:
    """A horizontal bar `cells` wide, to an eighth of a character."""
    whole = int(cells)
    eighths = round((cells - whole) * 8)
    if eighths == 8:
        whole, eighths = whole + 1, 0
    return "█" * whole + (_EIGHTHS[eighths] if eighths else "")


def spend_bars(daily: Iterable[DaySpend], palette: Palette, width: int = 36) -> Text:
    """Spend by day as stacked horizontal bars (local, pool, then cloud) scaled to the costliest
    day; the pool appears only when the window holds pool spend."""
    days: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for row in daily:
        days[row.day][row.tier] += row.cost_usd
    text = Text(no_wrap=True, overflow="ellipsis")
    if not days:
        text.append("no spend in this window", style="dim")
        return text
    peak = max(sum(tiers.values()) for tiers in days.values())
    shown = ("local", "pool", "cloud") if any("pool" in t for t in days.values()) else BAR_TIERS
    for day in sorted(days):
        tiers = days[day]
        total = sum(tiers.values())
        text.append(f"{day[-5:]} ")
        drawn = 0
        for tier in shown:
            bar = _bar(tiers.get(tier, 0.0) / peak * width if peak > 0 else 0.0)
            drawn += len(bar)
            text.append(bar, style=palette.tier_style(tier))
        text.append(" " * max(width + 2 - drawn, 1))
        text.append(f"{money(total)}\n", style="bold")
    for tier in shown:
        text.append("█", style=palette.tier_style(tier))
        text.append(f" {tier}  ")
    text.append(f" (cost per day; the bar is to scale, {' + '.join(shown)})", style="dim")
    return text


def headline(report: LedgerReport, palette: Palette) -> Text:
    """Requests, local share, cost, all-cloud cost and savings in one line."""
    text = Text()
    text.append(f"{report.requests} requests", style="bold")
    if report.local_share is not None:
        text.append(f" · {percent(report.local_share)} local")
    text.append(f" · cost {money(report.cost_usd)}")
    text.append(f" · all-cloud {money(report.counterfactual_usd)}")
    text.append(" · saved ")
    # A pool priced above the cloud saves nothing: a negative figure must not read as good news.
    saved_style = palette.tier_style("local" if report.savings_usd >= 0 else "failed")
    text.append(money(report.savings_usd), style=saved_style)
    if report.counterfactual_usd > 0:
        text.append(f" ({percent(report.savings_usd / report.counterfactual_usd)})")
    if report.fallbacks:
        text.append(f" · {report.fallbacks} fallbacks", style=palette.tier_style("fallback"))
    if report.unpriced_requests:
        text.append(f" · {report.unpriced_requests} unpriced", style=palette.tier_style("fallback"))
    return text


def budget_lines(report: LedgerReport, palette: Palette, width: int = 20) -> Text:
    """Today's and this month's cloud spend against the caps, as gauges."""
    budget = report.budget
    text = Text()
    for name, used, limit, fraction in (
        ("today", budget.daily_used_usd, budget.daily_limit_usd, budget.daily_fraction),
        ("month", budget.monthly_used_usd, budget.monthly_limit_usd, budget.monthly_fraction),
    ):
        bar = _bar(min(max(fraction, 0.0), 1.0) * width)
        level = (
            "failed"
            if fraction >= 1.0
            else "fallback"
            if fraction >= report_warn(report)
            else "local"
        )
        style = palette.tier_style(level)
        text.append(f"{name:<6}")
        text.append(bar, style=style)
        text.append("·" * (width - len(bar)), style="dim")
        text.append(f" {percent(fraction)}\n")
        text.append(f"      {money(used)} of {money(limit)}\n", style="dim")
    if budget.exhausted:
        text.append("used up: prompts stay local", style=palette.tier_style("failed"))
    elif budget.warning:
        text.append("near its cap", style=palette.tier_style("fallback"))
    return text


def report_warn(report: LedgerReport) -> float:
    """The fraction at which the gauges turn yellow (the one the budget warned at, else 80%)."""
    budget = report.budget
    return min(budget.daily_fraction, budget.monthly_fraction) if budget.warning else 0.8


def projection_table(report: LedgerReport) -> Table:
    """Run rates and the break-even of an on-premises purchase."""
    projection = report.projection
    table = Table.grid(padding=(0, 2))
    table.add_column(style="dim", no_wrap=True)
    table.add_column(justify="right")
    table.add_row("cost / month", money(projection.monthly_run_rate_usd))
    table.add_row("all-cloud / month", money(projection.cloud_only_run_rate_usd))
    table.add_row("saved / month", money(projection.monthly_savings_usd))
    if projection.capex or projection.opex_per_month:
        months = projection.break_even_months
        table.add_row(
            "break-even",
            "never at this rate"
            if months is None
            else f"{months:.1f} mo ({projection.break_even_month})",
        )
    table.add_row("", duration_words(projection.span_days))
    return table


class LedgerScreen(ModalScreen[None]):
    """The cost ledger: by tier and pool server, savings, budget, spend by day, top prompts,
    projection."""

    CSS_PATH = "ledger.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        *ALWAYS_SHOWN,
        Binding("escape", "dismiss", "Close"),
        Binding("ctrl+r", "refresh_report", "Refresh"),
    ]

    def __init__(self, since: str = "30d") -> None:
        super().__init__()
        self.since = since if since in SINCE_CHOICES else "30d"
        self.report: LedgerReport | None = None

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="ledger-panel") as panel:
            panel.border_title = "Ledger"
            with Horizontal(id="ledger-bar"):
                yield Label("since", id="ledger-since-label")
                yield Select[str](
                    [(choice, choice) for choice in SINCE_CHOICES],
                    value=self.since,
                    allow_blank=False,
                    compact=True,
                    id="ledger-since",
                )
                yield Static("ctrl+r refreshes", id="ledger-hint")
            yield Static("loading…", id="ledger-headline")
            yield DataTable(id="ledger-tiers", cursor_type="none", zebra_stripes=True)
            yield DataTable(id="ledger-servers", cursor_type="none", zebra_stripes=True)
            yield Static("", id="ledger-chart", classes="ledger-block")
            with Horizontal(id="ledger-bottom"):
                yield Static("", id="ledger-budget", classes="ledger-block")
                yield Static("", id="ledger-projection", classes="ledger-block")
            yield DataTable(id="ledger-top", cursor_type="row", zebra_stripes=True)
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        tiers = self.query_one("#ledger-tiers", DataTable)
        tiers.add_columns(
            "tier", "requests", "tokens in", "tokens out", "cost", "all-cloud", "saved", "CPU-s"
        )
        servers = self.query_one("#ledger-servers", DataTable)
        servers.add_columns("pool server", "requests", "cost", "all-cloud", "saved")
        servers.border_title = "Pool by server"
        servers.display = False
        top = self.query_one("#ledger-top", DataTable)
        top.add_columns("cost", "tier", "prompt")
        self.query_one("#ledger-chart", Static).border_title = "Spend by day and tier"
        self.query_one("#ledger-budget", Static).border_title = "Budget"
        self.query_one("#ledger-projection", Static).border_title = "Projection"
        top.border_title = "Top prompts by cost"
        self.action_refresh_report()

    @on(Select.Changed, "#ledger-since")
    def _since_changed(self, event: Select.Changed) -> None:
        if isinstance(event.value, str) and event.value != self.since:
            self.since = event.value
            self.action_refresh_report()

    def action_since(self, since: str) -> None:
        """Show the report over another window."""
        self.query_one("#ledger-since", Select).value = since

    def action_refresh_report(self) -> None:
        """Build the report again (in a thread)."""
        runtime = runtime_of(self.app)
        if runtime.ledger is None:
            self._headline(as_text(f"no ledger: {runtime.ledger_error or 'not open'}", "bold"))
            return
        self._headline(Text("loading…", style="dim"))
        self.build(runtime.ledger, runtime.store.config, self.since)

    @work(thread=True, exclusive=True, exit_on_error=False, group="ledger")
    def build(self, ledger: Ledger, config: Config, since: str) -> LedgerReport:
        """The report over `since` (runs in a thread; touches no widget)."""
        from console.ledger_report import build_report

        return build_report(ledger, config, since)

    @on(Worker.StateChanged)
    def _built(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "ledger":
            return
        event.stop()
        if event.state == WorkerState.SUCCESS and event.worker.result is not None:
            self.show(event.worker.result)
        elif event.state == WorkerState.ERROR:
            self._headline(as_text(f"report failed: {event.worker.error}", "bold"))

    def _headline(self, text: Text) -> None:
        self.query_one("#ledger-headline", Static).update(text)

    def show(self, report: LedgerReport) -> None:
        """Render `report` into the tables, the chart and the gauges."""
        self.report = report
        palette = palette_of(self.app)
        self._headline(headline(report, palette))
        tiers = self.query_one("#ledger-tiers", DataTable)
        tiers.clear()
        for row in report.by_tier:
            tiers.add_row(
                as_text(row.tier, palette.tier_style(row.tier)),
                str(row.requests),
                f"{row.tokens_in:,}",
                f"{row.tokens_out:,}",
                money(row.cost_usd),
                money(row.counterfactual_usd),
                money(row.savings_usd),
                f"{row.cpu_seconds:,.1f}",
            )
        servers = self.query_one("#ledger-servers", DataTable)
        servers.clear()
        for server in report.by_server:
            servers.add_row(
                as_text(server.server, palette.tier_style("pool")),
                str(server.requests),
                money(server.cost_usd),
                money(server.counterfactual_usd),
                money(server.savings_usd),
            )
        # Shown only when the window holds pool requests: most consoles have no lab servers.
        servers.display = bool(report.by_server)
        chart = self.query_one("#ledger-chart", Static)
        chart.update(spend_bars(report.daily, palette, max(chart.content_size.width - 18, 10)))
        self.query_one("#ledger-budget", Static).update(budget_lines(report, palette))
        self.query_one("#ledger-projection", Static).update(projection_table(report))
        top = self.query_one("#ledger-top", DataTable)
        top.clear()
        for item in report.top_prompts:
            top.add_row(
                money(item.cost_usd),
                as_text(item.tier, palette.tier_style(item.tier)),
                Text(one_line(item.prompt, 60)),
                key=item.request_id,
            )

    @on(DataTable.RowSelected, "#ledger-top")
    def _inspect(self, event: DataTable.RowSelected) -> None:
        """Open the decision inspector on the chosen request."""
        ledger = runtime_of(self.app).ledger
        stored = ledger.get(str(event.row_key.value)) if ledger is not None else None
        if stored is not None:
            from console.tui.screens.inspector import InspectorScreen

            self.app.push_screen(InspectorScreen(stored))
