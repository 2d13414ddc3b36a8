"""The badge under every answer: tier, cost, tokens/s, time to first token."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from console.tui.widgets.formatting import seconds, tps, usd
from console.tui.widgets.views import AnswerMeta


def badge_style(badge: str) -> str:
    """Colour of a badge: local calm, cloud accent, fallback warm, failure hot."""
    if badge.startswith(("FAILED", "BLOCKED", "CANCELLED")):
        return "bold $text-error on $error-muted"
    if badge.startswith("FALLBACK") or "redacted" in badge:
        return "bold $text-warning on $warning-muted"
    if badge.startswith("CLOUD"):
        return "bold $text-accent on $accent-muted"
    return "bold $text-success on $success-muted"


def render_badge(meta: AnswerMeta) -> Content:
    """One line: the badge, then the figures that exist for this answer."""
    parts: list[Content | str | tuple[str, str]] = [(f" {meta.badge} ", badge_style(meta.badge))]
    figures = [usd(meta.cost_usd, meta.cost_known)]
    if meta.gen_tps is not None:
        figures.append(tps(meta.gen_tps))
    if meta.ttft_s is not None:
        figures.append(f"ttft {seconds(meta.ttft_s)}")
    if meta.tokens_out is not None:
        figures.append(f"{meta.tokens_out} tok")
    if meta.fired:
        figures.append(f"rule {meta.fired}")
    if meta.model:
        figures.append(meta.model)
    parts.append((" " + " · ".join(figures), "$text-muted"))
    content = Content.assemble(*parts)
    if meta.error:
        fix = f" — {meta.fix}" if meta.fix else ""
        content = Content("\n").join([content, Content.styled(f"{meta.error}{fix}", "$error")])
    return content


class AnswerBadge(Static):
    """Tier, cost and speed of one answer."""

    def show(self, meta: AnswerMeta) -> None:
        """Render the badge of a finished answer."""
        self.update(render_badge(meta))
