"""The panels in one line, for short terminals: engine, pool and cloud health, privacy, today's
money (the pool only when `[[pool.servers]]` is configured).

Shown instead of the panels below a height threshold (80×24 included); f9 opens the panels.
"""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from console.outside_text import clean
from console.tui.widgets.formatting import tps
from console.tui.widgets.pool_panel import pool_health, pool_health_style
from console.tui.widgets.views import CloudView, LedgerView, LocalView, PoolView, PrivacyView
from console.tui.words import cloud_health, money, percent, privacy_outcome, privacy_verdict

_HEALTH_STYLE = {"closed": "$success", "half_open": "$warning", "open": "$error"}


def render_summary(
    local: LocalView | None,
    cloud: CloudView | None,
    privacy: PrivacyView | None,
    ledger: LedgerView | None,
    pool: PoolView | None = None,
) -> Content:
    """One line: what each panel would say first."""
    parts: list[Content] = []
    if local is not None:
        speed = f" {tps(local.last_tps)}" if local.last_tps is not None else ""
        parts.append(Content.assemble(("local ", "bold"), f"{local.state}{speed}"))
    if pool is not None:
        parts.append(Content.styled(pool_health(pool), pool_health_style(pool)))
    if cloud is not None:
        parts.append(
            Content.styled(
                clean(cloud_health(cloud.state)), _HEALTH_STYLE.get(cloud.state, "$warning")
            )
        )
    if privacy is not None:
        found = sum(e.count for e in privacy.entities)
        outcome = privacy_outcome(
            "blocked" if privacy.blocked else "ok", privacy.tier, privacy.redacted
        )
        parts.append(Content(privacy_verdict(found, outcome).split(",")[0]))
    if ledger is not None:
        saved = (
            f" saved {percent(ledger.savings_usd / ledger.counterfactual_usd)}"
            if ledger.counterfactual_usd > 0
            else ""
        )
        parts.append(Content(f"today {money(ledger.spend_usd)}{saved}"))
    if not parts:
        return Content.styled("starting…", "$text-muted")
    return Content.assemble(Content("  ·  ").join(parts), ("   f9 panels", "$text-muted"))


class PanelSummary(Static):
    """The one-line stand-in for the panels."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("starting…", id=id)
        self.local: LocalView | None = None
        self.cloud: CloudView | None = None
        self.privacy: PrivacyView | None = None
        self.ledger: LedgerView | None = None
        self.pool: PoolView | None = None

    def show(
        self,
        *,
        local: LocalView | None = None,
        cloud: CloudView | None = None,
        privacy: PrivacyView | None = None,
        ledger: LedgerView | None = None,
    ) -> None:
        """Take whichever views changed and render the line again."""
        self.local = local or self.local
        self.cloud = cloud or self.cloud
        self.privacy = privacy or self.privacy
        self.ledger = ledger or self.ledger
        self.update(self._line())

    def show_pool(self, pool: PoolView | None) -> None:
        """The pool's health (None: no servers configured, the pool is left out of the line)."""
        self.pool = pool
        self.update(self._line())

    def _line(self) -> Content:
        return render_summary(self.local, self.cloud, self.privacy, self.ledger, self.pool)
