"""The badge under every answer: tier, cost, tokens/s, time to first token.

The one place a badge is drawn in the chat; its colours come from the palette by `badge_tier`."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from console.outcome import BadgeKind
from console.outside_text import clean
from console.tui.palette import badge_tier
from console.tui.widgets.formatting import seconds, tps
from console.tui.widgets.views import AnswerMeta
from console.tui.words import money


def badge_style(kind: BadgeKind) -> str:
    """The badge's colours: the palette's entry for its kind (console/tui/palette.py), through
    the theme's variables so a theme switch recolours every badge."""
    tier = badge_tier(kind)
    return f"bold $badge-{tier} on $badge-{tier}-background"


def render_badge(meta: AnswerMeta) -> Content:
    """One line: the badge, then the figures that exist for this answer."""
    parts: list[Content | str | tuple[str, str]] = [
        (f" {meta.badge.label} ", badge_style(meta.badge.kind))
    ]
    figures = [money(meta.cost_usd, known=meta.cost_known)]
    if meta.gen_tps is not None:
        figures.append(tps(meta.gen_tps))
    if meta.ttft_s is not None:
        figures.append(f"ttft {seconds(meta.ttft_s)}")
    if meta.tokens_out is not None:
        figures.append(f"{meta.tokens_out} tok")
    if meta.fired:
        figures.append(f"rule {meta.fired}")
    if meta.model:
        figures.append(clean(meta.model))
    parts.append((" " + " · ".join(figures), "$text-muted"))
    content = Content.assemble(*parts)
    if meta.error:
        fix = f" — {meta.fix}" if meta.fix else ""
        content = Content("\n").join(
            [content, Content.styled(clean(f"{meta.error}{fix}"), "$error")]
        )
    return content


class AnswerBadge(Static):
    """Tier, cost and speed of one answer."""

    def show(self, meta: AnswerMeta) -> None:
        """Render the badge of a finished answer."""
        self.update(render_badge(meta))
