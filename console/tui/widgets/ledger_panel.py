"""The ledger panel: today's spend, the cloud-only counterfactual, savings, share local, budget."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from console.tui.widgets.formatting import bar
from console.tui.widgets.views import LedgerView
from console.tui.words import money


def render_ledger(view: LedgerView) -> Content:
    """Today's economics in a few lines."""
    budget_style = "$error" if view.budget_exhausted else None
    lines = [
        Content.assemble(
            ("today ", "$text-muted"),
            (money(view.spend_usd), "bold"),
            ("  cloud-only ", "$text-muted"),
            money(view.counterfactual_usd),
            ("  saved ", "$text-muted"),
            (money(view.savings_usd), "bold $success" if view.savings_usd >= 0 else "$error"),
        ),
        Content.assemble(
            ("local ", "$text-muted"),
            bar(view.share_local, 12, "$accent"),
            f" {view.share_local * 100:.0f}% of {view.requests} requests",
        ),
        Content.assemble(
            ("budget ", "$text-muted"),
            bar(view.budget_used_fraction, 12, budget_style),
            f" {view.budget_used_fraction * 100:.0f}% of {money(view.budget_daily_usd)}/day",
            (" exhausted: prompts stay local", "$error") if view.budget_exhausted else "",
            (" nearly spent", "$warning") if view.budget_warn and not view.budget_exhausted else "",
        ),
    ]
    if view.pending:
        lines.append(Content.styled(f"{view.pending} records waiting to be written", "$warning"))
    if view.error:
        lines.append(Content.styled(view.error, "$error"))
    return Content("\n").join(lines)


class LedgerPanel(Static):
    """Today's figures from the SQLite ledger."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__("reading the ledger…", id=id, classes=classes)
        self.border_title = "Ledger (today)"
        self._view: LedgerView | None = None

    def show(self, view: LedgerView) -> None:
        """Render `view` when it changed."""
        if view != self._view:
            self._view = view
            self.update(render_ledger(view))
