"""The privacy panel: what the last prompt contained, what was redacted, and (on demand) the
exact text that left the machine."""

from __future__ import annotations

from textual.content import Content
from textual.reactive import reactive
from textual.widgets import Static

from console.tui.widgets.views import PrivacyView


def render_privacy(view: PrivacyView | None, reveal: bool) -> Content:
    """The last prompt's PII findings; with `reveal`, the text sent to the cloud verbatim."""
    if view is None:
        return Content.styled("No prompt yet.", "$text-muted")
    if view.entities:
        found = ", ".join(f"{e.type} ×{e.count}" for e in view.entities)
        total = sum(e.count for e in view.entities)
        lines = [Content.assemble((f"{total} PII ", "bold $warning"), found)]
    else:
        lines = [Content.styled("no PII found", "$success")]
    if view.blocked:
        outcome = Content.styled("blocked: nothing was sent (on_pii = block)", "$error")
    elif view.tier == "cloud" and view.redacted:
        outcome = Content.styled("sent to cloud redacted (placeholders)", "$warning")
    elif view.tier == "cloud":
        outcome = Content.styled("sent to cloud as typed", "$text")
    elif view.entities:
        outcome = Content.styled(f"kept on this machine (on_pii = {view.on_pii})", "$success")
    else:
        outcome = Content.styled(f"answered by {view.tier}", "$text-muted")
    lines.append(outcome)
    if view.sent_text is None:
        lines.append(Content.styled("nothing left the machine", "$text-muted"))
    elif reveal:
        lines.append(Content.styled("sent to the cloud, exactly:", "$text-muted"))
        lines.append(Content(view.sent_text))
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
