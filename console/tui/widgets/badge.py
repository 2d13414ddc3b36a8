"""The badge under every answer: tier, cost, tokens/s, time to first token."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from console.outcome import BadgeKind
from console.tui.widgets.formatting import seconds, tps, usd
from console.tui.widgets.views import AnswerMeta

_STYLES: dict[BadgeKind, str] = {
    "local": "bold $text-success on $success-muted",
    "cloud": "bold $text-accent on $accent-muted",
    "redacted": "bold $text-warning on $warning-muted",
    "fallback": "bold $text-warning on $warning-muted",
}


def badge_style(kind: BadgeKind) -> str:
    """Colour of a badge: local calm, cloud accent, fallback or redaction warm, failure hot."""
    return _STYLES.get(kind, "bold $text-error on $error-muted")


def render_badge(meta: AnswerMeta) -> Content:
    """One line: the badge, then the figures that exist for this answer."""
    parts: list[Content | str | tuple[str, str]] = [
        (f" {meta.badge.label} ", badge_style(meta.badge.kind))
    ]
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
