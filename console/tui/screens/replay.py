"""Replay: past prompts from the ledger, or a JSONL file, through today's policy.

The prompts run through `Dispatcher.replay` in an async worker; the table fills as results
arrive and the summary is the same one `switchboard replay` prints (console.replay).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Footer, Input, Label, ProgressBar, Select, Static

from console.outcome import badge
from console.outside_text import as_text
from console.tui.adapters import spend_estimate
from console.tui.keys import ALWAYS_SHOWN
from console.tui.screens import one_line, palette_of, runtime_of
from console.tui.screens.confirm import Confirm
from console.tui.widgets.presenter import PresenterBand
from console.tui.words import money, percent
from policies.config import SetupError

if TYPE_CHECKING:
    from console.dispatch import RequestResult
    from console.replay import ReplaySummary

#: The "since" choices of the ledger filter, in seconds back from now (None = all).
SINCE_CHOICES: tuple[tuple[str, float | None], ...] = (
    ("all", None),
    ("1h", 3600.0),
    ("24h", 86_400.0),
    ("7d", 7 * 86_400.0),
    ("30d", 30 * 86_400.0),
)

#: Characters of each prompt in the results table at 80 columns; wider terminals give it the rest.
PROMPT_WIDTH = 22
#: Columns of the table other than the prompt (numbers, route, rule, cost, cell padding).
OTHER_COLUMNS = 3 + 20 + 11 + 10 + 5 * 2 + 6

#: How many past requests a ledger replay takes at most.
LEDGER_LIMIT = 200


def summary_words(summary: ReplaySummary) -> str:
    """The replay's totals for people: the split with percentages, privacy, money rounded."""
    total = len(summary.results)
    split = ", ".join(
        f"{tier} {count} ({percent(count / total)})"
        for tier, count in sorted(summary.by_tier.items())
    )
    rules = ", ".join(f"{rule} {count}" for rule, count in summary.by_rule.most_common())
    saved = summary.cloud_only_usd - summary.cost_usd
    share = f" ({percent(saved / summary.cloud_only_usd)})" if summary.cloud_only_usd > 0 else ""
    lines = [
        f"{total} prompts: {split}",
        f"rules fired: {rules}",
        f"personal data: {summary.kept_local_for_privacy} kept local, "
        f"{summary.redacted} sent with placeholders",
        f"cost {money(summary.cost_usd)} · all-cloud {money(summary.cloud_only_usd)}"
        f" · saved {money(saved)}{share}",
    ]
    if summary.unpriced:
        lines.append(f"{summary.unpriced} requests on a cloud model with no known price")
    if summary.failed:
        lines.append(f"{summary.failed} requests failed")
    return "\n".join(lines)


