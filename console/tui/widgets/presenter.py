"""The presenter band: the routing split as a bar, savings, a projection, the last reason and
the last redaction side by side, in a few large-print lines for a room watching a demo.

It renders a frozen `PresenterView` (built by console.tui.adapters from the session's results),
so the replay screen and the demo feed it live and snapshots can feed it fixed figures.
"""

from __future__ import annotations

import re

from textual.content import Content
from textual.widgets import Static

from console.outside_text import clean
from console.tui.widgets.views import PresenterView, Span
from console.tui.words import money, percent

#: Width of the split bar in cells.
BAR_WIDTH = 24
#: The routes of the split, in the order the bar draws them, with their tier colour variable.
SPLIT = (
    ("local", "$tier-local"),
    ("pool", "$tier-pool"),
    ("cloud", "$tier-cloud"),
    ("cloud·redacted", "$tier-redacted"),
    ("no answer", "$tier-failed"),
)
#: A placeholder the redaction put in sent text (`<PERSON_1>`), highlighted wherever shown.
PLACEHOLDER = re.compile(r"<[A-Z][A-Z_]*_\d+>")


def split_bar(view: PresenterView, width: int = BAR_WIDTH) -> Content:
    """The routes as one bar, each segment in its tier colour and to scale."""
    total = sum(view.split.values())
    if total == 0:
        return Content.styled("░" * width, "$text-muted")
    parts: list[tuple[str, str]] = []
    drawn = 0
    for index, (route, style) in enumerate(SPLIT):
        count = view.split.get(route, 0)
        cells = round(count / total * width) if index < len(SPLIT) - 1 else width - drawn
        cells = max(min(cells, width - drawn), 1 if count else 0)
        drawn += cells
        if cells:
            parts.append(("█" * cells, style))
    return Content.assemble(*parts)


def highlighted(text: str, spans: tuple[Span, ...], style: str) -> Content:
    """`text` (outside text, cleaned by the caller) with `spans` in `style`."""
    parts: list[Content | tuple[str, str] | str] = []
    at = 0
    for span in spans:
        parts.append(text[at : span.start])
        parts.append((text[span.start : span.end], style))
        at = span.end
    parts.append(text[at:])
    return Content.assemble(*parts)


def render_presenter(view: PresenterView) -> Content:
    """The band's lines: split, economics, reason, redaction."""
    total = sum(view.split.values())
    legend = [
        Content.assemble(
            (route, style.replace("$", "bold $")), f" {count} ({percent(count / total)})"
        )
        for route, style in SPLIT
        if (count := view.split.get(route, 0))
    ]
    lines = [
        Content.assemble(
            ("Routing ", "bold"),
            split_bar(view),
            "  ",
            Content(" · ").join(legend)
            if legend
            else Content.styled("no answers yet", "$text-muted"),
        )
    ]
    if total:
        saved = view.counterfactual_usd - view.cost_usd
        share = percent(saved / view.counterfactual_usd) if view.counterfactual_usd > 0 else "—"
        per_k = view.cost_usd / total * 1000
        all_cloud_per_k = view.counterfactual_usd / total * 1000
        month = view.cost_usd / total * view.volume_per_day * 30
        all_cloud_month = view.counterfactual_usd / total * view.volume_per_day * 30
        lines.append(
            Content.assemble(
                ("Saved ", "bold"),
                (share, "bold $tier-local"),
                f" · {money(per_k)} per 1,000 requests (all-cloud {money(all_cloud_per_k)})"
                f" · at {view.volume_per_day:,} requests/day ≈ {money(month)}/month"
                f" (all-cloud {money(all_cloud_month)})",
            )
        )
    if view.reason:
        lines.append(Content.assemble(("Last ", "bold"), clean(view.reason)))
    if view.typed is not None and view.sent is not None:
        typed, sent = clean(view.typed), clean(view.sent)
        placeholders = tuple(
            Span(match.start(), match.end()) for match in PLACEHOLDER.finditer(sent)
        )
        lines.append(
            Content.assemble(
                ("Typed ", "bold"), highlighted(typed, view.pii_spans, "bold $tier-failed")
            )
        )
        lines.append(
            Content.assemble(
                ("Sent  ", "bold"), highlighted(sent, placeholders, "bold $tier-redacted")
            )
        )
        lines.append(
            Content.styled(
                f"{view.replaced} item{'s' if view.replaced != 1 else ''} replaced before "
                "sending; restored in the answer",
                "$text-muted",
            )
        )
    if view.note:
        # The narration comes first: on a short screen the band is cut from the bottom.
        lines.insert(0, Content.styled(clean(view.note), "bold $text-accent"))
    return Content("\n").join(lines)


class PresenterBand(Static):
    """The headline band (f10 toggles it; on by default in `switchboard demo`)."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__("", id=id, classes=classes)
        self.border_title = "Presenter view"
        self._view: PresenterView | None = None

    def show(self, view: PresenterView) -> None:
        """Render `view` when it changed."""
        if view != self._view:
            self._view = view
            self.update(render_presenter(view))
