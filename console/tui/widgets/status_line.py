"""The status line: what is still loading, so a prompt that waits says why."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from console.outside_text import clean
from console.tui.widgets.views import StatusView
from console.tui.words import CLOUD_HEALTH

_READY = ("ready", "busy", "closed")


def render_status(view: StatusView) -> Content:
    """Each part with a coloured dot: green ready, yellow loading, red failed."""

    def part(name: str, state: str, ok: bool, shown: str | None = None) -> Content:
        style = "$success" if ok else ("$error" if state in ("failed", "open") else "$warning")
        return Content.assemble(
            ("● ", style), (f"{name} ", "bold"), (shown or state, "$text-muted")
        )

    cloud = view.cloud_state
    parts = [
        part("local", view.local_state, view.local_state in _READY),
        part("pii", "ready" if view.pii_ready else "loading", view.pii_ready),
        # Breaker states in words: "closed" reads as "down" to most people.
        part(
            clean(view.cloud_label),
            cloud,
            cloud in _READY,
            CLOUD_HEALTH.get(cloud, cloud).removeprefix("cloud "),
        ),
    ]
    line = Content("   ").join(parts)
    if view.errors:
        line = Content.assemble(line, ("   ⚠ ", "$error"), (clean(view.errors[0]), "$error"))
    return line


class StatusLine(Static):
    """One line at the top of the main screen."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("starting…", id=id)
        self._view: StatusView | None = None

    def show(self, view: StatusView) -> None:
        """Render `view` when it changed."""
        if view != self._view:
            self._view = view
            self.update(render_status(view))