class ReplayScreen(ModalScreen[None]):
    """Choose prompts (ledger filters or a JSONL path), replay them, read the routing split."""

    CSS_PATH = "replay.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        *ALWAYS_SHOWN,
        Binding("escape", "close", "Close / stop"),
        Binding("ctrl+l", "load", "Load"),
        Binding("ctrl+r", "run", "Run (asks first)"),
        Binding("ctrl+o", "inspect", "Inspect row"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.prompts: list[str] = []
        self.results: list[RequestResult] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="replay-panel") as panel:
            panel.border_title = "Replay"
            with Horizontal(classes="replay-row"):
                yield Label("ledger", classes="replay-label")
                yield Select[str](
                    [(tier, tier) for tier in ("local", "cloud", "none")],
                    prompt="any tier",
                    compact=True,
                    id="replay-tier",
                )
                yield Input(placeholder="rule (any)", compact=True, id="replay-rule")
                yield Select[str](
                    [(label, label) for label, _ in SINCE_CHOICES],
                    value="7d",
                    allow_blank=False,
                    compact=True,
                    id="replay-since",
                )
            with Horizontal(classes="replay-row"):
                yield Label("or file", classes="replay-label")
                yield Input(placeholder="path/to/prompts.jsonl", compact=True, id="replay-path")
                yield Label("max tokens", classes="replay-label-short")
                yield Input(
                    placeholder="default", type="integer", compact=True, id="replay-max-tokens"
                )
            with Horizontal(classes="replay-row"):
                yield Button("Load", id="replay-load", compact=True)
                yield Button("Run", id="replay-run", compact=True, variant="primary")
                yield Static("Load prompts from the ledger or a file.", id="replay-status")
            band = PresenterBand(id="replay-presenter")
            band.display = self._presenter_on()
            yield band
            yield ProgressBar(total=None, show_eta=False, id="replay-progress")
            yield DataTable(id="replay-results", cursor_type="row", zebra_stripes=True)
            yield Static("", id="replay-summary")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        table = self.query_one("#replay-results", DataTable)
        table.add_column("#", width=3)
        table.add_column("prompt", width=self.prompt_width())
        table.add_column("route", width=20)
        table.add_column("rule", width=11)
        table.add_column("cost", width=10)
        self.query_one("#replay-path", Input).focus()

    def _presenter_on(self) -> bool:
        """Whether the console's presenter band is on (then this screen shows it too)."""
        main = getattr(self.app, "main", None)
        return bool(main is not None and main.presenter)

    def prompt_width(self) -> int:
        """The prompt column's width: what the other columns leave of the screen."""
        return max(PROMPT_WIDTH, self.app.size.width - OTHER_COLUMNS)

    def _status(self, message: str, *, error: bool = False) -> None:
        status = self.query_one("#replay-status", Static)
        status.update(as_text(message))
        status.set_class(error, "-error")

    # -- choosing prompts ------------------------------------------------------------------
    def load_prompts(self) -> bool:
        """Fill `self.prompts` from the file path if one is given, else from the ledger filters."""
        path = self.query_one("#replay-path", Input).value.strip()
        self.prompts = []
        if path:
            from console.replay import read_prompts

            try:
                self.prompts = read_prompts(Path(path).expanduser())
            except SetupError as exc:
                self._status(str(exc), error=True)
                return False
            source = path
        else:
            runtime = runtime_of(self.app)
            if runtime.ledger is None:
                self._status(f"no ledger: {runtime.ledger_error or 'not open'}", error=True)
                return False
            tier = self.query_one("#replay-tier", Select).value
            rule = self.query_one("#replay-rule", Input).value.strip() or None
            since_label = str(self.query_one("#replay-since", Select).value)
            seconds = dict(SINCE_CHOICES).get(since_label)
            rows = runtime.ledger.recent(
                LEDGER_LIMIT,
                tier=tier if isinstance(tier, str) else None,
                rule=rule,
                since_ts=time.time() - seconds if seconds is not None else None,
            )
            kept = [row.prompt_text for row in reversed(rows) if row.prompt_text]
            self.prompts = kept
            skipped = len(rows) - len(kept)
            source = "the ledger" + (f" ({skipped} without stored text skipped)" if skipped else "")
        if not self.prompts:
            self._status(f"no prompts in {source}", error=True)
            return False
        self._status(f"{len(self.prompts)} prompts from {source}; ctrl+r runs them")
        return True

    def _max_tokens(self) -> int | None:
        raw = self.query_one("#replay-max-tokens", Input).value.strip()
        return int(raw) if raw.isdigit() and int(raw) > 0 else None

    # -- running ---------------------------------------------------------------------------
    @on(Button.Pressed, "#replay-load")
    def action_load(self) -> None:
        """Load the prompts the filters or the path name."""
        self.load_prompts()

    @on(Button.Pressed, "#replay-run")
    def action_run(self) -> None:
        """Replay the loaded prompts (loading them first if needed)."""
        if not self.prompts and not self.load_prompts():
            return
        prompts, max_tokens = list(self.prompts), self._max_tokens()
        estimate = spend_estimate(prompts, runtime_of(self.app).store.config, max_tokens)

        def answered(go: bool | None) -> None:
            if go:
                self.run_replay(prompts, max_tokens)
            else:
                self._status("not run: nothing was sent")

        self.app.push_screen(
            Confirm("Replay may use the cloud", estimate.sentence("This replay")), answered
        )

    @work(exclusive=True, exit_on_error=False, group="replay")
    async def run_replay(self, prompts: list[str], max_tokens: int | None) -> ReplaySummary:
        """Run `prompts` through today's policy, filling the table as results arrive."""
        from console.replay import ReplaySummary

        dispatcher = runtime_of(self.app).dispatcher
        table = self.query_one("#replay-results", DataTable)
        progress = self.query_one("#replay-progress", ProgressBar)
        table.clear()
        self.results = []
        summary = ReplaySummary()
        progress.update(total=len(prompts), progress=0)
        self._status(f"replaying {len(prompts)} prompts… (esc stops)")
        palette = palette_of(self.app)
        width = self.prompt_width()
        async for index, result in dispatcher.replay(prompts, max_tokens=max_tokens):
            summary.add(result)
            self.results.append(result)
            cost = result.cost
            table.add_row(
                str(index + 1),
                Text(one_line(result.prompt, width)),
                Text(result.badge, style=palette.badge_style(badge(result.outcome).kind)),
                as_text(result.decision.fired, palette.tier_style(result.decision.target)),
                money(None) if cost is None else money(cost.total_usd, known=cost.known),
                key=str(index),
            )
            progress.advance(1)
            # The presenter band grows live: the console's tally, shown here and on the chat.
            main = getattr(self.app, "main", None)
            if main is not None:
                main.count_result(result)
                self.query_one(PresenterBand).show(main.tally.view())
            self.query_one("#replay-summary", Static).update(as_text(summary_words(summary)))
        self._status(f"replayed {len(prompts)} prompts; ctrl+o inspects the selected row")
        return summary

    def action_inspect(self) -> None:
        """Open the decision inspector on the selected result."""
        table = self.query_one("#replay-results", DataTable)
        if not self.results or table.cursor_row >= len(self.results):
            return
        from console.tui.screens.inspector import InspectorScreen

        self.app.push_screen(InspectorScreen(self.results[table.cursor_row]))

    @on(DataTable.RowSelected, "#replay-results")
    def _row_selected(self) -> None:
        self.action_inspect()

    def action_close(self) -> None:
        """Stop a running replay; close the screen when nothing runs."""
        running = [w for w in self.workers if w.group == "replay" and w.is_running]
        if running:
            for worker in running:
                worker.cancel()
            self._status(f"stopped after {len(self.results)} of {len(self.prompts)}")
            return
        self.dismiss()
