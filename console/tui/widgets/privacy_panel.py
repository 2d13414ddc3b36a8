"""The privacy panel: what the last prompt contained, what was redacted, and (on demand) the
exact text that left the machine."""

from __future__ import annotations

from textual.content import Content
from textual.reactive import reactive
from textual.widgets import Static

from console.outside_text import clean
from console.tui.widgets.presenter import PLACEHOLDER, highlighted
from console.tui.widgets.views import PrivacyView, Span
from console.tui.words import privacy_outcome, privacy_verdict


def render_privacy(view: PrivacyView | None, reveal: bool) -> Content:
    """The last prompt's PII findings; with `reveal`, the text sent to the cloud verbatim."""
    if view is None:
        return Content.styled("No prompt yet.", "$text-muted")
    found = sum(e.count for e in view.entities)
    if view.entities:
        types = ", ".join(f"{e.type} ×{e.count}" for e in view.entities)
        lines = [Content.assemble(("found ", "$text-muted"), (types, "bold $warning"))]
    else:
        lines = []
    outcome = privacy_outcome("blocked" if view.blocked else "ok", view.tier, view.redacted)
    style = {
        "blocked": "$error",
        "redacted": "$tier-redacted",
        "pool_redacted": "$tier-redacted",
        "local": "$success",
        "pool": "$tier-pool",
    }
    lines.append(Content.styled(privacy_verdict(found, outcome), style.get(outcome, "$text")))
    # The dispatcher keeps no sent text for a trusted lab server: it got the prompt as typed.
    where = "an untrusted lab server" if view.tier == "pool" else "the cloud"
    if view.sent_text is None and view.tier == "pool":
        lines.append(Content.styled("sent as typed to a trusted lab server", "$text-muted"))
    elif view.sent_text is None:
        lines.append(Content.styled("nothing left the machine", "$text-muted"))
    elif reveal:
        lines.append(Content.styled(f"sent to {where}, exactly:", "$text-muted"))
        sent = clean(view.sent_text)
        placeholders = tuple(Span(m.start(), m.end()) for m in PLACEHOLDER.finditer(sent))
        lines.append(highlighted(sent, placeholders, "bold $tier-redacted"))
    else:
        lines.append(
            Content.styled(f"{len(view.sent_text)} chars sent · f7 shows them", "$text-muted")
        )
    return Content("\n").join(lines)


class PrivacyPanel(Static):
    """PII findings of the last prompt."""

    reveal: reactive[bool] = reactive(False)

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(render_privacy(None, False), id=id, classes=classes)
        self.border_title = "Privacy"
        self._view: PrivacyView | None = None

    def show(self, view: PrivacyView) -> None:
        """Render the findings of a new prompt."""
        if view != self._view:
            self._view = view
            self.update(render_privacy(view, self.reveal))

    def watch_reveal(self, reveal: bool) -> None:
        self.update(render_privacy(self._view, reveal))
